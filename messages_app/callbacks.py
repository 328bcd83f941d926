"""Delivering ``callBackPathUrl`` results (DESIGN.md §3.3): resolve, refuse, sign, POST, retry.

Resolution happens at import time so that a refused URL becomes a ``CALLBACK_REFUSED``
warning on the response; the deliveries are inserted (one bulk insert) and the task is
enqueued in the import's own transaction, so a rolled-back import (dryRun included) sends
nothing and a committed one always sends. The address checks are made twice: when the
URL is accepted, and again when the worker connects (the connection goes to the checked
address, so a DNS answer that changes in between cannot point it at a private one).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from requests.adapters import HTTPAdapter
from standardwebhooks.webhooks import Webhook
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .errors import UNSTORABLE_RE, Problem, WarningCode
from .models import ApiClient, CallbackAttempt, CallbackDelivery, ImportBatch

if TYPE_CHECKING:
    from .ingest import IngestResult

logger = logging.getLogger("messages_app.callbacks")

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
USER_AGENT = "historical-comms-callbacks/1.0"
# Injectable for tests: how the worker waits when its task backend cannot defer a task.
sleep: Callable[[float], None] = time.sleep


class CallbackRefused(Exception):
    """A callback URL we will not send to; the message is the reason shown to the client.

    Not an OSError on purpose: raised inside urllib3 at connect time, it must propagate
    as itself instead of being retried as a network error.
    """


# --- Which URLs and addresses are acceptable ----------------------------------------------


def _allowed_hosts() -> set[str]:
    return {_bare_host(host) for host in getattr(settings, "CALLBACK_ALLOWED_HOSTS", [])}


def _bare_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def checked_addresses(host: str, port: int) -> list[str]:
    """Resolve ``host`` and return its addresses, refusing any that is not globally routable.

    ``is_global`` (not ``is_private``) is the test: it also rejects shared (100.64/10),
    reserved, documentation and benchmarking ranges. IPv4-mapped IPv6 addresses are judged
    by the IPv4 address they carry. Every address must pass, not just one, since the
    resolver's order is not ours to choose. Hosts in CALLBACK_ALLOWED_HOSTS are exempt.
    """
    bare = _bare_host(host)
    try:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise CallbackRefused(f"The host {host} does not resolve.") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if bare in _allowed_hosts():
        return addresses
    for text in addresses:
        if not _is_public(ipaddress.ip_address(text.split("%", 1)[0])):
            raise CallbackRefused(f"The host {host} resolves to {text}, which is not a public address.")
    return addresses


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast; an IPv6 address carrying an IPv4 one must pass for both.

    ``is_global`` alone lets multicast through (224/4, ff00::/8), hence the extra tests.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _is_public(address.ipv4_mapped)
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None and not _is_public(embedded):
            return False
    return True


def normalize_origin(value: str) -> str:
    """``scheme://host[:port]`` in canonical form (lower case, default port dropped)."""
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise ValueError(f"Not an http(s) origin: {value!r}")
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"An origin is scheme://host[:port] only: {value!r}")
    return _origin(parts)


def normalize_base_url(value: str) -> str:
    """An http(s) URL without credentials, query or fragment, ending in ``/``."""
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise ValueError(f"Not an http(s) URL: {value!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(f"A callback base URL has no credentials, query or fragment: {value!r}")
    return _origin(parts) + (parts.path.rstrip("/") + "/")


def origin_of(url: str) -> str:
    """The canonical origin of an absolute http(s) URL (ValueError if it has none)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise ValueError(f"Not an http(s) URL: {url!r}")
    return _origin(parts)


def _origin(parts: Any) -> str:
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    return f"{scheme}://{host}" if port in (None, DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def resolve_callback_url(client: ApiClient | None, value: Any) -> str:
    """The absolute URL a ``callBackPathUrl`` value names for this client, or CallbackRefused.

    A path is joined to the client's callback base URL and must stay under it; an absolute
    URL must be on one of the client's registered origins (or the base URL's origin).
    """
    if not isinstance(value, str) or not value.strip():
        raise CallbackRefused("Empty callBackPathUrl.")
    if client is None or not client.callback_secret:
        raise CallbackRefused("Callbacks need an API client registered for callbacks.")
    if any(char in value for char in "\\\r\n\t "):
        raise CallbackRefused("A callback URL may not contain whitespace or backslashes.")
    parts = urlsplit(value)
    try:
        if parts.scheme or value.startswith("//"):
            if not parts.scheme:
                raise CallbackRefused("A scheme-relative URL is not accepted; give a path or an http(s) URL.")
            if parts.scheme.lower() not in SCHEMES:
                raise CallbackRefused(f"Only http and https callbacks are sent, not {parts.scheme or 'no'} scheme.")
            allowed = set(client.callback_origins or [])
            if client.callback_base_url:
                allowed.add(origin_of(client.callback_base_url))
            if not parts.hostname or origin_of(value) not in allowed:
                raise CallbackRefused("The URL's origin is not one of the client's registered callback origins.")
            url = value
        else:
            if not client.callback_base_url:
                raise CallbackRefused("The client has no registered callback base URL to resolve a path against.")
            base = normalize_base_url(client.callback_base_url)
            url = urljoin(base, value.lstrip("/"))
            if not url.startswith(base):
                raise CallbackRefused("The path leaves the client's callback base URL.")
        final = urlsplit(url)
        if final.username or final.password:
            raise CallbackRefused("A callback URL may not carry credentials.")
        port = final.port or DEFAULT_PORTS[final.scheme.lower()]
    except ValueError as exc:
        raise CallbackRefused(f"Not a valid URL: {exc}") from exc
    checked_addresses(final.hostname or "", port)
    return url


# --- Planning at import time, inside the ingest service ---------------------------------


@dataclass(frozen=True)
class PlannedCallback:
    """A callback accepted for a batch: ``index`` is None for the request-level one."""

    url: str
    index: int | None
    source_uuid: str


def plan_callbacks(
    client: ApiClient | None, request_url: str | None, items: list[Any], outcome: IngestResult
) -> list[PlannedCallback]:
    """Resolve the request's and the items' callback URLs; warn on the response for each refusal.

    Every item that names a callback gets its ``saveMessageResponse`` there, a refused one
    (failed validation) included: that is when the integration most needs to hear.
    """
    planned: list[PlannedCallback] = []
    cache: dict[str, str | CallbackRefused] = {}

    def resolve(value: Any) -> str:
        key = value if isinstance(value, str) else repr(value)
        if key not in cache:
            try:
                cache[key] = resolve_callback_url(client, value)
            except CallbackRefused as exc:
                cache[key] = exc
        found = cache[key]
        if isinstance(found, CallbackRefused):
            raise found
        return found

    if request_url:
        try:
            planned.append(PlannedCallback(resolve(request_url), None, ""))
        except CallbackRefused as exc:
            outcome.warnings = [*outcome.warnings, Problem(WarningCode.CALLBACK_REFUSED, "callBackPathUrl", str(exc))]
    for index, raw in enumerate(items):
        value = raw.get("callBackPathUrl") if isinstance(raw, dict) else None
        if not value or not isinstance(value, str) or UNSTORABLE_RE.search(value):
            continue
        result = outcome.items[index]
        try:
            planned.append(PlannedCallback(resolve(value), index, result.source_uuid or ""))
        except CallbackRefused as exc:
            result.warn(WarningCode.CALLBACK_REFUSED, f"saveMessageRequestList[{index}].callBackPathUrl", str(exc))
    return planned


def schedule_callbacks(planned: list[PlannedCallback], batch: ImportBatch, outcome: IngestResult) -> None:
    """Insert the deliveries (one query) and enqueue their task, in the caller's transaction."""
    if not planned or batch.client is None:
        return
    response = outcome.as_response()
    deliveries = CallbackDelivery.objects.bulk_create(
        [
            CallbackDelivery(
                department_id=batch.department_id,
                batch=batch,
                client=batch.client,
                kind=CallbackDelivery.Kind.REQUEST if plan.index is None else CallbackDelivery.Kind.ITEM,
                source_uuid=plan.source_uuid,
                url=plan.url,
                payload=response if plan.index is None else response["saveMessageResponse"][plan.index],
                webhook_id=f"msg_{uuid.uuid4().hex}",
            )
            for plan in planned
        ]
    )
    enqueue_in_transaction([delivery.pk for delivery in deliveries])


def enqueue_in_transaction(delivery_ids: list[int]) -> None:
    """Enqueue the delivery task so that it exists if and only if the transaction commits.

    The database backend stores the task row in this very transaction (atomic with the
    import); any other backend (the immediate one in tests) is enqueued on commit.
    """
    from django_tasks_db.backend import DatabaseBackend

    from .tasks import deliver_callbacks

    if isinstance(deliver_callbacks.get_backend(), DatabaseBackend):
        deliver_callbacks.enqueue(delivery_ids)
    else:
        transaction.on_commit(lambda: deliver_callbacks.enqueue(delivery_ids))


def resend(deliveries: Iterable[CallbackDelivery]) -> int:
    """Put deliveries back to pending with a fresh round of attempts (admin action)."""
    ids = [delivery.pk for delivery in deliveries]
    with transaction.atomic():
        CallbackDelivery.objects.filter(pk__in=ids).update(
            status=CallbackDelivery.Status.PENDING, attempt_count=0, next_attempt_at=None
        )
        if ids:
            enqueue_in_transaction(ids)
    return len(ids)


# --- Sending, in the worker -------------------------------------------------------------


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


def _session() -> requests.Session:
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


def attempt_delivery(delivery_id: int) -> float | None:
    """Make one attempt; return the delay before the next one, or None when there is none."""
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
        with _session() as session:
            response = session.post(
                delivery.url,
                data=body,
                headers=headers,
                timeout=tuple(settings.CALLBACK_TIMEOUT),
                allow_redirects=False,
                stream=True,
            )
            response.close()
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
            error=error[:2000],
        )
        CallbackDelivery.objects.filter(pk=delivery.pk).update(
            status=status,
            attempt_count=number,
            last_error=error[:2000],
            delivered_at=now if status == CallbackDelivery.Status.DELIVERED else None,
            next_attempt_at=now + timedelta(seconds=delay) if delay is not None else None,
        )
    if error:
        logger.info("Callback %s attempt %d to %s failed: %s", delivery.webhook_id, number, delivery.url, error)
    return delay
