"""The message tables hash-partitioned by department, and the registry of messageUuids.

On PostgreSQL the test database is migrated as production is (MESSAGE_PARTITIONS, 16 by
default): these tests read the catalog to prove the rules a partitioned (or Citus) schema
imposes. The registry is kept by triggers on both databases.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from messages_app.ingest.service import ingest_messages
from messages_app.models import Department, Message, MessageUuid
from messages_app.models.partitioning import PARTITIONED_TABLES, partition_counts
from tests.builders import full_message, is_postgres

partitioned = pytest.mark.skipif(
    not is_postgres() or not settings.MESSAGE_PARTITIONS, reason="partitioned on PostgreSQL (MESSAGE_PARTITIONS > 0)"
)


def _catalog(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


@partitioned
@pytest.mark.django_db
def test_the_message_table_and_every_part_table_are_hash_partitioned_by_department():
    keys = dict(
        _catalog(
            "SELECT c.relname, pg_get_partkeydef(c.oid) FROM pg_class c "
            "JOIN pg_partitioned_table p ON p.partrelid = c.oid WHERE c.relname = ANY(%s)",
            [list(PARTITIONED_TABLES)],
        )
    )
    with connection.cursor() as cursor:
        counts = partition_counts(cursor)

    assert keys == dict.fromkeys(PARTITIONED_TABLES, "HASH (department_id)")
    assert counts == dict.fromkeys(PARTITIONED_TABLES, settings.MESSAGE_PARTITIONS)


@partitioned
@pytest.mark.django_db
def test_departments_clients_users_and_the_registry_stay_unpartitioned():
    kinds = dict(
        _catalog(
            "SELECT relname, relkind FROM pg_class WHERE relname = ANY(%s)",
            [["messages_app_department", "messages_app_apiclient", "auth_user", "messages_app_messageuuid"]],
        )
    )

    assert kinds == dict.fromkeys(kinds, "r") and len(kinds) == 4


@partitioned
@pytest.mark.django_db
def test_every_primary_key_and_unique_constraint_of_the_partitioned_tables_includes_the_department():
    keys = _catalog(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY(%s)",
        [list(PARTITIONED_TABLES)],
    )

    assert len(keys) >= 2 * len(PARTITIONED_TABLES)
    assert [key for key in keys if "(department_id, " not in key[2]] == []
    assert {table for table, _, definition in keys if definition.startswith("PRIMARY KEY (department_id, id)")} == set(
        PARTITIONED_TABLES
    )


@partitioned
@pytest.mark.django_db
def test_keys_between_partitioned_tables_are_composite_and_join_matching_partitions():
    keys = _catalog(
        "SELECT conrelid::regclass::text, confrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND confrelid IN (SELECT inhrelid FROM pg_inherits "
        "WHERE inhparent = ANY(%s::regclass[])) AND conparentid = 0",
        [list(PARTITIONED_TABLES)],
    )
    partitions = settings.MESSAGE_PARTITIONS
    # message_id of the nine parts, tag_id of secondary attributes and parent tags.
    assert len(keys) == 11 * partitions
    for child, parent, definition in keys:
        assert child[-4:] == parent[-4:], (child, parent)
        assert definition.startswith("FOREIGN KEY (department_id, ") and "(department_id, id)" in definition
    # None is declared on a partitioned parent: a check against one costs five times more.
    assert (
        _catalog(
            "SELECT conname FROM pg_constraint WHERE contype = 'f' AND confrelid = ANY(%s::regclass[])",
            [list(PARTITIONED_TABLES)],
        )
        == []
    )


@partitioned
@pytest.mark.django_db(transaction=True)
def test_a_part_whose_message_is_not_in_its_department_is_refused():
    departments = Department.objects.bulk_create([Department(uuid="keys-a"), Department(uuid="keys-b")])
    ingest_messages(department=departments[0], customer_uuid="keys-customer", items=[full_message(1)])
    message = Message.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "INSERT INTO messages_app_attachment (department_id, message_id, position) VALUES (%s, %s, 9)",
            [departments[1].pk, message.pk],
        )


@pytest.mark.django_db
def test_the_registry_holds_the_messageuuid_of_every_stored_message():
    department = Department.objects.create(uuid="registry-dept")
    ingest_messages(
        department=department,
        customer_uuid="registry-customer",
        items=[full_message(1), full_message(2, messageUuid="registry-supplied-uuid")],
    )

    stored = set(Message.objects.values_list("message_uuid", "department_id", "pk"))
    registered = set(MessageUuid.objects.values_list("message_uuid", "department_id", "message_id"))
    assert registered == stored and len(stored) == 2


@pytest.mark.django_db
def test_a_registry_row_goes_with_its_message():
    department = Department.objects.create(uuid="registry-dept")
    ingest_messages(department=department, customer_uuid="registry-customer", items=[full_message(1)])

    Message.objects.filter(department=department).delete()

    assert not MessageUuid.objects.exists()


@pytest.mark.django_db
def test_an_updated_message_keeps_its_one_registry_row():
    department = Department.objects.create(uuid="registry-dept")
    ingest_messages(department=department, customer_uuid="registry-customer", items=[full_message(1)])
    changed = full_message(1)
    changed["messageAttributes"]["body"] = "changed"

    ingest_messages(department=department, customer_uuid="registry-customer", items=[changed])

    message = Message.objects.get()
    assert message.body == "changed"
    assert list(MessageUuid.objects.values_list("message_uuid", "message_id")) == [(message.message_uuid, message.pk)]


@pytest.mark.django_db
def test_the_database_refuses_a_messageuuid_another_department_holds():
    """Below the ingest service (which answers MESSAGE_UUID_CONFLICT first): the registry's
    primary key, whatever writes the row."""
    first, second = Department.objects.bulk_create([Department(uuid="registry-a"), Department(uuid="registry-b")])
    ingest_messages(department=first, customer_uuid="c", items=[full_message(1, messageUuid="shared-uuid")])
    original = Message.objects.get()
    customer = second.customers.create(uuid="c")
    conversation = customer.department.conversations.create(customer=customer)

    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(
            department=second,
            customer=customer,
            conversation=conversation,
            source_uuid="another-source",
            message_uuid=original.message_uuid,
            message_at=original.message_at,
            source_payload={},
            payload_hash="0" * 64,
        )
    assert MessageUuid.objects.get().department_id == first.pk


@pytest.mark.skipif(not is_postgres(), reason="TRUNCATE is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_truncating_the_message_table_empties_the_registry_and_the_messages_import_again():
    department = Department.objects.create(uuid="registry-dept")
    items = [full_message(1, messageUuid="kept-uuid")]
    ingest_messages(department=department, customer_uuid="registry-customer", items=items)

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Message._meta.db_table} CASCADE")
    again = ingest_messages(department=department, customer_uuid="registry-customer", items=items)

    assert again.failed_count == 0
    assert list(MessageUuid.objects.values_list("message_uuid", flat=True)) == ["kept-uuid"]
