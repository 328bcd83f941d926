"""``/metrics``: the Prometheus exposition, off unless ``METRICS_ENABLED``.

When off it is an unknown URL (404). When ``METRICS_TOKEN`` is set a scrape must send it
as a bearer token. Under gunicorn with ``PROMETHEUS_MULTIPROC_DIR`` the counters of every
worker, live or dead, are added up from their files; the queue depths are counted from
the database at scrape time, once per scrape (two indexed counts).
"""

import hmac
import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from django_tasks_db.models import DBTaskResult
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ..metrics import PREFIX
from ..models import CallbackDelivery

logger = logging.getLogger("messages_app.ops")


class QueueDepthCollector:
    """Callback deliveries waiting (pending) and delivery tasks ready to run, at scrape time."""

    def collect(self) -> Iterator[Metric]:
        try:
            pending = CallbackDelivery.objects.filter(status=CallbackDelivery.Status.PENDING).count()
            ready = DBTaskResult.objects.ready().count()
        except DatabaseError:
            logger.warning("metrics: queue depths not counted (database error)", exc_info=True)
            return
        yield GaugeMetricFamily(
            f"{PREFIX}_callback_deliveries_pending", "Callback deliveries not yet delivered nor failed.", value=pending
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_tasks_ready", "Task rows ready to run (django-tasks database backend).", value=ready
        )


class _ProcessRegistry:
    """This process's own metrics (single-process servers, tests)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        multiprocess.MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry.register(_ProcessRegistry())
    registry.register(QueueDepthCollector())
    return registry


def _authorized(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_ENABLED:
        raise Http404
    if not _authorized(request):
        response = HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
