"""On PostgreSQL a text search reads the GIN index ``message_search_idx``, not the table.

A few hundred messages are too few for the planner to prefer any index over reading the
table, so sequential scans are switched off for the EXPLAIN: what is checked is that the
query's SQL can use the index at all (a search written on an expression instead of the
stored column could not), and the second test shows the check fails without the index.
"""

import pytest
from django.db import connection

from messages_app import textsearch
from messages_app.models import Message
from tests.admin.support import import_items
from tests.builders import by_parent_index, is_postgres, minimal_message, with_attrs

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not is_postgres(), reason="the search index exists on PostgreSQL only"),
]

WORDS = ("brake", "invoice", "appointment", "tyre", "recall")


@pytest.fixture
def many(department):
    for batch in range(3):
        import_items(
            department,
            f"customer-{batch}",
            [
                with_attrs(minimal_message(batch * 100 + n), body=f"{WORDS[n % 5]} service (#{batch * 100 + n:06d})")
                for n in range(100)
            ],
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messages_app_message")


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return by_parent_index("\n".join(row[0] for row in cursor.fetchall()))


def test_a_text_search_uses_the_search_index(many):
    searched = textsearch.matching(Message.objects.filter(department__isnull=False), "000042")

    assert "message_search_idx" in plan(searched), plan(searched)
    assert list(searched.values_list("source_uuid", flat=True)) == ["min-42"]


def test_without_the_search_index_the_plan_names_no_search_index(many):
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX message_search_idx")

    searched = textsearch.matching(Message.objects.all(), "000042")

    assert "message_search_idx" not in plan(searched)
    assert list(searched.values_list("source_uuid", flat=True)) == ["min-42"]
