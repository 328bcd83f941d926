"""Concurrent historical PUTs give the same answers and rows as if they had run one by one.

Several clients import at the same moment, each through its own connection, on SQLite
and on PostgreSQL alike. Whatever the interleaving:

- every request answers 200: never a 500, a deadlock or "database is locked";
- every (department, sourceUuid) is stored once, with its children once, and every
  messageUuid belongs to one message;
- each item's answer says what happened to it in the order the writes took effect: one
  request creates a message, a later identical one finds it MESSAGE_UNCHANGED, another
  customer's request gets SOURCE_UUID_CUSTOMER_CONFLICT, another item claiming the same
  messageUuid gets MESSAGE_UUID_CONFLICT;
- the conversation counters match the stored rows.

Writers of one customer queue on its conversation row; on PostgreSQL, writers of
different customers run side by side, and one that loses a race for a key (sourceUuid,
supplied messageUuid) to another, a unique violation or a deadlock, is rolled back and
runs again (``write.Turn``). SQLite runs one write transaction at a time. On PostgreSQL the
tests slow down message inserts and counter updates (``slow_writes``) so that the writers
overlap on every run, not now and then.
"""

import json
import logging
import random
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.db.models import Max
from rest_framework.test import APIClient

from messages_app.clients import register_client
from messages_app.enums import ApiScope
from messages_app.models import (
    Attachment,
    Conversation,
    Customer,
    Department,
    DraftAttributes,
    ImportBatch,
    Message,
    MessageTag,
    MessageTagParent,
    MessageTagSecondaryAttribute,
    NotificationAttributes,
    NotificationButton,
    NotificationNotifier,
    VoiceCallAttributes,
)
from tests.builders import CLIENT_NAME, CLIENT_SECRET, basic, full_message, url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("slow_writes")]

THREADS = 8
# A request that has not answered after this long is waiting on a lock that never comes.
DEADLOCK_SECONDS = 60
# On PostgreSQL, how long each message row takes to insert and each counter update takes.
ROW_INSERT_SECONDS = 0.005
COUNTER_UPDATE_SECONDS = 0.05

# The child rows of one full_message(): the counts a stored message must have, once.
PARTS_OF_A_FULL_MESSAGE = {
    DraftAttributes: 1,
    Attachment: 2,
    MessageTag: 2,
    MessageTagSecondaryAttribute: 4,
    MessageTagParent: 2,
    NotificationAttributes: 1,
    NotificationNotifier: 2,
    NotificationButton: 2,
    VoiceCallAttributes: 1,
}


# --- Running requests at the same moment ---------------------------------------------------


@dataclass
class Put:
    """One request to run concurrently: a path and its items."""

    path: str
    items: list[dict[str, Any]]


@dataclass
class Answer:
    """One request's answer, with the request it answers."""

    put: Put
    status: int
    body: dict[str, Any]

    def item(self, source_uuid: str) -> dict[str, Any]:
        """The ``saveMessageResponse`` entry of the request item with this sourceUuid."""
        (entry,) = [e for e in self.body["saveMessageResponse"] if e["sourceUuid"] == source_uuid]
        return entry

    @property
    def source_uuids(self) -> list[str]:
        return [item["sourceUuid"] for item in self.put.items]


def put_at_once(puts: list[Put], caplog: pytest.LogCaptureFixture, timeout: float = DEADLOCK_SECONDS) -> list[Answer]:
    """Send every PUT from its own thread and connection, all released by one barrier.

    Fails if a thread raised, if a request has not answered within ``timeout`` seconds, or
    if anything was logged at ERROR (an unhandled exception, "database is locked").
    """
    caplog.set_level(logging.INFO)
    barrier = threading.Barrier(len(puts))
    answers: list[Answer | None] = [None] * len(puts)
    crashes: list[str] = []

    def run(index: int, put: Put) -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=basic(CLIENT_NAME, CLIENT_SECRET))
            body = json.dumps({"saveMessageRequestList": put.items})
            barrier.wait(timeout=timeout)
            response = client.generic("PUT", put.path, data=body, content_type="application/json")
            answers[index] = Answer(put, response.status_code, response.json())
        except BaseException:
            crashes.append(f"request {index}: {traceback.format_exc()}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, put), daemon=True) for i, put in enumerate(puts)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = [i for i, thread in enumerate(threads) if thread.is_alive()]

    assert stuck == [], f"requests {stuck} did not answer within {timeout}s (deadlock?)"
    assert crashes == [], "\n".join(crashes)
    logged_errors = [
        f"{record.getMessage()} {record.exc_info[1]!r}" if record.exc_info else record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR
    ]
    assert logged_errors == [], logged_errors
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


@pytest.fixture
def slow_writes() -> Iterator[None]:
    """On PostgreSQL, make each message insert and each counter update take a little while,
    as under load.

    Concurrent writers then overlap on every run rather than now and then: writers of
    different customers all classify their items before any of them commits and insert
    row by row side by side, and writers of one customer would recompute the counters at
    the same time if they did not queue. (SQLite runs one write transaction at a time,
    IMMEDIATE, so it has no such interleaving to provoke.)
    """
    if connection.vendor != "postgresql":
        yield
        return
    messages = connection.ops.quote_name(Message._meta.db_table)
    conversations = connection.ops.quote_name(Conversation._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION test_slow_write() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN PERFORM pg_sleep(TG_ARGV[0]::float); RETURN NEW; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER test_slow_insert BEFORE INSERT ON {messages}"
            f" FOR EACH ROW EXECUTE FUNCTION test_slow_write('{ROW_INSERT_SECONDS}')"
        )
        cursor.execute(
            f"CREATE TRIGGER test_slow_update BEFORE UPDATE ON {conversations}"
            f" FOR EACH ROW EXECUTE FUNCTION test_slow_write('{COUNTER_UPDATE_SECONDS}')"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER test_slow_insert ON {messages}")
            cursor.execute(f"DROP TRIGGER test_slow_update ON {conversations}")
            cursor.execute("DROP FUNCTION test_slow_write()")


# --- What every concurrent run must satisfy ------------------------------------------------


def warning_codes(entry: dict[str, Any]) -> list[str]:
    return [warning["warningCode"] for warning in entry["warnings"]]


def error_codes(entry: dict[str, Any]) -> list[str]:
    return [error["errorCode"] for error in entry["errors"]]


def assert_every_request_answered_200(answers: Iterable[Answer]) -> None:
    for answer in answers:
        assert answer.status == 200, answer.body
        assert answer.body["errors"] == []
        assert [entry["sourceUuid"] for entry in answer.body["saveMessageResponse"]] == answer.source_uuids


def assert_every_item_stored(answer: Answer) -> None:
    assert answer.body["failedSourceUuids"] == []
    assert answer.body["succesfullySubmittedSourceUuids"] == answer.source_uuids
    for entry in answer.body["saveMessageResponse"]:
        assert entry["errors"] == []


def assert_one_row_per_source_uuid(expected: set[str]) -> None:
    stored = Counter(Message.objects.values_list("source_uuid", flat=True))
    assert {source for source, n in stored.items() if n > 1} == set()
    assert set(stored) == expected


def assert_children_stored_once() -> None:
    messages = Message.objects.count()
    counts = {model: model.objects.count() for model in PARTS_OF_A_FULL_MESSAGE}
    assert counts == {model: n * messages for model, n in PARTS_OF_A_FULL_MESSAGE.items()}


def assert_counters_match_the_rows() -> None:
    for conversation in Conversation.objects.all():
        rows = Message.objects.filter(conversation=conversation)
        assert conversation.total_message_count == rows.count()
        assert conversation.last_message_at == rows.aggregate(latest=Max("message_at"))["latest"]


def assert_created_once_then_found_unchanged(answers: list[Answer]) -> None:
    """Each sourceUuid is created (no warning) by exactly one request; every other request
    that sent it was served after that write and found it MESSAGE_UNCHANGED, with the same
    messageUuid, the one stored."""
    stored = dict(Message.objects.values_list("source_uuid", "message_uuid"))
    creators: dict[str, int] = Counter()
    for answer in answers:
        for source_uuid in answer.source_uuids:
            entry = answer.item(source_uuid)
            assert entry["messageUuid"] == stored[source_uuid]
            if warning_codes(entry) == []:
                creators[source_uuid] += 1
            else:
                assert warning_codes(entry) == ["MESSAGE_UNCHANGED"]
    assert creators == Counter(dict.fromkeys(stored, 1))


# --- The same customer -----------------------------------------------------------------------


def test_eight_identical_batches_at_once_store_each_message_once(api_client_record, caplog):
    items = [full_message(n) for n in range(40)]
    sources = {item["sourceUuid"] for item in items}

    answers = put_at_once([Put(url(), items) for _ in range(THREADS)], caplog)

    assert_every_request_answered_200(answers)
    for answer in answers:
        assert_every_item_stored(answer)
    assert_one_row_per_source_uuid(sources)
    assert_children_stored_once()
    assert Conversation.objects.get().total_message_count == 40
    assert_counters_match_the_rows()
    assert_created_once_then_found_unchanged(answers)
    # Writers of one customer queue on its conversation: one request writes the whole
    # batch, the seven served after it find all of it unchanged and write nothing.
    batches = sorted(ImportBatch.objects.values_list("created_count", "unchanged_count"))
    assert batches == [(0, 40)] * (THREADS - 1) + [(40, 0)]


def test_overlapping_batches_in_different_orders_store_the_union_once(api_client_record, caplog):
    # Eight windows of 20 over a pool of 60, each overlapping its neighbours, each shuffled.
    pool = [full_message(n) for n in range(60)]
    puts = []
    for thread in range(THREADS):
        window = [pool[(thread * 7 + k) % len(pool)] for k in range(20)]
        random.Random(thread).shuffle(window)
        puts.append(Put(url(), window))
    union = {item["sourceUuid"] for put in puts for item in put.items}
    assert len(union) == 60

    answers = put_at_once(puts, caplog)

    assert_every_request_answered_200(answers)
    for answer in answers:
        assert_every_item_stored(answer)
    assert_one_row_per_source_uuid(union)
    assert_children_stored_once()
    assert Conversation.objects.get().total_message_count == 60
    assert_counters_match_the_rows()
    assert_created_once_then_found_unchanged(answers)


def test_different_batches_for_one_customer_at_once_are_all_stored_and_counted(api_client_record, caplog):
    puts = [Put(url(), [full_message(100 * thread + k) for k in range(10)]) for thread in range(THREADS)]
    sources = {item["sourceUuid"] for put in puts for item in put.items}

    answers = put_at_once(puts, caplog)

    assert_every_request_answered_200(answers)
    for answer in answers:
        assert_every_item_stored(answer)
        assert [warning_codes(entry) for entry in answer.body["saveMessageResponse"]] == [[]] * 10
    assert_one_row_per_source_uuid(sources)
    assert_children_stored_once()
    assert Conversation.objects.get().total_message_count == 80
    assert_counters_match_the_rows()


# --- Other customers of the same department --------------------------------------------------


def test_customers_racing_for_the_same_source_uuids_get_one_owner_each(api_client_record, caplog):
    # Each customer sends 5 messages of its own and 12 of a pool of 20 that every other
    # customer also draws from (any two requests share at least 4), in its own order.
    shared = [full_message(n) for n in range(20)]
    puts = []
    for thread in range(THREADS):
        rng = random.Random(thread)
        own = [full_message(1000 + 10 * thread + k, sourceUuid=f"own-{thread}-{k}") for k in range(5)]
        items = own + rng.sample(shared, 12)
        rng.shuffle(items)
        puts.append(Put(url(customer_uuid=f"customer-{thread}"), items))
    own_sources = {f"own-{thread}-{k}" for thread in range(THREADS) for k in range(5)}
    shared_sources = {item["sourceUuid"] for put in puts for item in put.items} - own_sources

    answers = put_at_once(puts, caplog)

    assert_every_request_answered_200(answers)
    assert_one_row_per_source_uuid(shared_sources | own_sources)
    stored = {
        row["source_uuid"]: row for row in Message.objects.values("source_uuid", "message_uuid", "customer__uuid")
    }
    for answer in answers:
        customer = answer.put.path.split("/customer/")[1].split("/")[0]
        for source_uuid in answer.source_uuids:
            entry = answer.item(source_uuid)
            row = stored[source_uuid]
            if row["customer__uuid"] == customer:
                # The owner's request created it (nobody had stored it before): no
                # warning, and the stored messageUuid.
                assert entry["errors"] == []
                assert warning_codes(entry) == []
                assert entry["messageUuid"] == row["message_uuid"]
                assert source_uuid in answer.body["succesfullySubmittedSourceUuids"]
            else:
                # Any other customer's request gets the conflict, never a silent move.
                assert source_uuid in shared_sources
                assert error_codes(entry) == ["SOURCE_UUID_CUSTOMER_CONFLICT"]
                assert entry["messageUuid"] is None
                assert source_uuid in answer.body["failedSourceUuids"]
    # Every customer keeps its own messages, whatever happened to the shared ones.
    for thread in range(THREADS):
        owned = set(Message.objects.filter(customer__uuid=f"customer-{thread}").values_list("source_uuid", flat=True))
        assert {f"own-{thread}-{k}" for k in range(5)} <= owned
    assert Customer.objects.count() == THREADS
    assert_children_stored_once()
    assert_counters_match_the_rows()
    assert sum(c.total_message_count for c in Conversation.objects.all()) == len(shared_sources | own_sources)


# --- The same messageUuid ----------------------------------------------------------------------


def other_department_granted() -> Department:
    """A second department the test client may import into (messageUuid is global)."""
    department = Department.objects.create(uuid="b" * 64, name="Parts")
    register_client(CLIENT_NAME, [department.uuid], [ApiScope.MESSAGE_CREATE], secret=CLIENT_SECRET)
    return department


def assert_each_message_uuid_has_one_owner(answers: list[Answer], claimed: set[str]) -> None:
    """Exactly one claimant of each supplied messageUuid stored it; every other claimant
    got MESSAGE_UUID_CONFLICT and nothing stored."""
    owners = dict(Message.objects.filter(message_uuid__in=claimed).values_list("message_uuid", "source_uuid"))
    assert set(owners) == claimed
    winners: dict[str, int] = Counter()
    for answer in answers:
        for item in answer.put.items:
            entry = answer.item(item["sourceUuid"])
            if owners[item["messageUuid"]] == item["sourceUuid"]:
                assert entry["errors"] == []
                assert warning_codes(entry) == []
                assert entry["messageUuid"] == item["messageUuid"]
                winners[item["messageUuid"]] += 1
            else:
                assert error_codes(entry) == ["MESSAGE_UUID_CONFLICT"]
                assert entry["messageUuid"] is None
                assert not Message.objects.filter(source_uuid=item["sourceUuid"]).exists()
    assert winners == Counter(dict.fromkeys(claimed, 1))


def test_items_racing_for_one_message_uuid_store_exactly_one(department, api_client_record, caplog):
    other = other_department_granted()
    puts = []
    for thread in range(THREADS):
        department_uuid = other.uuid if thread % 2 else department.uuid
        item = full_message(thread, sourceUuid=f"claim-{thread}", messageUuid="the-one-message-uuid")
        puts.append(Put(url(department_uuid=department_uuid, customer_uuid=f"customer-{thread}"), [item]))

    answers = put_at_once(puts, caplog)

    assert_every_request_answered_200(answers)
    assert Message.objects.count() == 1
    assert_each_message_uuid_has_one_owner(answers, {"the-one-message-uuid"})
    assert_children_stored_once()
    assert_counters_match_the_rows()


def test_items_claiming_the_same_message_uuids_in_different_orders_never_deadlock(
    department, api_client_record, caplog
):
    other = other_department_granted()
    claimed = [f"claimed-message-{k:02d}" for k in range(20)]
    puts = []
    for thread in range(THREADS):
        # Items are inserted in sourceUuid order. Half the requests give the messageUuids
        # in ascending order, half in descending order: two writers each hold what the
        # other wants next, the textbook deadlock.
        order = claimed if thread % 2 == 0 else claimed[::-1]
        items = [
            full_message(100 * thread + k, sourceUuid=f"claim-{thread}-{k:02d}", messageUuid=message_uuid)
            for k, message_uuid in enumerate(order)
        ]
        department_uuid = other.uuid if thread >= THREADS // 2 else department.uuid
        puts.append(Put(url(department_uuid=department_uuid, customer_uuid=f"customer-{thread}"), items))

    answers = put_at_once(puts, caplog)

    assert_every_request_answered_200(answers)
    assert Message.objects.count() == len(claimed)
    assert_each_message_uuid_has_one_owner(answers, set(claimed))
    assert_children_stored_once()
    assert_counters_match_the_rows()
