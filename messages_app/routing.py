"""Read replicas: which database a read goes to. Infrastructure, below every model.

Django routers route per model, even inside ``atomic()``: a router that sent model reads
to a replica would make a write transaction read the replica (a PUT for a new customer
would miss the customer it just looked up). So nothing is routed by model here. A view
that may read stale data says so (``replica_reads()``, set by the read API's GET views
and the admin's list pages, after authentication and authorisation ran on the primary),
and only then, and never inside a transaction on the primary, does ``db_for_read`` answer
a replica. Everything else (writes, authentication, grants, change forms, commands, tasks)
reads the primary.

Read-your-writes: every unsafe request of an authenticated client or staff user stamps
the time in the cache (``ReadYourWritesMiddleware``); for ``REPLICA_READ_YOUR_WRITES_SECONDS``
afterwards that principal's reads stay on the primary. The cache must be shared (Redis)
when several processes serve.

Failover: a replica that refuses a connection, or lags more than ``REPLICA_MAX_LAG_SECONDS``,
is left alone for ``REPLICA_RETRY_SECONDS`` (in this process's memory, so not every request
waits for a connect timeout) and the primary answers instead.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

REPLICA_PREFIX = "replica_"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Authentication and authorisation tables read the primary even inside a replica block:
# a revoked grant or a disabled user must take effect at once.
PRIMARY_ONLY_APPS = frozenset({"auth", "sessions", "axes", "contenttypes", "admin"})
PRIMARY_ONLY_MODELS = frozenset(
    {"messages_app.apiclient", "messages_app.apiclientgrant", "messages_app.department_members"}
)

_LAG_SQL = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)


@dataclass
class _Block:
    """One request's replica permission and the replica it stuck to (one per request)."""

    alias: str | None = None
    chosen: bool = False


_block: ContextVar[_Block | None] = ContextVar("replica_reads", default=None)
# Process memory: alias -> monotonic time until which it is not tried; alias -> next lag check.
_down_until: dict[str, float] = {}
_lag_checked_at: dict[str, float] = {}


def replica_aliases() -> list[str]:
    """The configured replica aliases (``DATABASE_REPLICA_URLS``), in order."""
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX)]


def writer_key(principal: Any) -> str | None:
    """The cache key part naming an authenticated client or user; ``None`` for anyone else."""
    if not isinstance(principal, Model) or not getattr(principal, "is_authenticated", False):
        return None
    return f"{principal._meta.label_lower}:{principal.pk}"


def _stamp_key(writer: str) -> str:
    return f"replica-last-write:{writer}"


def note_write(writer: str | None) -> None:
    """Remember that ``writer`` just wrote: its reads stay on the primary for the window."""
    window = settings.REPLICA_READ_YOUR_WRITES_SECONDS
    if writer is not None and window > 0 and replica_aliases():
        cache.set(_stamp_key(writer), time.time(), timeout=window)


def wrote_recently(writer: str | None) -> bool:
    """True while ``writer``'s last write is younger than the read-your-writes window."""
    if writer is None or settings.REPLICA_READ_YOUR_WRITES_SECONDS <= 0:
        return False
    stamp = cache.get(_stamp_key(writer))
    return stamp is not None and time.time() - stamp < settings.REPLICA_READ_YOUR_WRITES_SECONDS


@contextmanager
def replica_reads(writer: str | None = None) -> Iterator[None]:
    """Reads in this block may come from a replica (stale by the replay lag), unless
    ``writer`` wrote within the read-your-writes window: then they read the primary."""
    token = _block.set(None if wrote_recently(writer) or not replica_aliases() else _Block())
    try:
        yield
    finally:
        _block.reset(token)


def mark_down(alias: str) -> None:
    """Leave ``alias`` alone for ``REPLICA_RETRY_SECONDS``."""
    _down_until[alias] = time.monotonic() + settings.REPLICA_RETRY_SECONDS


def reset_health() -> None:
    """Forget every failure (tests, and after an operator fixed a replica in a shell)."""
    _down_until.clear()
    _lag_checked_at.clear()


def _lag_seconds(alias: str) -> float:
    """How far behind the primary the replica's replay is (0 for a non-PostgreSQL mirror)."""
    if connections[alias].vendor != "postgresql":
        return 0.0
    with connections[alias].cursor() as cursor:
        cursor.execute(_LAG_SQL)
        return float(cursor.fetchone()[0] or 0)


def _usable(alias: str) -> bool:
    """Connected (or connectable) and not too far behind; a failure opens the breaker."""
    now = time.monotonic()
    if _down_until.get(alias, 0) > now:
        return False
    connection = connections[alias]
    try:
        connection.ensure_connection()
        if _lag_checked_at.get(alias, 0) <= now:
            _lag_checked_at[alias] = now + settings.REPLICA_LAG_CHECK_SECONDS
            lag = _lag_seconds(alias)
            if lag > settings.REPLICA_MAX_LAG_SECONDS:
                logger.warning("Replica %s is %.1f s behind: reading the primary.", alias, lag)
                mark_down(alias)
                return False
    except DatabaseError as error:
        logger.warning("Replica %s unusable (%s): reading the primary.", alias, error)
        mark_down(alias)
        connection.close_if_unusable_or_obsolete()
        return False
    return True


def _choose(block: _Block) -> str | None:
    if not block.chosen:
        block.chosen = True
        healthy = [alias for alias in replica_aliases() if _usable(alias)]
        block.alias = random.choice(healthy) if healthy else None
    elif block.alias is not None and _down_until.get(block.alias, 0) > time.monotonic():
        block.alias = None
    return block.alias


class ReplicaRouter:
    """Reads go to a replica only inside ``replica_reads()`` and outside any transaction."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        block = _block.get()
        if (
            block is None
            or model._meta.app_label in PRIMARY_ONLY_APPS
            or model._meta.label_lower in PRIMARY_ONLY_MODELS
            or connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return DEFAULT_DB_ALIAS
        return _choose(block) or DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        """Rows read from a replica are the primary's rows."""
        databases = {obj1._state.db, obj2._state.db}
        if databases <= {DEFAULT_DB_ALIAS, None, *replica_aliases()}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        """Replicas replay the primary's schema; nothing is migrated on them."""
        return False if db.startswith(REPLICA_PREFIX) else None


class ReadYourWritesMiddleware:
    """Stamps the last write of every authenticated principal (API client or staff user).

    After the view, so it sees the API client DRF authenticated (DRF sets it as the
    request's user). Any unsafe request counts, failed ones too: it only costs that
    principal a few seconds of primary reads.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method not in SAFE_METHODS and replica_aliases():
            note_write(writer_key(getattr(request, "user", None)))
        return response
