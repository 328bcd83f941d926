"""Liveness and readiness probes: ``/healthz`` and ``/readyz``, JSON, no authentication.

``/healthz`` says the process answers (no database: a restart would not fix a database
outage). ``/readyz`` says it can serve: the database answers, every migration is applied,
and the cache (lockout counters) takes a write and reads it back; 503 otherwise, so a
load balancer sends no traffic to an instance that would fail it.

Cheap enough to probe every few seconds: one ``SELECT 1`` and one cache round trip; the
migration graph is built only until it is found fully applied, which is then remembered
for the life of the process (new migrations come with new code, hence a new process).
"""

import logging
import os
import threading
import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

logger = logging.getLogger("messages_app.ops")

_migrations_applied = False


class NotReady(Exception):
    """A check ran and found the service not ready; the message says why."""


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_migrations() -> None:
    global _migrations_applied
    if _migrations_applied:
        return
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise NotReady(f"unapplied migrations: {len(plan)}")
    _migrations_applied = True


def check_cache() -> None:
    key = f"readyz:{os.getpid()}:{threading.get_ident()}"
    token = uuid.uuid4().hex
    cache.set(key, token, timeout=60)
    if cache.get(key) != token:
        raise NotReady("a value written was not read back")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "migrations": check_migrations,
    "cache": check_cache,
}


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive."""
    return JsonResponse({"status": "ok"})


@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Every check's result; 200 when all pass, 503 otherwise.

    A failure is named by its exception class only (the probe is public); the log has the
    details.
    """
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except NotReady as exc:
            results[name] = f"failed: {exc}"
        except Exception as exc:
            logger.warning("readiness check %s failed", name, exc_info=True)
            results[name] = f"failed: {type(exc).__name__}"
        else:
            results[name] = "ok"
    ready = all(result == "ok" for result in results.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": results}, status=200 if ready else 503)
