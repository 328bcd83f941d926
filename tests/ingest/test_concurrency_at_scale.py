"""Many concurrent 1,000-item PUTs on a default PostgreSQL server: never a 500.

The PostgreSQL lock table holds about ``max_locks_per_transaction x max_connections``
locks (64 x 100 by default) for every session together. A writer that took a lock per
item ran it out with a handful of large batches ("out of shared memory", a 500); a writer
now takes at most two whatever its size. Twenty-four writers run at once on the server's
default settings, in two departments; in each, three writers share sourceUuids
(SOURCE_UUID_CUSTOMER_CONFLICT for all but one of them), three claim some of the same
messageUuids as the three of the other department, in an order of their own
(MESSAGE_UUID_CONFLICT), and six share nothing.

In-process threads take turns on the GIL, so left alone only a few of them would be in
their write transaction at the same moment. ``writers_meet`` holds each writer's first
transaction, with its locks taken, until all twenty-four have got that far (or
GATE_SECONDS have passed): every writer then holds its locks while the others take theirs.

PostgreSQL only: SQLite runs one write transaction at a time and has no lock table.
"""

import random
from collections import Counter
from collections.abc import Iterator

import pytest
from django.db import connection

from messages_app.models import ImportBatch, Message
from tests.builders import is_postgres, minimal_message, url
from tests.ingest.test_concurrency import Answer, Put, error_codes, other_department_granted, put_at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not is_postgres(), reason="the lock table is PostgreSQL's"),
]

WRITERS = 24
ITEMS = 1000
# Each source sharer sends this many of its department's pool of ITEMS shared sourceUuids.
SHARED_SOURCES = 500
# Each messageUuid claimer claims this many of a pool of CLAIM_POOL messageUuids.
CLAIMED_UUIDS = 200
CLAIM_POOL = 300
TIMEOUT_SECONDS = 120
# The longest a writer's first transaction waits for the others at the gate.
GATE_SECONDS = 10


@pytest.fixture
def writers_meet() -> Iterator[None]:
    """Hold the first WRITERS write transactions, locks taken, until all have got that far.

    A trigger on the batch record (inserted once per transaction, after the locks and
    before the messages) counts arrivals with a sequence, which transactions do not
    isolate, and waits until WRITERS have arrived or GATE_SECONDS have passed. Later
    transactions (retries) pass at once.
    """
    table = connection.ops.quote_name(ImportBatch._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE test_gate")
        # TG_ARGV: how many writers to wait for, and for how long at most.
        cursor.execute(
            "CREATE FUNCTION test_gate() RETURNS trigger LANGUAGE plpgsql AS $$"
            " DECLARE deadline timestamptz := clock_timestamp() + make_interval(secs => TG_ARGV[1]::float);"
            " BEGIN IF nextval('test_gate') <= TG_ARGV[0]::int THEN"
            " WHILE (SELECT last_value FROM test_gate) < TG_ARGV[0]::int AND clock_timestamp() < deadline"
            " LOOP PERFORM pg_sleep(0.05); END LOOP; END IF; RETURN NEW; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER test_gate BEFORE INSERT ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION test_gate('{WRITERS}', '{GATE_SECONDS}')"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER test_gate ON {table}")
            cursor.execute("DROP FUNCTION test_gate()")
            cursor.execute("DROP SEQUENCE test_gate")


def role(writer: int) -> str:
    """In each department of twelve writers: three share sourceUuids, three claim shared
    messageUuids (with the three of the other department), six share nothing."""
    return ("sharer", "claimer", "loner", "loner")[writer % 12 // 3]


# The error each role's items may get (a loner's never fail).
CONFLICT_OF = {"sharer": "SOURCE_UUID_CUSTOMER_CONFLICT", "claimer": "MESSAGE_UUID_CONFLICT"}


def writer_put(writer: int, department_uuid: str) -> Put:
    """A customer's batch of ITEMS new messages, with the shared keys of the writer's role."""
    rng = random.Random(writer)
    path = url(department_uuid=department_uuid, customer_uuid=f"customer-{writer}")
    if role(writer) == "claimer":
        claimed = rng.sample([f"claimed-{k}" for k in range(CLAIM_POOL)], CLAIMED_UUIDS)
        message_uuids = [f"mu-{writer}-{k}" for k in range(ITEMS - CLAIMED_UUIDS)] + claimed
        rng.shuffle(message_uuids)
        return Put(
            path,
            [
                minimal_message(writer * ITEMS + k, sourceUuid=f"claim-{writer}-{k:04d}", messageUuid=message_uuid)
                for k, message_uuid in enumerate(message_uuids)
            ],
        )
    sources = [f"own-{writer}-{k}" for k in range(ITEMS)]
    if role(writer) == "sharer":
        sources[SHARED_SOURCES:] = rng.sample([f"shared-{k}" for k in range(ITEMS)], SHARED_SOURCES)
        rng.shuffle(sources)
    return Put(path, [minimal_message(writer * ITEMS + k, sourceUuid=s) for k, s in enumerate(sources)])


def stored_or_refused(answer: Answer) -> tuple[set[str], Counter[str]]:
    """The sourceUuids the answer reports stored, and its error codes; every item is one or the other."""
    body = answer.body
    stored = set(body["succesfullySubmittedSourceUuids"])
    failed = set(body["failedSourceUuids"])
    assert stored | failed == set(answer.source_uuids)
    assert stored & failed == set()
    codes: Counter[str] = Counter()
    for entry in body["saveMessageResponse"]:
        if entry["sourceUuid"] in stored:
            assert entry["errors"] == []
            assert entry["messageUuid"]
        else:
            (code,) = error_codes(entry)
            codes[code] += 1
            assert entry["messageUuid"] is None
    return stored, codes


def test_twenty_four_concurrent_1000_item_writers_never_run_out_of_locks(
    department, api_client_record, writers_meet, caplog
):
    other = other_department_granted()
    department_of = {writer: department if writer < WRITERS // 2 else other for writer in range(WRITERS)}
    puts = [writer_put(writer, department_of[writer].uuid) for writer in range(WRITERS)]

    answers = put_at_once(puts, caplog, timeout=TIMEOUT_SECONDS)

    assert [answer.status for answer in answers] == [200] * WRITERS
    assert all(answer.body["errors"] == [] for answer in answers)
    rows = {
        (row["department_id"], row["source_uuid"]): row
        for row in Message.objects.values("department_id", "source_uuid", "message_uuid", "customer__uuid")
    }
    per_key = Counter(Message.objects.values_list("department_id", "source_uuid"))
    assert {key for key, n in per_key.items() if n > 1} == set()
    owners = dict(Message.objects.values_list("message_uuid", "customer__uuid"))
    stored_keys, codes = set(), Counter()
    for writer, answer in enumerate(answers):
        stored, answer_codes = stored_or_refused(answer)
        codes += answer_codes
        customer = f"customer-{writer}"
        assert set(answer_codes) <= {CONFLICT_OF.get(role(writer))}
        for item in answer.put.items:
            key = (department_of[writer].pk, item["sourceUuid"])
            if item["sourceUuid"] in stored:
                assert rows[key]["customer__uuid"] == customer
                assert rows[key]["message_uuid"] == answer.item(item["sourceUuid"])["messageUuid"]
                stored_keys.add(key)
            elif role(writer) == "sharer":
                assert rows[key]["customer__uuid"] != customer
            else:
                assert key not in rows
                assert owners[item["messageUuid"]] != customer
    # Every row was reported stored by the one writer that stored it; every other item
    # was answered with its conflict; the counts add up.
    assert codes["SOURCE_UUID_CUSTOMER_CONFLICT"] > 0
    assert codes["MESSAGE_UUID_CONFLICT"] > 0
    assert stored_keys == set(rows)
    assert len(stored_keys) + codes.total() == WRITERS * ITEMS
    assert sum(ImportBatch.objects.values_list("created_count", flat=True)) == len(stored_keys)
    assert sum(ImportBatch.objects.values_list("failed_count", flat=True)) == codes.total()
    shared_sources = {
        (department_of[w].pk, f"shared-{k}") for w in range(WRITERS) if role(w) == "sharer" for k in range(ITEMS)
    }
    sent_shared = {(department_of[w].pk, i["sourceUuid"]) for w, p in enumerate(puts) for i in p.items} & shared_sources
    assert sent_shared <= set(rows)
    claimed = {i["messageUuid"] for p in puts for i in p.items if i.get("messageUuid", "").startswith("claimed-")}
    assert claimed <= set(owners)
