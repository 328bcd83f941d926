"""A database with data moves to the partitioned schema: by migrating across 0012, or by
``partition_messages`` where it was migrated plain (MESSAGE_PARTITIONS=0).

Each test builds a scratch PostgreSQL database of its own beside the test database and
drives ``manage.py`` in subprocesses, as an operator would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.builders import is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="partitioning is PostgreSQL's")

ROOT = Path(__file__).resolve().parents[2]

# What must be the same after the conversion: every table's rows, and the messages' content.
SNAPSHOT_SQL = """
SELECT json_build_object(
  'counts', (SELECT json_object_agg(relname, n) FROM (
     SELECT 'message' AS relname, count(*) AS n FROM messages_app_message
     UNION ALL SELECT 'draft', count(*) FROM messages_app_draftattributes
     UNION ALL SELECT 'attachment', count(*) FROM messages_app_attachment
     UNION ALL SELECT 'tag', count(*) FROM messages_app_messagetag
     UNION ALL SELECT 'secondary', count(*) FROM messages_app_messagetagsecondaryattribute
     UNION ALL SELECT 'parent', count(*) FROM messages_app_messagetagparent
     UNION ALL SELECT 'notification', count(*) FROM messages_app_notificationattributes
     UNION ALL SELECT 'notifier', count(*) FROM messages_app_notificationnotifier
     UNION ALL SELECT 'button', count(*) FROM messages_app_notificationbutton
     UNION ALL SELECT 'voice', count(*) FROM messages_app_voicecallattributes) AS t),
  'messages', (SELECT md5(string_agg(concat_ws('|', id, department_id, customer_id, source_uuid, message_uuid,
     message_at, body, source_payload::text, search_vector::text), ',' ORDER BY id)) FROM messages_app_message),
  'tags', (SELECT md5(string_agg(concat_ws('|', id, message_id, position, value::text), ',' ORDER BY id))
     FROM messages_app_messagetag),
  'max_message_id', (SELECT max(id) FROM messages_app_message))
"""

PARTITIONS_SQL = (
    "SELECT count(*) FROM pg_inherits WHERE inhparent = 'messages_app_message'::regclass"  # one table stands for ten
)

# After the conversion the service writes as before: a new message through the ingest
# service (its id after every old one), and a messageUuid another department holds refused.
INGEST_SCRIPT = """
import json
from messages_app.ingest.service import ingest_messages
from messages_app.models import Department, Message, MessageUuid
first, second = Department.objects.order_by("pk")[:2]
taken = Message.objects.filter(department=first).values_list("message_uuid", flat=True).first()
result = ingest_messages(department=second, customer_uuid="after-conversion", items=[
    {"sourceUuid": "after-1", "sentOn": "2025-01-01T00:00:00Z", "messageAttributes": {"body": "new"}},
    {"sourceUuid": "after-2", "messageUuid": taken, "sentOn": "2025-01-01T00:00:00Z",
     "messageAttributes": {"body": "taken"}},
])
new = Message.objects.get(department=second, source_uuid="after-1")
print(json.dumps({
    "outcomes": [item.outcome and item.outcome.value for item in result.items],
    "errors": [[error.code for error in item.errors] for item in result.items],
    "new_id": new.pk,
    "registered": MessageUuid.objects.filter(message_uuid=new.message_uuid, message_id=new.pk).exists(),
    "registry": MessageUuid.objects.count(),
    "messages": Message.objects.count(),
}))
"""


def _server_url() -> str:
    settings = connection.settings_dict
    return f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"


@pytest.fixture
def scratch_database() -> Iterator[str]:
    name = f"{connection.settings_dict['NAME']}_convert"
    server = _server_url()
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(url: str, *args: str, partitions: int = 16, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **{name: value for name, value in os.environ.items() if name != "PROMETHEUS_MULTIPROC_DIR"},
        "DATABASE_URL": url,
        "MESSAGE_PARTITIONS": str(partitions),
        "DEBUG": "true",
        "SECRET_KEY": "test-secret-key-not-for-production-0123456789",
        "DJANGO_SETTINGS_MODULE": "comms_project.settings",
    }
    result = subprocess.run(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def query(url: str, sql: str) -> object:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


# The demo generator writes no tags, notifiers or buttons: a few of each, as the ingest
# service would (the tables as of migration 0010, before the registry).
PARTS_SQL = [
    "INSERT INTO messages_app_messagetag (department_id, message_id, position, tag_type_uuid, reference_identifier, "
    "value, primary_attribute_value) SELECT department_id, id, 0, 'tag', 'ref', '{}', 'v' FROM messages_app_message "
    "WHERE id % 5 = 0",
    "INSERT INTO messages_app_messagetagsecondaryattribute (department_id, message_id, tag_id, position) "
    "SELECT department_id, message_id, id, 0 FROM messages_app_messagetag",
    "INSERT INTO messages_app_messagetagparent (department_id, message_id, tag_id, position) "
    "SELECT department_id, message_id, id, 0 FROM messages_app_messagetag",
    "INSERT INTO messages_app_notificationnotifier (department_id, message_id, position, da_uuid) "
    "SELECT department_id, id, 0, 'da' FROM messages_app_message WHERE id % 7 = 0",
    "INSERT INTO messages_app_notificationattributes (department_id, message_id) "
    "SELECT department_id, id FROM messages_app_message WHERE id % 7 = 0",
    "INSERT INTO messages_app_notificationbutton (department_id, message_id, position) "
    "SELECT department_id, id, 0 FROM messages_app_message WHERE id % 7 = 0",
]


def _with_history(url: str) -> None:
    """Demo history in two departments, with rows in every part table."""
    manage(url, "generate_demo_data", "--messages", "600", "--departments", "2", "--big-conversation", "100")
    with psycopg.connect(url) as conn:
        for statement in PARTS_SQL:
            conn.execute(statement)


def _assert_service_works_after(url: str, before: dict) -> None:
    after = manage(url, "shell", "-c", INGEST_SCRIPT)
    answer = json.loads(after.stdout.strip().splitlines()[-1])
    assert answer["outcomes"] == ["created", "failed"]
    assert answer["errors"] == [[], ["MESSAGE_UUID_CONFLICT"]]
    assert answer["new_id"] > before["max_message_id"]
    assert answer["registered"] is True
    assert answer["registry"] == answer["messages"] == before["counts"]["message"] + 1


def test_a_database_with_data_migrates_across_to_the_partitioned_schema(scratch_database):
    manage(scratch_database, "migrate", "messages_app", "0010", "-v0")
    _with_history(scratch_database)
    before = query(scratch_database, SNAPSHOT_SQL)

    manage(scratch_database, "migrate", "-v0", partitions=16)

    assert query(scratch_database, PARTITIONS_SQL) == 16
    assert query(scratch_database, SNAPSHOT_SQL) == before
    assert all(before["counts"].values())
    _assert_service_works_after(scratch_database, before)


def test_partition_messages_converts_a_database_migrated_plain(scratch_database):
    manage(scratch_database, "migrate", "-v0", partitions=0)
    _with_history(scratch_database)
    before = query(scratch_database, SNAPSHOT_SQL)

    printed = manage(scratch_database, "partition_messages", "--partitions", "4", "--sql", partitions=0)
    assert "PARTITION BY HASH (department_id)" in printed.stdout
    assert query(scratch_database, PARTITIONS_SQL) == 0

    converted = manage(scratch_database, "partition_messages", "--partitions", "4", partitions=0)
    assert "Partitioned 10 tables into 4 partitions each" in converted.stdout
    assert query(scratch_database, PARTITIONS_SQL) == 4
    assert query(scratch_database, SNAPSHOT_SQL) == before
    _assert_service_works_after(scratch_database, before)


def test_partition_messages_refuses_a_database_already_partitioned(scratch_database):
    manage(scratch_database, "migrate", "-v0", partitions=16)

    again = manage(scratch_database, "partition_messages", "--partitions", "8", check=False)

    assert again.returncode == 1
    assert "Already partitioned (16 partitions)" in again.stderr
    assert query(scratch_database, PARTITIONS_SQL) == 16
