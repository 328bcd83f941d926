"""`rebuild_search`: the search column and index recomputed with the current SEARCH_CONFIG."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from messages_app import textsearch
from messages_app.models import Message
from tests.admin.support import import_items
from tests.builders import is_postgres, minimal_message, with_attrs

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(not is_postgres(), reason="the search column exists on PostgreSQL only")


def run() -> str:
    out = io.StringIO()
    call_command("rebuild_search", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def found(query: str) -> list[str]:
    return list(textsearch.matching(Message.objects.all(), query).values_list("source_uuid", flat=True))


@pytest.fixture
def brakes(department):
    import_items(department, "customer-a", [with_attrs(minimal_message(1), body="The brakes were replaced.")])


@pytest.mark.skipif(is_postgres(), reason="SQLite has no search column")
def test_on_sqlite_there_is_nothing_to_rebuild(brakes):
    assert run().startswith("Nothing to rebuild")


@postgres_only
def test_a_stemming_configuration_matches_other_forms_of_a_word_after_the_rebuild(brakes):
    assert found("brake") == []

    with override_settings(SEARCH_CONFIG="english"):
        output = run()
        assert found("brake") == ["min-1"]
        assert found("replace") == ["min-1"]

    assert "with configuration english" in output
    assert "CREATE INDEX message_search_idx" in output
    assert "ANALYZE messages_app_message (search_vector)" in output


@postgres_only
def test_the_rebuilt_column_keeps_its_index_and_follows_later_writes(department, brakes):
    with override_settings(SEARCH_CONFIG="english"):
        run()
        import_items(department, "customer-b", [with_attrs(minimal_message(2), subject="Invoices")])
        assert found("invoice") == ["min-2"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'message_search_idx'")
            assert "gin (search_vector)" in cursor.fetchone()[0]


@postgres_only
def test_an_unknown_configuration_is_refused_and_changes_nothing(brakes):
    with override_settings(SEARCH_CONFIG="klingon"), pytest.raises(CommandError, match="klingon"):
        run()

    assert found("brakes") == ["min-1"]
