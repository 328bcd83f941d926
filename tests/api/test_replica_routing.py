"""Read replicas: which database each request of the API reads (``messages_app.routing``).

``replica_0`` mirrors the test database (a second connection to it), so these tests
check routing: which connection a query used. They commit their data
(``transaction=True``): the router reads the primary inside any transaction, a test's too.
"""

import time
from collections.abc import Iterator

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from messages_app import routing
from messages_app.models import Message
from tests.builders import minimal_message, url

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica_0"])

REPLICA = "replica_0"


def replica_queries(send) -> tuple[object, list[str]]:
    """The response of ``send()`` and the SQL it ran on the replica."""
    with CaptureQueriesContext(connections[REPLICA]) as captured:
        response = send()
    return response, [query["sql"] for query in captured.captured_queries]


@pytest.fixture
def stored(put) -> str:
    """One stored message, written long enough ago that its writer reads replicas again."""
    response = put([minimal_message(1)])
    assert response.status_code == 200, response.json()
    routing.cache.clear()
    return response.json()["saveMessageResponse"][0]["messageUuid"]


@pytest.fixture
def replica_down() -> Iterator[None]:
    """``replica_0`` refuses connections: a closed port (PostgreSQL), a file that cannot be opened (SQLite)."""
    connection = connections[REPLICA]
    connection.close()
    original = connection.settings_dict
    if connection.vendor == "postgresql":
        connection.settings_dict = {**original, "HOST": "127.0.0.1", "PORT": "9", "OPTIONS": {"connect_timeout": 2}}
    else:
        connection.settings_dict = {**original, "NAME": "/nonexistent-folder/replica.sqlite3"}
    yield
    connection.close()
    connection.settings_dict = original


def test_listing_reads_the_messages_from_the_replica(api, stored):
    response, sql = replica_queries(lambda: api.get(url()))

    assert response.status_code == 200
    assert [item["messageUuid"] for item in response.json()["results"]] == [stored]
    assert any("messages_app_message" in query for query in sql)


def test_getting_one_message_reads_it_from_the_replica(api, stored):
    response, sql = replica_queries(lambda: api.get(f"{url()}/{stored}"))

    assert response.status_code == 200
    assert response.json()["messageUuid"] == stored
    assert any("messages_app_message" in query for query in sql)


def test_authentication_and_grants_never_read_the_replica(api, stored):
    _, sql = replica_queries(lambda: api.get(url()))

    assert sql
    assert not [query for query in sql if "apiclient" in query or "auth_" in query or "session" in query]


def test_a_put_never_reads_the_replica(put):
    response, sql = replica_queries(lambda: put([minimal_message(1), minimal_message(2)]))

    assert response.status_code == 200
    assert sql == []


def test_a_get_right_after_the_clients_own_put_reads_the_primary(api, put, stored):
    put([minimal_message(2)])

    response, sql = replica_queries(lambda: api.get(url()))

    assert len(response.json()["results"]) == 2
    assert sql == []


def test_after_the_read_your_writes_window_the_client_reads_the_replica_again(api, put, settings):
    settings.REPLICA_READ_YOUR_WRITES_SECONDS = 0.3
    put([minimal_message(1)])
    time.sleep(0.35)

    response, sql = replica_queries(lambda: api.get(url()))

    assert len(response.json()["results"]) == 1
    assert any("messages_app_message" in query for query in sql)


def test_a_replica_that_refuses_connections_leaves_the_get_to_the_primary(api, stored, replica_down):
    response = api.get(url())

    assert response.status_code == 200
    assert [item["messageUuid"] for item in response.json()["results"]] == [stored]


def test_a_down_replica_is_not_tried_again_within_the_retry_period(api, stored, replica_down, monkeypatch):
    api.get(url())
    attempts = []
    monkeypatch.setattr(connections[REPLICA], "ensure_connection", lambda: attempts.append(1))

    response = api.get(url())

    assert response.status_code == 200
    assert attempts == []


def test_a_replica_too_far_behind_leaves_the_get_to_the_primary(api, stored, settings, monkeypatch):
    settings.REPLICA_MAX_LAG_SECONDS = 10
    monkeypatch.setattr(routing, "_lag_seconds", lambda alias: 11.0)

    response, sql = replica_queries(lambda: api.get(url()))

    assert response.status_code == 200
    assert not [query for query in sql if "messages_app_message" in query]


def test_reads_outside_a_replica_block_go_to_the_primary():
    assert routing.ReplicaRouter().db_for_read(Message) == "default"


def test_reads_inside_a_transaction_go_to_the_primary_even_in_a_replica_block():
    with routing.replica_reads(), transaction.atomic():
        assert routing.ReplicaRouter().db_for_read(Message) == "default"


def test_writes_go_to_the_primary_even_in_a_replica_block():
    with routing.replica_reads():
        assert routing.ReplicaRouter().db_for_write(Message) == "default"
