"""A PUT of N messages runs a number of SQL queries that does not grow with N."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messages_app.models import Message
from tests.builders import full_message, url

pytestmark = pytest.mark.django_db

SIZES = (1, 10, 500)


def assert_stored(response, items, customer):
    """The PUT succeeded: 200, every item reported stored and none failed, and the customer
    holds exactly these messages."""
    source_uuids = [item["sourceUuid"] for item in items]
    assert response.status_code == 200
    body = response.json()
    assert body["succesfullySubmittedSourceUuids"] == source_uuids
    assert body["failedSourceUuids"] == []
    stored = Message.objects.filter(customer__uuid=customer).values_list("source_uuid", flat=True)
    assert sorted(stored) == sorted(source_uuids)


def put_stored(put, items, customer):
    """PUT the items for ``customer`` and check they were stored."""
    response = put(items, path=url(customer_uuid=customer))
    assert_stored(response, items, customer)
    return response


def count_queries(put, items, customer):
    with CaptureQueriesContext(connection) as queries:
        response = put(items, path=url(customer_uuid=customer))
    assert_stored(response, items, customer)
    return len(queries)


def batch(size, offset=0):
    return [full_message(offset + n) for n in range(size)]


def test_new_messages_take_the_same_number_of_queries_for_1_10_and_500(put):
    counts = {size: count_queries(put, batch(size, offset=size * 1000), f"new-{size}") for size in SIZES}

    assert len(set(counts.values())) == 1, counts


def test_updated_messages_take_the_same_number_of_queries_for_1_10_and_500(put):
    counts = {}
    for size in SIZES:
        items = batch(size, offset=size * 1000)
        put_stored(put, items, f"upd-{size}")
        for item in items:
            item["messageAttributes"]["body"] += " (edited)"
        counts[size] = count_queries(put, items, f"upd-{size}")

    assert len(set(counts.values())) == 1, counts


def test_unchanged_resends_take_the_same_number_of_queries_for_1_10_and_500(put):
    counts = {}
    for size in SIZES:
        items = batch(size, offset=size * 1000)
        put_stored(put, items, f"same-{size}")
        counts[size] = count_queries(put, items, f"same-{size}")

    assert len(set(counts.values())) == 1, counts


def test_a_put_of_new_messages_runs_a_pinned_number_of_queries(put, django_assert_num_queries):
    # auth (1) + grant (1) + an earlier answer to these bytes (1) + stored hashes (1)
    # + savepoint/release (2) + conversation lookup (1) + new customer and conversation (4)
    # + classify (1) + batch (1) + message and tag ids (2) + messages (1) + 9 child tables (9)
    # + counters (1) + on PostgreSQL, the ingest advisory lock (1); COPY statements are logged as queries
    items = batch(500)

    with django_assert_num_queries(27 if connection.vendor == "postgresql" else 26):
        response = put(items, path=url(customer_uuid="pinned"))

    assert_stored(response, items, "pinned")


def test_an_identical_resend_runs_a_pinned_number_of_queries(put, django_assert_num_queries):
    items = batch(500)
    put_stored(put, items, "pinned")

    # The same bytes, answered from the stored rows (ingest/resend.py): auth (1) + grant (1)
    # + the batch that answered these bytes (1) + savepoint/release (2) + conversation lookup
    # and lock (1) + the stored rows (1) + batch (1) + on PostgreSQL, the ingest advisory lock (1)
    with django_assert_num_queries(9 if connection.vendor == "postgresql" else 8):
        response = put(items, path=url(customer_uuid="pinned"))

    assert_stored(response, items, "pinned")
    warnings = [[w["warningCode"] for w in entry["warnings"]] for entry in response.json()["saveMessageResponse"]]
    assert warnings == [["MESSAGE_UNCHANGED"]] * len(items)


def test_a_resend_of_the_same_items_in_other_bytes_runs_a_pinned_number_of_queries(put, django_assert_num_queries):
    items = batch(500)
    put_stored(put, items, "pinned")
    body = json.dumps({"saveMessageRequestList": items}, indent=1)

    # Item by item: auth (1) + grant (1) + an earlier answer to these bytes (1) + stored hashes (1)
    # + savepoint/release (2) + conversation lookup and lock (1) + classify (1) + batch (1)
    # + on PostgreSQL, the ingest advisory lock (1)
    with django_assert_num_queries(10 if connection.vendor == "postgresql" else 9):
        response = put(body, path=url(customer_uuid="pinned"))

    assert_stored(response, items, "pinned")
    warnings = [[w["warningCode"] for w in entry["warnings"]] for entry in response.json()["saveMessageResponse"]]
    assert warnings == [["MESSAGE_UNCHANGED"]] * len(items)
