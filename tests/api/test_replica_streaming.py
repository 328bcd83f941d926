"""Reads from a real streaming replica (PostgreSQL): ``scripts/with_replica.sh`` makes one
of the local primary and runs these tests with ``DATABASE_REPLICA_URLS`` pointing at it
(CI does). Without one they are skipped; with ``REQUIRE_REPLICA=1`` they fail instead.

The test database is created on the primary and replicates; ``replica_0`` is pointed at
the same database name on the replica (what TEST MIRROR means with a real server).
"""

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import DatabaseError, connections

from messages_app import routing
from tests.builders import minimal_message, url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, databases=["default", "replica_0"])]

REPLICA = "replica_0"
ROUNDS = 40


def _configured_replica() -> dict | None:
    """The replica's own settings when DATABASE_REPLICA_URLS names a PostgreSQL server
    other than the primary; ``None`` for the tests' mirror."""
    configured = settings.DATABASES.get(REPLICA)
    primary = settings.DATABASES["default"]
    if (
        configured is None
        or configured["ENGINE"] != "django.db.backends.postgresql"
        or (configured.get("HOST"), str(configured.get("PORT"))) == (primary.get("HOST"), str(primary.get("PORT")))
    ):
        return None
    return configured


@pytest.fixture
def real_replica(transactional_db) -> Iterator[None]:
    """``replica_0`` connected to the real replica's copy of the test database."""
    configured = _configured_replica()
    if configured is None:
        reason = "no streaming replica configured (DATABASE_REPLICA_URLS); scripts/with_replica.sh makes one"
        if os.environ.get("REQUIRE_REPLICA"):
            pytest.fail(reason)
        pytest.skip(reason)
    connection = connections[REPLICA]
    mirror = connection.settings_dict
    connection.close()
    connection.settings_dict = {
        **connections["default"].settings_dict,
        "HOST": configured["HOST"],
        "PORT": configured["PORT"],
        "OPTIONS": configured.get("OPTIONS", {}),
    }
    deadline = time.monotonic() + 30
    while True:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_is_in_recovery() FROM messages_app_message LIMIT 0")
            break
        except DatabaseError:
            connection.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    yield
    connection.close()
    connection.settings_dict = mirror


@contextmanager
def replica_sql() -> Iterator[list[str]]:
    """The SQL run on the replica in the block (Django's query log is reset by every request)."""
    seen: list[str] = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connections[REPLICA].execute_wrapper(record):
        yield seen


def _put_and_get(put, api, n: int) -> bool:
    """PUT message n, GET it at once; True when the GET saw it."""
    answer = put([minimal_message(n)])
    assert answer.status_code == 200, answer.json()
    message_uuid = answer.json()["saveMessageResponse"][0]["messageUuid"]
    return api.get(f"{url()}/{message_uuid}").status_code == 200


def test_the_replica_is_a_streaming_standby(real_replica):
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), (SELECT status FROM pg_stat_wal_receiver)")
        assert cursor.fetchone() == (True, "streaming")


def test_a_get_right_after_the_clients_put_sees_the_message_every_time(real_replica, put, api):
    with replica_sql() as sql:
        seen = sum(_put_and_get(put, api, n) for n in range(ROUNDS))

    assert seen == ROUNDS
    assert not [query for query in sql if 'FROM "messages_app_message"' in query]


def test_without_read_your_writes_the_gets_read_the_replica(real_replica, put, api, settings):
    settings.REPLICA_READ_YOUR_WRITES_SECONDS = 0
    with replica_sql() as sql:
        seen = sum(_put_and_get(put, api, n) for n in range(ROUNDS))

    print(f"without read-your-writes: {ROUNDS - seen} of {ROUNDS} GETs right after the PUT were stale")
    assert sum('FROM "messages_app_message"' in query for query in sql) >= ROUNDS


def test_the_replica_serves_a_listing_once_it_replayed_the_put(real_replica, put, api, settings):
    settings.REPLICA_READ_YOUR_WRITES_SECONDS = 0
    put([minimal_message(1)])
    deadline = time.monotonic() + 10
    with replica_sql() as sql:
        while not api.get(url()).json()["results"] and time.monotonic() < deadline:
            time.sleep(0.05)

    assert len(api.get(url()).json()["results"]) == 1
    assert any('FROM "messages_app_message"' in query for query in sql)


def test_the_replay_lag_is_measured_on_the_replica(real_replica):
    lag = routing._lag_seconds(REPLICA)

    assert 0 <= lag < settings.REPLICA_MAX_LAG_SECONDS
