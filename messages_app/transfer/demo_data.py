"""Generated history: a large, realistic data set, fast, for demos and load checks
(``generate_demo_data --messages N``).

Messages are generated in Python in big chunks and written in bulk: PostgreSQL gets them
through ``COPY`` (ids reserved from the table's sequence first, so parts can point at
their message), other databases through ``bulk_create``. Nothing goes through the ingest
service: validating a million generated items would take minutes and prove nothing.
Each generated message still carries a valid wire item as its ``source_payload`` (so
"Revert to imported state" works on it) whose columns and parts match the rows; its
``payload_hash`` is not the canonical one, so an API re-send of it counts as an update.

The first customer of the first department gets one long conversation (``--big-conversation``,
20,000 messages by default) to check that a transcript of that size opens quickly; the
rest are spread over customers of ``--per-customer`` messages, across ``--departments``.

One module of some 500 lines on purpose: ``generate_item`` (Python, any database) and
``_POSTGRES_INSERT`` (SQL, PostgreSQL) build the same rows and must change together.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Model
from django.utils import timezone

from ..conversations import recount_conversations
from ..enums import ImportSource
from ..models import (
    Attachment,
    Conversation,
    Customer,
    Department,
    DraftAttributes,
    ImportBatch,
    Message,
    VoiceCallAttributes,
)

START = datetime(2021, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)
TYPES = (
    "INCOMING",
    "OUTGOING",
    "OUTGOING",
    "INCOMING",
    "NOTE",
    "OUTGOING",
    "INCOMING",
    "DRAFT",
    "OUTGOING",
    "INCOMING",
)
PROTOCOLS = ("TEXT", "TEXT", "EMAIL", "TEXT", "VOICE_CALL", "TEXT", "EMAIL")
PURPOSES = (
    "F",
    "A",
    "S",
    "R",
    "PR",
    "AUTORESPOND",
    "FOLLOWUP",
    "RECALL",
    "INCOMING_MESSAGE",
    "MPI_NOTIF",
    "FinInviteM",
)
BODIES = (
    "Hi, is my car ready for pick-up?",
    "Your vehicle is ready. We are open until 6 pm.",
    "We found worn brake pads; replacing them costs $240. Shall we go ahead?",
    "Yes please, go ahead.",
    "Customer prefers texts after 5 pm.",
    "Reminder: your service appointment is tomorrow at 9:00.",
    "Thanks! See you then.",
    "Draft: follow up about the extended warranty offer.",
    "Here is the invoice for today's visit.",
    "Can I move my appointment to Friday?",
)
TRASH_EVERY = 499
HIDDEN_EVERY = 397
ATTACHMENT_EVERY = 25
# Every so often an incoming message was received a second before it was sent: the
# customer's phone clock ran ahead, as it does in real history. ``message_at`` is then sentOn.
CLOCK_SKEW_EVERY = 50
CALLING_PARTY = "+15550100"
OTHER_PARTY = "+15550199"
CALL_STATUS = 2
CALL_TRANSCRIPT = "Customer asked about the pick-up time."
# Generated rows do not carry the canonical hash of their item (see the module docstring).
PAYLOAD_HASH = "0" * 64


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Plan:
    """Where message ``i`` of a run goes: its time, department, customer and batch."""

    tag: str
    total: int
    big: int
    per_customer: int
    step_ms: int
    department_ids: list[int]
    batch_ids: list[int]
    customer_ids: list[int]
    conversation_ids: list[int]

    def customer_index(self, i: int) -> int:
        return 0 if i < self.big else 1 + (i - self.big) // self.per_customer

    def moment(self, i: int) -> datetime:
        return START + timedelta(milliseconds=self.step_ms * i)


def generate_item(i: int, tag: str, moment: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """Wire item ``i`` of a run and the Message columns the ingest service would store for it.

    ``_POSTGRES_INSERT`` builds exactly the same rows in SQL; a test checks both against the
    ingest service by reverting generated messages.
    """
    kind = TYPES[i % len(TYPES)]
    protocol = "NONE" if kind == "NOTE" else PROTOCOLS[i % len(PROTOCOLS)]
    purpose = PURPOSES[(i * 7) % len(PURPOSES)]
    body = f"{BODIES[i % len(BODIES)]} (#{i})"
    subject = f"Service visit {i // 10}" if protocol == "EMAIL" else None
    trashed = i % TRASH_EVERY == TRASH_EVERY - 1
    shown = i % HIDDEN_EVERY != HIDDEN_EVERY - 1
    sent = moment
    received = None
    if kind == "INCOMING":
        skewed = i % CLOCK_SKEW_EVERY == 0
        received = moment - timedelta(seconds=1) if skewed else moment + timedelta(seconds=2)
    attributes: dict[str, Any] = {"body": body, "type": kind, "protocol": protocol, "purpose": purpose}
    if subject:
        attributes["subject"] = subject
    if trashed:
        attributes["tags"] = ["TRASH"]
    if not shown:
        attributes["showInCustomerConversation"] = False
    if kind == "DRAFT":
        attributes["draftAttributes"] = {"draftStatus": "DRAFTED"}
    if i % ATTACHMENT_EVERY == 0:
        attributes["attachments"] = [
            {
                "fileURL": f"https://files.example.com/{tag}/{i}.pdf",
                "mimeType": "application/pdf",
                "originalFileName": f"invoice-{i}.pdf",
            }
        ]
    item: dict[str, Any] = {"sourceUuid": f"gen-{tag}-{i}", "sentOn": _iso(sent)}
    if received:
        item["receivedOn"] = _iso(received)
    item["messageAttributes"] = attributes
    if protocol == "VOICE_CALL":
        item["voiceCallAttributes"] = {
            "callingParty": CALLING_PARTY,
            "party2": OTHER_PARTY,
            "callStatus": CALL_STATUS,
            "callIdentifier": f"call-{tag}-{i}",
            "transcribeText": CALL_TRANSCRIPT,
        }
    columns = {
        "source_uuid": item["sourceUuid"],
        "message_uuid": f"gen-{tag}-m{i}",
        "sent_on": sent,
        "received_on": received,
        "body": body,
        "type": kind,
        "protocol": protocol,
        "purpose": purpose,
        "is_manual": None,
        "subject": subject,
        "tags": ["TRASH"] if trashed else None,
        "update_thread_timestamp": True,
        "update_total_message_count": True,
        "show_in_customer_conversation": shown,
        "source_payload": item,
        "payload_hash": PAYLOAD_HASH,
    }
    columns.update(Message.derived_columns(sent_on=sent, received_on=received, tags=columns["tags"]))
    return item, columns


def write_generic(plan: Plan, start: int, stop: int) -> None:
    """Any database: rows built in Python, ids assigned after the current maximum (the
    transaction holds the write lock on SQLite), one ``executemany`` per table."""
    now = timezone.now()
    top = Message.objects.aggregate(top=Max("id"))["top"] or 0
    messages, attachments, drafts, voices = [], [], [], []
    for offset, i in enumerate(range(start, stop)):
        pk = top + 1 + offset
        item, columns = generate_item(i, plan.tag, plan.moment(i))
        k = plan.customer_index(i)
        d = k % len(plan.department_ids)
        row = {
            **columns,
            "id": pk,
            "department_id": plan.department_ids[d],
            "customer_id": plan.customer_ids[k],
            "conversation_id": plan.conversation_ids[k],
            "created_batch_id": plan.batch_ids[d],
            "updated_batch_id": plan.batch_ids[d],
            "created_at": now,
            "updated_at": now,
            "corrected_fields": [],
        }
        messages.append(row)
        attributes = item["messageAttributes"]
        base = {"department_id": row["department_id"], "message_id": pk}
        for position, attachment in enumerate(attributes.get("attachments", ())):
            attachments.append(
                {
                    **base,
                    "position": position,
                    "file_url": attachment["fileURL"],
                    "mime_type": attachment["mimeType"],
                    "original_file_name": attachment["originalFileName"],
                }
            )
        if "draftAttributes" in attributes:
            drafts.append({**base, "draft_status": attributes["draftAttributes"]["draftStatus"]})
        voice = item.get("voiceCallAttributes")
        if voice:
            voices.append(
                {
                    **base,
                    "calling_party": voice["callingParty"],
                    "party2": voice["party2"],
                    "call_status": voice["callStatus"],
                    "call_identifier": voice["callIdentifier"],
                    "transcribe_text": voice["transcribeText"],
                }
            )
    for model, rows in (
        (Message, messages),
        (Attachment, attachments),
        (DraftAttributes, drafts),
        (VoiceCallAttributes, voices),
    ):
        _insert_many(model, rows)


def model_defaults(model: type[Model], written: Iterable[str]) -> dict[str, Any]:
    """Columns of ``model`` this generator does not write (added by a later migration): their
    defaults, ready for the database, so a new NOT NULL column never breaks generation."""
    written = set(written)
    return {
        field.column: field.get_db_prep_save(field.get_default(), connection)
        for field in model._meta.concrete_fields
        if field.column not in written and not field.primary_key and field.has_default()
    }


def _insert_many(model: type[Model], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    fields = [model._meta.get_field(name.removesuffix("_id")) for name in rows[0]]
    defaults = model_defaults(model, [field.column for field in fields])
    fields += [field for field in model._meta.concrete_fields if field.column in defaults]
    rows = [{**row, **{field.attname: field.get_default() for field in fields[len(row) :]}} for row in rows]
    columns = [field.column for field in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    # Table and column names come from the model's metadata, quoted; values are parameters.
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [
                [field.get_db_prep_save(row[name], connection) for field, name in zip(fields, row, strict=True)]
                for row in rows
            ],
        )


# The same rows as ``generate_item``, built by PostgreSQL itself: a million messages need no
# round trips and no Python per row. Parts are inserted from the payloads of the new rows.
_POSTGRES_INSERT = """
WITH g AS (
    SELECT i,
           (%(types)s::text[])[i %% %(n_types)s + 1] AS kind,
           CASE WHEN (%(types)s::text[])[i %% %(n_types)s + 1] = 'NOTE' THEN 'NONE'
                ELSE (%(protocols)s::text[])[i %% %(n_protocols)s + 1] END AS protocol,
           (%(purposes)s::text[])[(i * 7) %% %(n_purposes)s + 1] AS purpose,
           (%(bodies)s::text[])[i %% %(n_bodies)s + 1] || ' (#' || i || ')' AS body,
           i %% %(trash_every)s = %(trash_every)s - 1 AS trashed,
           i %% %(hidden_every)s <> %(hidden_every)s - 1 AS shown,
           %(start)s::timestamptz + make_interval(secs => i::double precision * %(step_ms)s / 1000) AS sent,
           CASE WHEN i < %(big)s THEN 0 ELSE 1 + (i - %(big)s) / %(per_customer)s END AS k
    FROM generate_series(%(first)s, %(last)s) AS i
), r AS (
    SELECT g.*,
           CASE WHEN protocol = 'EMAIL' THEN 'Service visit ' || (i / 10) END AS subject,
           CASE WHEN kind = 'INCOMING' THEN
                CASE WHEN i %% %(clock_skew_every)s = 0 THEN sent - interval '1 second'
                     ELSE sent + interval '2 seconds' END
           END AS received,
           k %% %(n_departments)s + 1 AS d
    FROM g
), inserted AS (
    INSERT INTO messages_app_message (
        department_id, customer_id, conversation_id, source_uuid, message_uuid, sent_on, received_on,
        message_at, body, type, protocol, purpose, subject, tags, is_trashed, update_thread_timestamp,
        update_total_message_count, show_in_customer_conversation, source_payload, payload_hash,
        created_batch_id, updated_batch_id, created_at, updated_at, corrected_fields{extra_columns}
    )
    SELECT (%(departments)s::bigint[])[d], (%(customers)s::bigint[])[k + 1], (%(conversations)s::bigint[])[k + 1],
           'gen-' || %(tag)s || '-' || i, 'gen-' || %(tag)s || '-m' || i, sent, received,
           greatest(sent, received), body, kind, protocol, purpose, subject,
           CASE WHEN trashed THEN '["TRASH"]'::jsonb END, trashed, true, true, shown,
           jsonb_strip_nulls(jsonb_build_object(
               'sourceUuid', 'gen-' || %(tag)s || '-' || i,
               'sentOn', to_char(sent AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'receivedOn', to_char(received AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'messageAttributes', jsonb_build_object(
                   'body', body, 'type', kind, 'protocol', protocol, 'purpose', purpose, 'subject', subject,
                   'tags', CASE WHEN trashed THEN '["TRASH"]'::jsonb END,
                   'showInCustomerConversation', CASE WHEN NOT shown THEN false END,
                   'draftAttributes', CASE WHEN kind = 'DRAFT' THEN '{"draftStatus": "DRAFTED"}'::jsonb END,
                   'attachments', CASE WHEN i %% %(attachment_every)s = 0 THEN jsonb_build_array(jsonb_build_object(
                       'fileURL', 'https://files.example.com/' || %(tag)s || '/' || i || '.pdf',
                       'mimeType', 'application/pdf',
                       'originalFileName', 'invoice-' || i || '.pdf')) END),
               'voiceCallAttributes', CASE WHEN protocol = 'VOICE_CALL' THEN jsonb_build_object(
                   'callingParty', %(calling_party)s::text, 'party2', %(other_party)s::text,
                   'callStatus', %(call_status)s::bigint, 'callIdentifier', 'call-' || %(tag)s || '-' || i,
                   'transcribeText', %(call_transcript)s::text) END)),
           %(payload_hash)s, (%(batches)s::bigint[])[d], (%(batches)s::bigint[])[d], now(), now(), '[]'::jsonb
           {extra_values}
    FROM r
    RETURNING id, department_id, source_payload
), attachments AS (
    INSERT INTO messages_app_attachment (department_id, message_id, position, file_url, mime_type, original_file_name)
    SELECT m.department_id, m.id, a.ord - 1,
           a.value ->> 'fileURL', a.value ->> 'mimeType', a.value ->> 'originalFileName'
    FROM inserted m
    CROSS JOIN LATERAL jsonb_array_elements(m.source_payload -> 'messageAttributes' -> 'attachments')
         WITH ORDINALITY AS a(value, ord)
    WHERE m.source_payload -> 'messageAttributes' ? 'attachments'
    RETURNING 1
), drafts AS (
    INSERT INTO messages_app_draftattributes (department_id, message_id, draft_status)
    SELECT department_id, id, source_payload -> 'messageAttributes' -> 'draftAttributes' ->> 'draftStatus'
    FROM inserted WHERE source_payload -> 'messageAttributes' ? 'draftAttributes'
    RETURNING 1
)
INSERT INTO messages_app_voicecallattributes (
    department_id, message_id, calling_party, party2, call_status, call_identifier, transcribe_text
)
SELECT department_id, id, v ->> 'callingParty', v ->> 'party2', (v ->> 'callStatus')::bigint, v ->> 'callIdentifier',
       v ->> 'transcribeText'
FROM (SELECT department_id, id, source_payload -> 'voiceCallAttributes' AS v FROM inserted) AS calls
WHERE v IS NOT NULL
"""


def write_postgres(plan: Plan, start: int, stop: int) -> None:
    """PostgreSQL: one INSERT ... SELECT generate_series statement per chunk, parts included."""
    params = {
        "types": list(TYPES),
        "n_types": len(TYPES),
        "protocols": list(PROTOCOLS),
        "n_protocols": len(PROTOCOLS),
        "purposes": list(PURPOSES),
        "n_purposes": len(PURPOSES),
        "bodies": list(BODIES),
        "n_bodies": len(BODIES),
        "trash_every": TRASH_EVERY,
        "hidden_every": HIDDEN_EVERY,
        "attachment_every": ATTACHMENT_EVERY,
        "clock_skew_every": CLOCK_SKEW_EVERY,
        "start": START,
        "step_ms": plan.step_ms,
        "big": plan.big,
        "per_customer": plan.per_customer,
        "first": start,
        "last": stop - 1,
        "n_departments": len(plan.department_ids),
        "departments": plan.department_ids,
        "batches": plan.batch_ids,
        "customers": plan.customer_ids,
        "conversations": plan.conversation_ids,
        "tag": plan.tag,
        "calling_party": CALLING_PARTY,
        "other_party": OTHER_PARTY,
        "call_status": CALL_STATUS,
        "call_transcript": CALL_TRANSCRIPT,
        "payload_hash": PAYLOAD_HASH,
    }
    written = re.search(r"INSERT INTO messages_app_message \(([^)]*)", _POSTGRES_INSERT).group(1)
    extra = model_defaults(Message, (name.strip() for name in written.replace("{extra_columns}", "").split(",")))
    params.update({f"extra_{n}": value for n, value in enumerate(extra.values())})
    sql = _POSTGRES_INSERT.replace(
        "{extra_columns}", "".join(f", {connection.ops.quote_name(column)}" for column in extra)
    ).replace("{extra_values}", "".join(f", %(extra_{n})s" for n in range(len(extra))))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _analyze() -> None:
    """Fresh planner statistics on PostgreSQL. Before the recount: without them the planner
    takes a freshly loaded table for a small one and walks the whole time index once per
    conversation. After it: the admin's page counts come from them (pg_class.reltuples)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


@dataclass(frozen=True)
class GeneratedRun:
    """What ``generate`` made."""

    tag: str
    messages: int
    customers: int
    departments: int
    seconds: float


def generate(
    *,
    messages: int,
    department: str = "generated-department",
    departments: int = 1,
    per_customer: int = 20,
    big_conversation: int = 20_000,
    chunk: int = 100_000,
    progress: Callable[[str], None] = lambda line: None,
) -> GeneratedRun:
    """Generate ``messages`` messages with their customers, conversations and batches.

    The first customer of the first department gets ``big_conversation`` messages (a
    transcript of that size must open quickly); the rest are spread over customers of
    ``per_customer`` messages, across ``departments`` departments named after ``department``.
    Each chunk is written in its own transaction; ``progress`` hears after each one.
    """
    if min(messages, departments, per_customer, chunk) < 1:
        raise ValueError("--messages, --departments, --per-customer and --chunk must be positive.")
    started = time.monotonic()
    tag = secrets.token_hex(4)
    big = max(0, min(big_conversation, messages))
    customer_count = 1 + math.ceil((messages - big) / per_customer)
    department_rows, batch_ids = _departments(department, departments, messages)
    customer_ids, conversation_ids = _customers(department_rows, customer_count, tag)
    plan = Plan(
        tag=tag,
        total=messages,
        big=big,
        per_customer=per_customer,
        step_ms=max(1, int(SPAN.total_seconds() * 1000) // messages),
        department_ids=[row.pk for row in department_rows],
        batch_ids=batch_ids,
        customer_ids=customer_ids,
        conversation_ids=conversation_ids,
    )
    write = write_postgres if connection.vendor == "postgresql" else write_generic
    for start in range(0, messages, chunk):
        stop = min(messages, start + chunk)
        with transaction.atomic():
            write(plan, start, stop)
        progress(f"  {stop:,} / {messages:,} messages ({time.monotonic() - started:.1f} s)")
    _analyze()
    with transaction.atomic():
        recount_conversations(Conversation.objects.filter(customer__uuid__startswith=f"gen-{tag}-c"))
        for batch_id in batch_ids:
            created = Message.objects.filter(created_batch_id=batch_id).count()
            ImportBatch.objects.filter(pk=batch_id).update(item_count=created, created_count=created)
    _analyze()
    return GeneratedRun(tag, messages, customer_count, len(department_rows), time.monotonic() - started)


def _departments(prefix: str, count: int, total: int) -> tuple[list[Department], list[int]]:
    """The run's departments (created when missing) and one import batch in each."""
    uuids = [prefix] if count == 1 else [f"{prefix}-{n + 1}" for n in range(count)]
    departments, batch_ids = [], []
    for uuid in uuids:
        department, _ = Department.objects.get_or_create(uuid=uuid, defaults={"name": f"Generated {uuid}"})
        departments.append(department)
        batch = ImportBatch.objects.create(
            source=ImportSource.COMMAND, department=department, origin=f"generate_demo_data --messages {total}"
        )
        batch_ids.append(batch.pk)
    return departments, batch_ids


def _customers(departments: list[Department], count: int, tag: str) -> tuple[list[int], list[int]]:
    """Create the run's customers and conversations; their ids by customer index."""
    customer_ids: list[int] = []
    conversation_ids: list[int] = []
    for start in range(0, count, 10_000):
        with transaction.atomic():
            customers = Customer.objects.bulk_create(
                [
                    Customer(department=departments[k % len(departments)], uuid=f"gen-{tag}-c{k}")
                    for k in range(start, min(count, start + 10_000))
                ]
            )
            conversations = Conversation.objects.bulk_create(
                [Conversation(department_id=customer.department_id, customer=customer) for customer in customers]
            )
        customer_ids.extend(customer.pk for customer in customers)
        conversation_ids.extend(conversation.pk for conversation in conversations)
    return customer_ids, conversation_ids
