"""Shared fixtures: a department, an API client with real Basic credentials, a PUT helper.
Payload builders and constants live in tests/builders.py."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from messages_app import routing
from messages_app.clients import register_client
from messages_app.enums import ApiScope
from messages_app.models import Department
from tests.builders import CLIENT_NAME, CLIENT_SECRET, DEPARTMENT_UUID, FIXTURES, basic, url


def pytest_configure(config: pytest.Config) -> None:
    """Every run has a replica alias, so replica routing is tested everywhere: without
    DATABASE_REPLICA_URLS, ``replica_0`` mirrors the test database (TEST MIRROR, a second
    connection to it). Only transactional tests see it: anything else runs inside the
    test's transaction, where the router reads the primary."""
    from django.conf import settings

    if not any(alias.startswith("replica_") for alias in settings.DATABASES):
        default = settings.DATABASES["default"]
        settings.DATABASES["replica_0"] = {**default, "TEST": {**default["TEST"], "MIRROR": "default", "NAME": None}}


def _replica_on_another_server() -> bool:
    from django.conf import settings

    replica, primary = settings.DATABASES.get("replica_0", {}), settings.DATABASES["default"]
    return "postgresql" in primary["ENGINE"] and (replica.get("HOST"), replica.get("PORT")) != (
        primary.get("HOST"),
        primary.get("PORT"),
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """With a real streaming replica (scripts/with_replica.sh), a transactional test that
    reads ``replica_0`` starts once the replica has replayed what its fixtures committed.

    Each such test begins by emptying every table (TRUNCATE of the ten partitioned tables
    is some 700 relations), which a standby replays more slowly than a mirror answers; the
    streaming tests of lag itself (tests/api/test_replica_streaming.py) make their own."""
    marker = item.get_closest_marker("django_db")
    if (
        marker is not None
        and marker.kwargs.get("transaction")
        and "replica_0" in (marker.kwargs.get("databases") or [])
        and _replica_on_another_server()
    ):
        _wait_for_replay(item)
    yield


def _wait_for_replay(item: pytest.Item, seconds: float = 15.0) -> None:
    import time

    from django.db import DatabaseError, connections

    blocker = item._request.getfixturevalue("django_db_blocker")
    with blocker.unblock():
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_current_wal_lsn()")
                (target,) = cursor.fetchone()
            deadline = time.monotonic() + seconds
            with connections["replica_0"].cursor() as cursor:
                while time.monotonic() < deadline:
                    cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
                    if cursor.fetchone()[0]:
                        return
                    time.sleep(0.02)
        except DatabaseError:
            return  # a replica the test took down: nothing to wait for


@pytest.fixture(autouse=True)
def _clear_cache():
    """Lockout counters live in the cache; every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _healthy_replicas():
    """A replica a test took down is forgotten (the circuit breaker lives in process memory)."""
    routing.reset_health()
    yield
    routing.reset_health()


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    """Pages (admin, API docs, error pages) link static files; the tests run without
    collectstatic's manifest, which production builds."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def seed_example() -> dict[str, Any]:
    """The request body of the source document, exactly as published."""
    return json.loads((FIXTURES / "seed_example.json").read_text())


@pytest.fixture
def department(db) -> Department:
    return Department.objects.create(uuid=DEPARTMENT_UUID, name="Service")


@pytest.fixture
def api_client_record(department):
    client, _ = register_client(CLIENT_NAME, [department.uuid], ApiScope.values, secret=CLIENT_SECRET)
    return client


@pytest.fixture
def api(api_client_record) -> APIClient:
    """An HTTP client authenticated with real Basic credentials of a granted client."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(CLIENT_NAME, CLIENT_SECRET))
    return client


@pytest.fixture
def put(api) -> Callable[..., Any]:
    """PUT a body (a dict, a list of items, or raw bytes) to the historical endpoint; ``environ``
    adds WSGI variables (``RAW_URI=...`` for the request target as gunicorn passes it)."""

    def _put(
        body: Any,
        *,
        path: str | None = None,
        query: str = "",
        content_type: str = "application/json",
        client=None,
        **environ: str,
    ):
        if isinstance(body, list):
            body = {"saveMessageRequestList": body}
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        target = (path or url()) + query
        return (client or api).generic("PUT", target, data=data, content_type=content_type, **environ)

    return _put


@pytest.fixture
def fresh_metrics():
    """The process's Prometheus metrics with no series yet (they live as long as the process)."""
    from messages_app import metrics

    for metric in metrics.ALL:
        metric.clear()
    yield
    for metric in metrics.ALL:
        metric.clear()
