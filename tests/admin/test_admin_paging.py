"""The admin paginator: exact on small lists and on SQLite, estimated on large PostgreSQL lists."""

import pytest
from django.conf import settings
from django.core.paginator import InvalidPage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messages_app.admin.paging import MAX_PAGE, EstimatedCountPaginator
from messages_app.models import Message
from tests.admin.support import import_items
from tests.builders import minimal_message

pytestmark = pytest.mark.django_db


class SmallCap(EstimatedCountPaginator):
    count_cap = 5


@pytest.fixture
def twenty(department):
    import_items(department, "cust", [minimal_message(n) for n in range(20)])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE messages_app_message")


def count(queryset, paginator_class=SmallCap):
    paginator = paginator_class(queryset, 3)
    with CaptureQueriesContext(connection) as captured:
        total = paginator.count
    return total, paginator, [q["sql"] for q in captured]


def test_unfiltered_large_list_is_estimated_without_counting_on_postgresql(twenty):
    total, paginator, sql = count(Message.objects.order_by("-message_at"))
    if connection.vendor == "postgresql":
        assert paginator.is_estimate
        assert total == 20  # ANALYZE saw every row of this small table
        assert "reltuples" in sql[0]
        assert "LIMIT 6" in sql[1]
        assert len(sql) == 2
        # Pages up to the last numbered one are accepted when the count is an estimate.
        assert len(paginator.page(7).object_list) == 2
        with pytest.raises(InvalidPage):
            paginator.page(MAX_PAGE + 1)
    else:
        assert (total, paginator.is_estimate) == (20, False)


def test_filtered_large_list_counts_at_most_the_cap_then_asks_the_planner(twenty):
    total, paginator, sql = count(Message.objects.filter(type="OUTGOING"))
    if connection.vendor == "postgresql":
        assert paginator.is_estimate
        assert sql[0].startswith("EXPLAIN")
        assert "LIMIT 6" in sql[1]
        assert len(sql) == 2
        assert total >= 6
    else:
        assert (total, paginator.is_estimate) == (20, False)


def test_every_count_on_postgresql_is_bounded(twenty):
    querysets = (Message.objects.all(), Message.objects.filter(type="OUTGOING"), Message.objects.filter(pk__in=[]))
    for queryset, expected in zip(querysets, (20, 20, 0), strict=True):
        total, _paginator, sql = count(queryset, EstimatedCountPaginator)
        assert total == expected
        counts = [statement for statement in sql if "COUNT(" in statement.upper()]
        if connection.vendor == "postgresql":
            assert all("LIMIT 1001" in statement for statement in counts), counts
        else:
            assert len(counts) <= 1


def test_small_lists_are_counted_exactly(twenty):
    total, paginator, _sql = count(Message.objects.filter(source_uuid__in=["min-1", "min-2"]))
    assert (total, paginator.is_estimate) == (2, False)
    total, paginator, _sql = count(Message.objects.all(), EstimatedCountPaginator)
    assert (total, paginator.is_estimate) == (20, False)
    with pytest.raises(Exception, match="contains no results"):
        paginator.page(50)


def test_page_numbers_stop_at_the_cap(twenty, monkeypatch):
    monkeypatch.setattr("messages_app.admin.paging.MAX_PAGE", 4)
    capped = EstimatedCountPaginator(Message.objects.all(), 3)
    assert (capped.num_pages, capped.is_capped) == (4, True)
    whole = EstimatedCountPaginator(Message.objects.all(), 5)
    assert (whole.num_pages, whole.is_capped) == (4, False)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reltuples and partitions are PostgreSQL's")
def test_the_estimate_of_a_partitioned_table_sums_its_analysed_partitions():
    from messages_app.admin.paging import _table_estimate

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE estimate_probe (department_id bigint, n int) PARTITION BY HASH (department_id)")
        for remainder in range(2):
            cursor.execute(
                f"CREATE TABLE estimate_probe_p{remainder} PARTITION OF estimate_probe "
                f"FOR VALUES WITH (MODULUS 2, REMAINDER {remainder})"
            )
        cursor.execute("INSERT INTO estimate_probe SELECT n % 7, n FROM generate_series(1, 300) AS n")
        never_analysed = _table_estimate(connection, "estimate_probe")
        cursor.execute("ANALYZE estimate_probe_p0")
        cursor.execute("ANALYZE estimate_probe_p1")  # the partitions only, as autovacuum does

        assert never_analysed == -1
        assert _table_estimate(connection, "estimate_probe") == 300


@pytest.mark.skipif(
    connection.vendor != "postgresql" or not settings.MESSAGE_PARTITIONS,
    reason="partitioned on PostgreSQL (MESSAGE_PARTITIONS > 0)",
)
def test_the_message_list_is_estimated_from_the_partitions_autovacuum_analyses(department):
    """Autovacuum analyses the partitions, never the partitioned parent: the unfiltered
    list sums them, and a department's list is the planner's estimate of its one partition."""
    import_items(department, "cust", [minimal_message(n) for n in range(33)])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'messages_app_message'::regclass"
        )
        partitions = [row[0] for row in cursor.fetchall()]
        for partition in partitions:
            cursor.execute(f"ANALYZE {partition}")
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'messages_app_message'")
        parent_reltuples = cursor.fetchone()[0]

    whole, whole_paginator, _ = count(Message.objects.order_by("-message_at"))
    one, one_paginator, _ = count(Message.objects.filter(department=department).order_by("-message_at"))

    assert len(partitions) > 1 and parent_reltuples != 33  # the parent's own figure is stale, or never set
    assert (whole, whole_paginator.is_estimate) == (33, True)
    assert (one, one_paginator.is_estimate) == (33, True)
