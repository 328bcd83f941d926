"""Every hot path reads and writes one partition of each message table it touches.

On PostgreSQL the message table and its nine part tables are hash-partitioned by
department (models/partitioning.py). Each test runs one hot path against data of
three departments, captures its statements with their parameters as the app binds them,
and EXPLAINs each: a plan that names a partitioned table must read exactly one of its
partitions (``<table>_pNN``). Statements that touch none of the ten tables are ignored,
and so are COPYs (rows go to their partition by routing; they are not EXPLAINable).

Left out because they cannot prune by nature: a superuser's lists and lookups across
all departments (16 partitions: a MergeAppend of every partition's time index), and a
change form opened by a superuser (the URL names the message id only).
"""

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from messages_app.conversations import lock_conversation, recount_conversations
from messages_app.ingest.results import Outcome
from messages_app.ingest.service import ingest_messages
from messages_app.models import Conversation, Department, ImportBatch, Message
from messages_app.models.partitioning import PARTITIONED_TABLES, partition_counts
from messages_app.rollback import rollback_batches
from messages_app.transfer.common import select_messages
from messages_app.transfer.exporting import export_documents
from tests.admin.support import change_url, changelist, client_for, form_data, staff_user, transcript_url
from tests.builders import CUSTOMER_UUID, full_message, is_postgres, url, with_attrs

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(
        not is_postgres() or not settings.MESSAGE_PARTITIONS,
        reason="the message tables are partitioned on PostgreSQL only (MESSAGE_PARTITIONS > 0)",
    ),
]

PARTITION = re.compile(r"^(?P<table>messages_app_\w+)_p\d\d$")
EXPLAINABLE = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
OTHER_CUSTOMER = "other-customer"


@contextmanager
def statements() -> Iterator[list[tuple[str, Any]]]:
    """The (sql, params) of every statement run inside, as Django binds them."""
    captured: list[tuple[str, Any]] = []

    def capture(execute, sql, params, many, context):
        if not many:
            captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        yield captured


def relations(plan: dict[str, Any]) -> Iterator[str]:
    """Every relation a plan node and its children read or write."""
    if "Relation Name" in plan:
        yield plan["Relation Name"]
    for target in plan.get("Target Tables", []):
        yield target["Relation Name"]
    for child in plan.get("Plans", []):
        yield from relations(child)


def partitions_read(sql: str, params: Any) -> dict[str, set[str]]:
    """The partitions of each partitioned table the statement's plan touches."""
    with connection.cursor() as cursor:
        if params is None:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        else:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        (plan,) = cursor.fetchone()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found: dict[str, set[str]] = {}
    for name in relations(plan[0]["Plan"]):
        match = PARTITION.match(name)
        if match and match["table"] in PARTITIONED_TABLES:
            found.setdefault(match["table"], set()).add(name)
        elif name in PARTITIONED_TABLES:
            found.setdefault(name, set())
    return found


def assert_one_partition_each(captured: list[tuple[str, Any]], *expected_tables: str) -> None:
    """Each statement on a partitioned table reads one of its partitions; together they
    touch at least ``expected_tables`` (so that the test checks what it names)."""
    touched: set[str] = set()
    unpruned = []
    for sql, params in captured:
        if not sql.lstrip().upper().startswith(EXPLAINABLE):
            continue
        for table, partitions in partitions_read(sql, params).items():
            touched.add(table)
            if len(partitions) != 1:
                unpruned.append((table, sorted(partitions), sql))
    assert not unpruned, "\n\n".join(f"{table}: {len(parts)} partitions\n{sql}" for table, parts, sql in unpruned)
    missing = {f"messages_app_{name}" for name in expected_tables} - touched
    assert not missing, f"not touched: {sorted(missing)}"


ALL_PARTS = (
    "draftattributes",
    "attachment",
    "messagetag",
    "messagetagsecondaryattribute",
    "messagetagparent",
    "notificationattributes",
    "notificationnotifier",
    "notificationbutton",
    "voicecallattributes",
)


def store(department: Department, customer_uuid: str, numbers: range, **overrides: Any):
    result = ingest_messages(
        department=department,
        customer_uuid=customer_uuid,
        items=[full_message(n, messageUuid=f"{department.uuid}-mu-{n}", **overrides) for n in numbers],
    )
    assert result.failed_count == 0, result.as_response()
    return result


@pytest.fixture
def departments(department) -> list[Department]:
    """The API client's department and two others, each with two customers of full messages."""
    others = [Department.objects.create(uuid=f"other-department-{n}", name=f"Other {n}") for n in range(2)]
    for n, each in enumerate([department, *others]):
        store(each, CUSTOMER_UUID, range(n * 100, n * 100 + 4))
        store(each, OTHER_CUSTOMER, range(n * 100 + 50, n * 100 + 53))
    with connection.cursor() as cursor:
        for table in PARTITIONED_TABLES:
            cursor.execute(f"ANALYZE {table}")
    return [department, *others]


def test_the_message_tables_are_partitioned(db):
    with connection.cursor() as cursor:
        assert set(partition_counts(cursor)) == set(PARTITIONED_TABLES)


def test_ingest_classify_of_new_items_with_supplied_message_uuids(departments):
    department = departments[1]
    items = [full_message(n, messageUuid=f"new-mu-{n}") for n in range(500, 503)]

    with statements() as captured:
        result = ingest_messages(department=department, customer_uuid="new-customer", items=items)

    assert result.count(Outcome.CREATED) == 3
    assert_one_partition_each(captured, "message")


def test_ingest_update_path_deletes_parts_in_one_partition(departments):
    department = departments[1]
    edited = [
        with_attrs(full_message(n, messageUuid=f"{department.uuid}-mu-{n}"), body="edited") for n in range(100, 104)
    ]

    with statements() as captured:
        result = ingest_messages(department=department, customer_uuid=CUSTOMER_UUID, items=edited)

    assert result.count(Outcome.UPDATED) == 4
    assert_one_partition_each(captured, "message", *ALL_PARTS)


def test_identical_resend_path(departments, put):
    body = json.dumps({"saveMessageRequestList": [full_message(n, messageUuid=f"resend-{n}") for n in range(900, 903)]})
    assert put(body).status_code == 200

    with statements() as captured:
        response = put(body)

    assert response.status_code == 200
    assert [entry["errors"] for entry in response.json()["saveMessageResponse"]] == [[], [], []]
    assert not [sql for sql, _params in captured if sql.startswith(("DELETE", 'UPDATE "messages_app_message"'))]
    assert_one_partition_each(captured, "message")


def test_lock_and_recount(departments):
    department = departments[2]

    with statements() as captured:
        _customer, conversation = lock_conversation(department, CUSTOMER_UUID)
        recount_conversations(Conversation.objects.filter(pk=conversation.pk), department_id=department.pk)

    conversation.refresh_from_db()
    assert conversation.total_message_count == 4
    assert_one_partition_each(captured, "message")


def test_read_api_list_and_retrieve_of_one_customer(departments, api):
    department = departments[0]
    message_uuid = f"{department.uuid}-mu-1"

    with statements() as captured:
        listed = api.get(url())
        retrieved = api.get(f"{url()}/{message_uuid}")

    assert listed.status_code == 200
    assert len(listed.json()["results"]) == 4
    assert retrieved.status_code == 200
    assert retrieved.json()["voiceCallAttributes"]["callIdentifier"] == "call-1"
    assert_one_partition_each(captured, "message", *ALL_PARTS)


def test_export_of_one_department(departments):
    department = departments[1]

    with statements() as captured:
        documents = list(export_documents(select_messages(department_uuid=department.uuid), chunk_size=3))

    assert sum(len(document["saveMessageRequestList"]) for document in documents) == 7
    assert {document["departmentUUID"] for document in documents} == {department.uuid}
    assert_one_partition_each(captured, "message", *ALL_PARTS)


def test_export_of_one_customer(departments):
    department = departments[2]

    with statements() as captured:
        by_department = list(
            export_documents(select_messages(department_uuid=department.uuid, customer_uuid=OTHER_CUSTOMER))
        )
    assert_one_partition_each(captured, "message", *ALL_PARTS)

    assert [len(document["saveMessageRequestList"]) for document in by_department] == [3]
    calls = {item["voiceCallAttributes"]["callIdentifier"] for item in by_department[0]["saveMessageRequestList"]}
    assert calls == {"call-250", "call-251", "call-252"}


def test_admin_lists_searches_and_transcript_of_one_department(departments):
    department = departments[1]
    client = client_for(staff_user("dana", department))
    conversation = Conversation.objects.get(department=department, customer__uuid=CUSTOMER_UUID)
    focus = Message.objects.filter(department=department, customer=conversation.customer_id).first()

    with statements() as captured:
        pages = [
            client.get(changelist("message")),
            client.get(changelist("message"), {"q": f"{department.uuid}-mu-102"}),
            client.get(changelist("message"), {"q": "src-000101"}),
            client.get(changelist("message"), {"q": CUSTOMER_UUID}),
            client.get(changelist("message"), {"q": "vehicle ready"}),
            client.get(changelist("conversation"), {"q": "vehicle ready"}),
            client.get(transcript_url(conversation)),
            client.get(transcript_url(conversation), {"message": focus.pk}),
        ]

    assert [page.status_code for page in pages] == [200] * 8
    assert [len(page.context["cl"].result_list) for page in pages[:6]] == [7, 1, 1, 4, 7, 2]
    assert_one_partition_each(captured, "message", "attachment", "draftattributes", "voicecallattributes")


def test_corrections_through_the_admin_change_form(departments):
    department = departments[1]
    client = client_for(staff_user("erin", department))
    message = Message.objects.get(department=department, source_uuid="src-000101")
    opened = client.get(change_url("message", message.pk))
    data = form_data(opened, "message_form")
    data["body"] = "Corrected body"
    data["sent_on"] = "2023-12-31 08:00:00.000000"
    data["attachments-0-original_file_name"] = "signed.pdf"
    data["draft_attributes-0-draft_status"] = "SENT"
    data["message_tags-1-DELETE"] = "on"

    with statements() as captured:
        response = client.post(change_url("message", message.pk), data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    message.refresh_from_db()
    assert message.body == "Corrected body"
    assert message.corrected_fields == [
        "attachments.original_file_name",
        "body",
        "draft_attributes.draft_status",
        "message_tags",
        "sent_on",
    ]
    assert message.message_tags.count() == 1
    assert_one_partition_each(captured, "message", "attachment", "draftattributes", "messagetag")


def test_rollback_of_a_batch(departments):
    department = departments[2]
    batch = ImportBatch.objects.filter(department=department).order_by("pk").first()

    with statements() as captured:
        result = rollback_batches([batch])

    assert result.deleted == 4
    assert Message.objects.filter(department=department).count() == 3
    assert Message.objects.count() == 3 * 7 - 4
    assert_one_partition_each(captured, "message", *ALL_PARTS)
