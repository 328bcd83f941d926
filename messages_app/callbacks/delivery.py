"""Delivering callbacks, in the worker: sign, POST to a checked address, retry with backoff.

One attempt per call of ``attempt_delivery``; the task (``messages_app.tasks``) enqueues
the next attempt after the delay it returns. Deliveries are at-least-once: the
``webhook-id`` stays the same across attempts so the receiver can de-duplicate.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from requests.adapters import HTTPAdapter
from standardwebhooks.webhooks import Webhook
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .. import metrics
from ..models import CallbackAttempt, CallbackDelivery
from .policy import CallbackRefused, checked_addresses

logger = logging.getLogger("messages_app.callbacks")

USER_AGENT = "historical-comms-callbacks/1.0"


# Injectable for tests: how the worker waits when its task backend cannot defer a task.
sleep: Callable[[float], None] = time.sleep
_ERROR_MAX_LENGTH = CallbackAttempt._meta.get_field("error").max_length
# An answer's body is read (and discarded) up to this size so that its connection can be reused.
_DRAIN_LIMIT = 64 * 1024
_DRAIN_CHUNK = 16 * 1024


class _CheckedConnectionMixin:
    """Connect to an address checked at connection time (DNS rebinding), never the raw name.

    TLS still verifies the certificate and sends SNI for the host name in the URL.
    """

    _dns_host: str
    port: int

    def _new_conn(self) -> socket.socket:
        address = checked_addresses(self._dns_host, self.port)[0]
        original, self._dns_host = self._dns_host, address
        try:
            return super()._new_conn()  # type: ignore[misc]
        finally:
            self._dns_host = original


class _CheckedHTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class CheckedAdapter(HTTPAdapter):
    """A requests adapter whose connections are made only to checked addresses."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}


def new_session() -> requests.Session:
    """A session that connects only to checked addresses; reuse it (keep-alive) within one thread."""
    session = requests.Session()
    session.trust_env = False  # no environment proxies: a proxy would connect for us, unchecked
    adapter = CheckedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks ``webhook-signature`` value: ``v1,`` and HMAC-SHA256 of id.timestamp.body."""
    when = datetime.fromtimestamp(timestamp, tz=UTC)
    return Webhook(secret).sign(webhook_id, when, body.decode())


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds before the retry after failed attempt ``attempt``: exponential, capped, jittered.

    Jitter (a random 50-100 % of the step) keeps many failed deliveries from retrying in
    lockstep; a receiver's Retry-After is honoured when it asks for longer.
    """
    base = float(settings.CALLBACK_BACKOFF_BASE_SECONDS)
    cap = float(settings.CALLBACK_BACKOFF_MAX_SECONDS)
    delay = min(cap, base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None


def _drain(response: requests.Response) -> None:
    """Read a short answer to its end so its connection returns to the pool (keep-alive);
    a longer one is not read further, and its connection is dropped by ``close``."""
    received = 0
    for chunk in response.iter_content(_DRAIN_CHUNK):
        received += len(chunk)
        if received >= _DRAIN_LIMIT:
            break
    response.close()


def attempt_delivery(delivery_id: int, session: requests.Session | None = None) -> float | None:
    """Make one attempt; return the delay before the next one, or None when there is none.

    ``session`` (one per thread, ``new_session``) keeps connections alive across attempts;
    without one, the attempt uses a session of its own.
    """
    delivery = CallbackDelivery.objects.select_related("client").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != CallbackDelivery.Status.PENDING:
        return None
    number = delivery.attempt_count + 1
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(delivery.client.callback_secret, delivery.webhook_id, timestamp, body),
    }
    code: int | None = None
    error = ""
    retryable = False
    retry_after: float | None = None
    started = time.monotonic()
    try:
        with contextlib.nullcontext(session) if session is not None else new_session() as used:
            response = used.post(
                delivery.url,
                data=body,
                headers=headers,
                timeout=tuple(settings.CALLBACK_TIMEOUT),
                allow_redirects=False,
                stream=True,
            )
            _drain(response)
        code = response.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}" + (" (redirects are not followed)" if 300 <= code < 400 else "")
            retryable = code >= 500 or code == 429
            retry_after = _retry_after(response.headers.get("Retry-After")) if code in (429, 503) else None
    except CallbackRefused as exc:
        error = str(exc)
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
        retryable = True
    duration_ms = int((time.monotonic() - started) * 1000)
    delay = None
    if not error:
        status = CallbackDelivery.Status.DELIVERED
    elif retryable and number < settings.CALLBACK_MAX_ATTEMPTS:
        status = CallbackDelivery.Status.PENDING
        delay = backoff_delay(number, retry_after)
    else:
        status = CallbackDelivery.Status.FAILED
    now = timezone.now()
    with transaction.atomic():
        CallbackAttempt.objects.create(
            department_id=delivery.department_id,
            delivery=delivery,
            number=delivery.attempts.count() + 1,
            status=CallbackDelivery.Status.FAILED if error else CallbackDelivery.Status.DELIVERED,
            response_code=code,
            duration_ms=duration_ms,
            error=error[:_ERROR_MAX_LENGTH],
        )
        CallbackDelivery.objects.filter(pk=delivery.pk).update(
            status=status,
            attempt_count=number,
            last_error=error[:_ERROR_MAX_LENGTH],
            delivered_at=now if status == CallbackDelivery.Status.DELIVERED else None,
            next_attempt_at=now + timedelta(seconds=delay) if delay is not None else None,
        )
    metrics.CALLBACK_DELIVERIES.labels(status=str(status)).inc()
    if error:
        logger.info("Callback %s attempt %d to %s failed: %s", delivery.webhook_id, number, delivery.url, error)
    return delay
