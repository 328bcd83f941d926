"""Error reporting to Sentry, off unless ``SENTRY_DSN`` is set (settings call ``init_sentry``)."""

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration


def init_sentry(dsn: str, *, environment: str = "", release: str = "", traces_sample_rate: float = 0.0) -> bool:
    """Start the Sentry client when a DSN is given; say whether it was started.

    ``send_default_pii=False``: no request bodies' personal data, cookies, user names or
    addresses leave the service; tracing is sampled at ``traces_sample_rate`` (0: none).
    Unexpected exceptions are answered as 500 envelopes by the API's handler, which logs
    them at ERROR: Sentry's logging integration turns that log record into the event.
    """
    if not dsn:
        return False
    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        environment=environment or None,
        release=release or None,
    )
    return True
