"""The service's Prometheus metrics, declared once, at the bottom of the house.

The ingest service, the callback worker and the request middleware update them; the
``/metrics`` view (``ops/views.py``) exposes them with the queue depths it computes at
scrape time. Under gunicorn with ``PROMETHEUS_MULTIPROC_DIR`` set, prometheus_client
keeps each worker's values in files of that folder and the view adds them up
(``gunicorn.conf.py`` sets the folder up and marks dead workers).

Label values are bounded sets (outcomes, statuses, methods, route patterns), never
identifiers, so the number of series stays small.
"""

from collections.abc import Mapping

from prometheus_client import Counter, Histogram, disable_created_metrics

# The ``*_created`` series double every counter and are not kept across processes anyway.
disable_created_metrics()

PREFIX = "comms"

HTTP_REQUESTS = Counter(
    f"{PREFIX}_http_requests",
    "HTTP requests answered, by method, route pattern and status.",
    ["method", "route", "status"],
)
MESSAGES_INGESTED = Counter(
    f"{PREFIX}_messages_ingested",
    "Messages handled by committed ingest calls, by outcome (created, updated, unchanged, locked, failed).",
    ["outcome"],
)
INGEST_DURATION = Histogram(
    f"{PREFIX}_ingest_duration_seconds",
    "Duration of one committed ingest call (a PUT's, or one batch of an import), by source.",
    ["source"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
CALLBACK_DELIVERIES = Counter(
    f"{PREFIX}_callback_deliveries",
    "Callback delivery attempts recorded, by the delivery's status after the attempt "
    "(delivered; pending: failed, will be retried; failed: no attempt left or not retryable).",
    ["status"],
)

ALL = (HTTP_REQUESTS, MESSAGES_INGESTED, INGEST_DURATION, CALLBACK_DELIVERIES)


def record_ingest(source: str, outcomes: Mapping[str, int], seconds: float) -> None:
    """Count one committed ingest call: its items by outcome and its duration."""
    for outcome, count in outcomes.items():
        if count:
            MESSAGES_INGESTED.labels(outcome=outcome).inc(count)
    INGEST_DURATION.labels(source=source).observe(seconds)
