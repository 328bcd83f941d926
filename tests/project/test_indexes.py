"""Every index of the message tables serves a query, and every query that needs one has it.

Each index costs every write (README, Performance), so migration 0009 dropped the ones
another index covers or no query uses. These tests prove the rest on PostgreSQL: on a
populated, ANALYZEd message table, EXPLAIN of each query that needs an index (written
as the code writes it) names the index it relies on; and the indexes of each table are
exactly the expected set, so that one added or dropped by accident fails here.

PostgreSQL only: the plans and the index methods (BRIN, GIN) are PostgreSQL's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Model, Q, QuerySet

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
    MessageUuid,
    NotificationAttributes,
    NotificationButton,
    NotificationNotifier,
    VoiceCallAttributes,
)
from tests.builders import by_parent_index, is_postgres

pytestmark = pytest.mark.skipif(not is_postgres(), reason="query plans and index methods are PostgreSQL's")

MESSAGES = 40000
DEPARTMENTS = 10
CUSTOMERS = 400
BATCHES = 80
RARE_PURPOSE = "OPTIN_REJ"

# The indexes each table must have, no more, no fewer (README, Performance, says why each).
EXPECTED_INDEXES: dict[type[Model], set[str]] = {
    Message: {
        "messages_app_message_pkey",
        "message_unique_source_uuid_per_department",
        "message_unique_message_uuid",
        "message_customer_time_idx",
        "message_dept_time_idx",
        "message_time_idx",
        "message_purpose_time_idx",
        "message_corrected_time_idx",
        "message_trashed_time_idx",
        "message_hidden_time_idx",
        "message_created_batch_brin",
        "message_updated_batch_brin",
        "message_corrected_by_idx",
        "message_search_idx",
    },
    DraftAttributes: {"messages_app_draftattributes_pkey", "messages_app_draftattributes_message_id_key"},
    Attachment: {"messages_app_attachment_pkey", "attachment_unique_position"},
    MessageTag: {"messages_app_messagetag_pkey", "message_tag_unique_position", "message_tag_type_idx"},
    MessageTagSecondaryAttribute: {
        "messages_app_messagetagsecondaryattribute_pkey",
        "messages_app_messagetagsecondaryattribute_message_id_6a5b88cb",
        "secondary_attribute_unique_position",
    },
    MessageTagParent: {
        "messages_app_messagetagparent_pkey",
        "messages_app_messagetagparent_message_id_0f1ef002",
        "parent_tag_unique_position",
    },
    NotificationAttributes: {
        "messages_app_notificationattributes_pkey",
        "messages_app_notificationattributes_message_id_key",
    },
    NotificationNotifier: {"messages_app_notificationnotifier_pkey", "notifier_unique_position"},
    NotificationButton: {"messages_app_notificationbutton_pkey", "button_unique_position"},
    VoiceCallAttributes: {"messages_app_voicecallattributes_pkey", "messages_app_voicecallattributes_message_id_key"},
    MessageUuid: {"messages_app_messageuuid_pkey", "message_uuid_registry_unique_message"},
    Customer: {"messages_app_customer_pkey", "customer_unique_per_department"},
    Conversation: {
        "messages_app_conversation_pkey",
        "messages_app_conversation_customer_id_key",
        "conversation_dept_last_idx",
        "conversation_last_idx",
    },
    ImportBatch: {
        "messages_app_importbatch_pkey",
        "batch_dept_created_idx",
        "batch_created_idx",
        "batch_request_digest_idx",
        "messages_app_importbatch_customer_id_46132d85",
        "messages_app_importbatch_client_id_7f43c42b",
        "messages_app_importbatch_user_id_353599a0",
    },
}


def _ids(model: type[Model]) -> list[int]:
    return list(model.objects.order_by("pk").values_list("pk", flat=True))


@pytest.fixture(scope="module")
def populated(django_db_setup, django_db_blocker) -> Iterator[dict[str, Any]]:
    """MESSAGES messages in DEPARTMENTS departments and CUSTOMERS customers, written in
    BATCHES import batches in id order (as the ingest service writes them), with rare
    flags (trashed, hidden, corrected, a rare purpose), two attachments and a tag with a
    secondary attribute and a parent each; then ANALYZE and BRIN summaries, as autovacuum
    would. Removed at the end of the module."""
    with django_db_blocker.unblock():
        user = get_user_model().objects.create_user("index-corrector")
        departments = Department.objects.bulk_create(Department(uuid=f"index-dept-{d}") for d in range(DEPARTMENTS))
        customers = Customer.objects.bulk_create(
            Customer(department=departments[c % DEPARTMENTS], uuid=f"index-customer-{c}") for c in range(CUSTOMERS)
        )
        Conversation.objects.bulk_create(Conversation(department_id=c.department_id, customer=c) for c in customers)
        conversations = {c.customer_id: c.pk for c in Conversation.objects.all()}
        batches = ImportBatch.objects.bulk_create(
            ImportBatch(source="api", department=departments[0]) for _ in range(BATCHES)
        )
        customer_ids = [c.pk for c in customers]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {Message._meta.db_table} (
                    department_id, customer_id, conversation_id, source_uuid, message_uuid, message_at,
                    purpose, is_trashed, show_in_customer_conversation, update_thread_timestamp,
                    update_total_message_count, corrected_at, corrected_by_id, created_batch_id, updated_batch_id,
                    subject, body, source_payload, payload_hash, source_hash, created_at, updated_at,
                    corrected_fields)
                SELECT (%(departments)s::bigint[])[g %% {CUSTOMERS} %% {DEPARTMENTS} + 1],
                       (%(customers)s::bigint[])[g %% {CUSTOMERS} + 1],
                       (%(conversations)s::bigint[])[g %% {CUSTOMERS} + 1],
                       'source-' || g, 'message-' || g,
                       timestamptz '2024-01-01' + ((g * 7919) %% {MESSAGES}) * interval '1 minute',
                       CASE WHEN g %% 97 = 0 THEN '{RARE_PURPOSE}' WHEN g %% 2 = 0 THEN 'F' END,
                       g %% 199 = 0, g %% 151 <> 0, true, true,
                       CASE WHEN g %% 293 = 0 THEN now() END, CASE WHEN g %% 293 = 0 THEN %(user)s END,
                       (%(batches)s::bigint[])[g * {BATCHES} / {MESSAGES} + 1],
                       (%(batches)s::bigint[])[g * {BATCHES} / {MESSAGES} + 1],
                       'subject ' || g, 'body of message ' || g, '{{}}', repeat('0', 64), '', now(), now(), '[]'
                FROM generate_series(0, {MESSAGES - 1}) AS g
                """,  # noqa: S608 (table name from _meta)
                {
                    "departments": [d.pk for d in departments],
                    "customers": customer_ids,
                    "conversations": [conversations[c] for c in customer_ids],
                    "batches": [b.pk for b in batches],
                    "user": user.pk,
                },
            )
            message = Message._meta.db_table
            parts = (Attachment, MessageTag, NotificationNotifier, NotificationButton)
            for model in parts:
                extra = ", 'tag', 'ref', '{}', 'v'" if model is MessageTag else ""
                columns = ", tag_type_uuid, reference_identifier, value, primary_attribute_value" if extra else ""
                if model is NotificationNotifier:
                    columns, extra = ", da_uuid", ", 'da'"
                cursor.execute(
                    f"INSERT INTO {model._meta.db_table} (department_id, message_id, position{columns}) "  # noqa: S608
                    f"SELECT department_id, id, p{extra} FROM {message}, generate_series(0, 1) AS p"
                )
            for model in (MessageTagSecondaryAttribute, MessageTagParent):
                cursor.execute(
                    f"INSERT INTO {model._meta.db_table} (department_id, message_id, tag_id, position) "  # noqa: S608
                    f"SELECT department_id, message_id, id, 0 FROM {MessageTag._meta.db_table}"
                )
            for model in (Message, *parts, MessageTagSecondaryAttribute, MessageTagParent):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
            for name in ("message_created_batch_brin", "message_updated_batch_brin"):
                # A partitioned index is summarised partition by partition.
                cursor.execute(
                    "SELECT brin_summarize_new_values(relid) FROM pg_partition_tree(%s::regclass) WHERE isleaf "
                    "UNION ALL SELECT brin_summarize_new_values(%s::regclass) WHERE "
                    "(SELECT relkind FROM pg_class WHERE oid = %s::regclass) = 'i'",
                    [name, name, name],
                )
        yield {
            "department": departments[3].pk,
            "customer": customer_ids[7],
            "customer_department": customers[7].department_id,
            "batch": batches[BATCHES // 2].pk,
            "user": user.pk,
            "message_ids": list(Message.objects.filter(customer_id=customer_ids[7]).values_list("pk", flat=True)),
            "tag_ids": list(
                MessageTag.objects.filter(message__customer_id=customer_ids[7]).values_list("pk", flat=True)
            ),
        }
        with connection.cursor() as cursor:
            tables = [m._meta.db_table for m in (Department, get_user_model(), ImportBatch)]
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")


def plan(query: QuerySet | tuple[str, list[Any]]) -> str:
    """The text of EXPLAIN of a queryset, or of (sql, params); a partition's index is
    named by the index of the partitioned table it belongs to.

    Sequential scans are priced out: on the partitioned schema one partition holds a
    sixteenth of this module's rows, which a scan reads for less than a hundred index
    probes cost; at production size the index wins, and where no index serves the query
    the plan is still a sequential scan, so a missing index still fails."""
    sql, params = query.query.sql_with_params() if isinstance(query, QuerySet) else query
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        text = "\n".join(row[0] for row in cursor.fetchall())
    return by_parent_index(text)


def newest(queryset: QuerySet[Message]) -> QuerySet[Message]:
    """A list page: newest first, one page (the admin's and the API's order)."""
    return queryset.order_by("-message_at", "-id")[:100]


def delete_sql(model: type[Model], column: str, ids: list[int], department: int) -> tuple[str, list[Any]]:
    """The statement the ingest service replaces a message's parts with (ingest/rows.delete_rows):
    a few messages of a department's many (here ten of its four thousand)."""
    sql = f"DELETE FROM {model._meta.db_table} WHERE department_id = %s AND {column} = ANY(%s::bigint[])"  # noqa: S608
    return sql, [department, ids]


# (what needs the index, the query as the code makes it, the index it must use)
QUERIES: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    (
        "ingest classify by (department, sourceUuid)",
        lambda p: Message.objects.filter(
            Q(source_uuid__any_of=["source-3", "source-13"]) | Q(message_uuid__any_of=["message-5"]),
            department_id=p["department"],
        ),
        "message_unique_source_uuid_per_department",
    ),
    (
        "ingest classify by (department, messageUuid)",
        lambda p: Message.objects.filter(
            Q(source_uuid__any_of=["source-3"]) | Q(message_uuid__any_of=["message-5", "message-6"]),
            department_id=p["department"],
        ),
        "message_unique_message_uuid",
    ),
    (
        "ingest classify: the messageUuids other departments hold (registry)",
        lambda p: MessageUuid.objects.filter(message_uuid__any_of=["message-5", "message-6"]).exclude(
            department_id=p["department"]
        ),
        "messages_app_messageuuid_pkey",
    ),
    (
        "a message by its messageUuid, across departments (registry)",
        lambda p: MessageUuid.objects.filter(message_uuid="message-77"),
        "messages_app_messageuuid_pkey",
    ),
    (
        "a registry row deleted with its message",
        lambda p: MessageUuid.objects.filter(department_id=p["customer_department"], message_id__in=p["message_ids"]),
        "message_uuid_registry_unique_message",
    ),
    (
        "transcript of a customer, newest first",
        lambda p: Message.objects.filter(customer_id=p["customer"]).order_by("-message_at", "-pk")[:50],
        "message_customer_time_idx",
    ),
    (
        "conversation counters (recount by customer)",
        lambda p: Message.objects.filter(customer_id=p["customer"], update_thread_timestamp=True).order_by(
            "-message_at"
        )[:1],
        "message_customer_time_idx",
    ),
    (
        "staff message list of one department",
        lambda p: newest(Message.objects.filter(department_id__in=[p["department"]])),
        "message_dept_time_idx",
    ),
    ("superuser message list", lambda p: newest(Message.objects.all()), "message_time_idx"),
    (
        "purpose filter",
        lambda p: newest(Message.objects.filter(purpose=RARE_PURPOSE)),
        "message_purpose_time_idx",
    ),
    ("trashed filter", lambda p: newest(Message.objects.filter(is_trashed=True)), "message_trashed_time_idx"),
    (
        "hidden filter",
        lambda p: newest(Message.objects.filter(show_in_customer_conversation=False)),
        "message_hidden_time_idx",
    ),
    (
        "corrected filter",
        lambda p: newest(Message.objects.filter(corrected_at__isnull=False)),
        "message_corrected_time_idx",
    ),
    (
        "rollback: messages a batch created",
        lambda p: Message.objects.filter(created_batch_id__in=[p["batch"]]),
        "message_created_batch_brin",
    ),
    (
        "rollback: messages a batch only updated",
        lambda p: Message.objects.filter(updated_batch_id__in=[p["batch"]]).exclude(created_batch_id__in=[p["batch"]]),
        "message_updated_batch_brin",
    ),
    (
        "export --batch and the admin batch links",
        lambda p: Message.objects.filter(Q(created_batch_id=p["batch"]) | Q(updated_batch_id=p["batch"])),
        "message_updated_batch_brin",
    ),
    (
        "identical re-send: the batch that answered these bytes",
        lambda p: ImportBatch.objects.filter(
            department_id=p["department"], request_digest="f" * 64, customer__uuid="index-customer-7"
        ).order_by("-id")[:1],
        "batch_request_digest_idx",
    ),
    (
        "deleting a user (corrected_by set to NULL)",
        lambda p: Message.objects.filter(corrected_by_id__in=[p["user"]]),
        "message_corrected_by_idx",
    ),
    (
        "replacing a message's attachments",
        lambda p: delete_sql(Attachment, "message_id", p["message_ids"][:10], p["customer_department"]),
        "attachment_unique_position",
    ),
    (
        "replacing a message's tags",
        lambda p: delete_sql(MessageTag, "message_id", p["message_ids"][:10], p["customer_department"]),
        "message_tag_unique_position",
    ),
    (
        "replacing a message's secondary attributes",
        lambda p: delete_sql(
            MessageTagSecondaryAttribute, "message_id", p["message_ids"][:10], p["customer_department"]
        ),
        "messages_app_messagetagsecondaryattribute_message_id_6a5b88cb",
    ),
    (
        "replacing a message's notifiers",
        lambda p: delete_sql(NotificationNotifier, "message_id", p["message_ids"][:10], p["customer_department"]),
        "notifier_unique_position",
    ),
    (
        "a tag's secondary attributes (admin, read API)",
        lambda p: MessageTagSecondaryAttribute.objects.filter(
            department_id=p["customer_department"], tag_id__in=p["tag_ids"]
        ),
        "secondary_attribute_unique_position",
    ),
    (
        "a tag's parent tags (admin, read API)",
        lambda p: MessageTagParent.objects.filter(department_id=p["customer_department"], tag_id__in=p["tag_ids"]),
        "parent_tag_unique_position",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("need", "query", "index"), QUERIES, ids=[need for need, _, _ in QUERIES])
def test_query_uses_its_index(populated, need: str, query: Callable[[dict[str, Any]], Any], index: str) -> None:
    explained = plan(query(populated))
    assert f" {index} " in f"{explained.replace(chr(10), ' ')} ", f"{need}: expected {index}:\n{explained}"


def _indexes(model: type[Model]) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [model._meta.db_table])
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
@pytest.mark.parametrize("model", list(EXPECTED_INDEXES), ids=[m.__name__ for m in EXPECTED_INDEXES])
def test_table_has_exactly_the_expected_indexes(model: type[Model]) -> None:
    assert _indexes(model) == EXPECTED_INDEXES[model]


@pytest.mark.django_db
def test_batch_indexes_are_brin_and_the_message_uuid_has_no_like_index() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [Message._meta.db_table])
        definitions = dict(cursor.fetchall())
    assert "USING brin (created_batch_id)" in definitions["message_created_batch_brin"]
    assert "USING brin (updated_batch_id)" in definitions["message_updated_batch_brin"]
    assert "WHERE (corrected_by_id IS NOT NULL)" in definitions["message_corrected_by_idx"]
    assert not [d for d in definitions.values() if "varchar_pattern_ops" in d]
