"""Phase 2 of the ingest service: write the valid records of a batch in bulk.

One transaction with a fixed number of statements, whatever the number of items: lock the
conversation (``conversations.lock_conversation``) and take the ingest lock, look up every
existing message in one query, classify each item (new, updated, unchanged, locked by a
staff correction, or in conflict), then insert and replace rows sorted by their unique
key (``rows``), record the batch, schedule its callbacks and recompute the counters.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import connection, transaction
from django.db.models import JSONField, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..callbacks.planning import CallbackPlan, plan_callbacks, schedule_callbacks
from ..conversations import lock_conversation, recount_conversations
from ..errors import ErrorCode, WarningCode
from ..models import (
    ApiClient,
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
from ..models.lookups import any_of_sql
from ..tasks import enqueue_deliveries
from ..wire import ITEMS_PATH
from . import rows
from .prepare import PreparedItem
from .results import IngestResult, ItemResult, Outcome

_ORIGIN_MAX_LENGTH = ImportBatch._meta.get_field("origin").max_length


@dataclass
class WriteContext:
    """What one ingest call asks of the write phase."""

    items: list[Any]
    department: Department
    customer_uuid: str
    source: str
    client: ApiClient | None
    user: Any
    origin: str
    callback_path_url: str | None
    dry_run: bool
    overwrite_corrections: bool
    rewrite_unchanged: bool
    request_digest: str | None = None


class Turn(enum.Enum):
    """An attempt of the write phase, and the advisory locks it takes on PostgreSQL.

    At most two locks per batch, whatever its size: the lock table
    (``max_locks_per_transaction x max_connections`` slots shared by every session) cannot
    run out however many writers run. Writers of one customer already queue on the
    conversation row. Writers of different customers are arbitrated by the unique
    constraints ((department, sourceUuid) and messageUuid): the second to insert a key
    waits for the first and gets a unique violation once it commits, or the two deadlock
    (messageUuids go in in sourceUuid order, not in their own). Either way
    ``ingest_messages`` rolls the loser back and gives it its next turn, which classifies
    against the winner's committed rows and reports the conflicts per item.

    - ``FIRST``: the ingest lock, shared. Writers run side by side; nothing serialises
      writers without a shared key.
    - ``RETRY``: the ingest lock shared, and the retry lock exclusive: batches that lost a
      race queue on each other (they are the ones likely to share keys) but still run
      beside first attempts, the only writers they can collide with now.
    - ``ALONE``: the ingest lock, exclusive. It waits for every writer holding it shared
      and makes new ones wait behind it: no other batch is written meanwhile, so this
      turn cannot collide and always finishes, so a batch gets an answer within three
      turns. (Inside a caller's transaction that already wrote a batch, the shared lock
      is its own and does not stand in its way; two such callers going alone at once
      deadlock, and one gets the error.)

    Measured with 24 concurrent 1,000-item batches, every one sharing keys with others
    (a harder mix than ``tests/ingest/test_concurrency_at_scale.py``'s): with a second
    ``FIRST`` turn instead of ``RETRY``, 16 of 37 retries went alone (losers of a race
    race each other again); with ``RETRY``, 2 of 23.

    Hashing each key into a bounded set of lock ids ("stripes"), the other bounded
    scheme, serialises writers that share no key: 500 keys hashed into 128 stripes leave
    2.5 of them free on average (128 x (127/128)^500), so any two large batches queue on
    each other; and enough stripes to avoid that (thousands per batch) overflow the lock
    table again. Measured (``benchmarks/ingest_speed.py --messages 4000``, 4 clients of
    different customers, one quiet machine state): 128 stripes 1,361 messages/s, one lock
    per key 1,480, these turns 2,202. Both locks are taken after the conversation row lock, the order every writer
    uses. SQLite needs none of this: its IMMEDIATE transactions run one at a time.
    """

    FIRST = "first"
    RETRY = "retry"
    ALONE = "alone"


class StaleHints(Exception):
    """A trusted item no longer matches the stored message (it changed after the hint)."""


def write_batch(
    context: WriteContext,
    prepared: list[PreparedItem | ItemResult],
    outcome: IngestResult,
    *,
    turn: Turn = Turn.FIRST,
) -> ImportBatch:
    """Store the valid items of ``prepared`` and record the batch; ``outcome`` gets each item's result.

    ``turn``: which attempt this is, for the locks it takes on PostgreSQL (``Turn``).
    """
    valid = [entry for entry in prepared if isinstance(entry, PreparedItem)]
    # Resolved (DNS included) before the locks are taken; refusals become warnings.
    plan = plan_callbacks(
        context.client, context.callback_path_url, context.items, [item.source_uuid for item in outcome.items]
    )
    for index, refusal in plan.refusals:
        (outcome.warnings if index is None else outcome.items[index].warnings).append(refusal)
    with transaction.atomic():
        customer = conversation = None
        to_create: list[tuple[PreparedItem, ItemResult]] = []
        to_update: list[tuple[PreparedItem, ItemResult, dict[str, Any]]] = []
        if valid:
            customer, conversation = lock_conversation(context.department, context.customer_uuid)
            lock_writers(turn)
            to_create, to_update = _classify(context, customer, valid, outcome)
        items_digest = _items_digest(context, prepared, outcome, plan)
        batch = record_batch(
            context,
            customer,
            outcome,
            request_digest=context.request_digest if items_digest else "",
            items_digest=items_digest,
        )
        if to_create or to_update:
            _store(context, customer, conversation, batch, to_create, to_update)
        enqueue_deliveries(schedule_callbacks(plan.callbacks, batch, outcome.as_response()))
        if context.dry_run:
            transaction.set_rollback(True)
    return batch


def record_batch(
    context: WriteContext, customer: Customer | None, outcome: IngestResult, *, request_digest: str, items_digest: str
) -> ImportBatch:
    """Insert the batch's record, its response included (``outcome`` is complete)."""
    counts = outcome.outcome_counts()
    batch = ImportBatch.objects.create(
        source=context.source,
        department=context.department,
        customer=customer,
        client=context.client,
        user=context.user,
        origin=context.origin[:_ORIGIN_MAX_LENGTH],
        callback_path_url=context.callback_path_url or "",
        item_count=len(outcome.items),
        created_count=counts[Outcome.CREATED.value],
        updated_count=counts[Outcome.UPDATED.value],
        unchanged_count=counts[Outcome.UNCHANGED.value] + counts[Outcome.LOCKED.value],
        failed_count=counts[Outcome.FAILED.value],
        response=_json_value(outcome.encoded_response()),
        request_digest=request_digest,
        items_digest=items_digest,
    )
    batch.response = outcome.as_response()
    return batch


def _items_digest(
    context: WriteContext, prepared: list[PreparedItem | ItemResult], outcome: IngestResult, plan: CallbackPlan
) -> str:
    """The digest that lets the same request bytes be answered again from the stored rows
    (``resend``), or "" where the answer to them could differ from "every item unchanged".

    Only for a request whose every item is stored from exactly its bytes (created, updated,
    or unchanged with the same source hash), that names no callback and draws no request
    warning: its items' answers then depend on nothing but the rows' source hashes,
    correction stamps, messageUuids and intake warnings, which ``resend`` reads again.
    """
    if not context.request_digest or context.dry_run or outcome.warnings or outcome.errors:
        return ""
    if context.callback_path_url or plan.callbacks or plan.refusals:
        return ""
    hashes = []
    for entry in prepared:
        if not isinstance(entry, PreparedItem) or not entry.stored_from_bytes or not entry.source_hash:
            return ""
        result = outcome.items[entry.index]
        if result.outcome not in (Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED):
            return ""
        hashes.append(entry.source_hash)
    return items_digest(hashes)


def items_digest(source_hashes: list[str]) -> str:
    """SHA-256 of a request's items' source hashes, in request order."""
    return hashlib.sha256("".join(source_hashes).encode()).hexdigest()


def _json_value(encoded: bytes) -> Cast:
    """A JSON column's value from JSON already encoded: the response envelope, encoded once
    for the answer too, is not encoded again (by the standard library) to be stored."""
    return Cast(Value(encoded.decode()), output_field=JSONField())


# Fixed 64-bit advisory-lock ids: every ingest writer's, and the one batches that lost a race queue on.
INGEST_LOCK_ID = 0x636F6D6D732D696E  # "comms-in"
RETRY_LOCK_ID = 0x636F6D6D732D7274  # "comms-rt"

_LOCK_SQL = {
    Turn.FIRST: "SELECT pg_advisory_xact_lock_shared(%s)",
    Turn.RETRY: "SELECT pg_advisory_xact_lock_shared(%s), pg_advisory_xact_lock(%s)",
    Turn.ALONE: "SELECT pg_advisory_xact_lock(%s)",
}


def lock_writers(turn: Turn) -> None:
    """On PostgreSQL, take the advisory locks of this turn (``Turn``), in one statement."""
    if connection.vendor != "postgresql":
        return
    ids = [INGEST_LOCK_ID, RETRY_LOCK_ID] if turn is Turn.RETRY else [INGEST_LOCK_ID]
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL[turn], ids)


# New messages get a name-based UUID (version 5) of their department and sourceUuid, so a
# dry run answers the very messageUuid the real call will store, and a message rolled back
# and imported again gets its old id back.
MESSAGE_UUID_NAMESPACE = uuid.UUID("6f1d3c52-8a4e-5b0f-9c7d-2e81a4b6c9d0")


def new_message_uuid(department_uuid: str, source_uuid: str) -> str:
    """The messageUuid of a new message sent without one (identifiers never hold NUL)."""
    return str(uuid.uuid5(MESSAGE_UUID_NAMESPACE, f"{department_uuid}\x00{source_uuid}"))


def _classify(
    context: WriteContext, customer: Customer, valid: list[PreparedItem], outcome: IngestResult
) -> tuple[list[tuple[PreparedItem, ItemResult]], list[tuple[PreparedItem, ItemResult, dict[str, Any]]]]:
    """Decide, with one query, what each valid item does: create, update, or nothing."""
    sources = [item.source_uuid for item in valid]
    supplied = [item.supplied_message_uuid for item in valid if item.supplied_message_uuid]
    # The id a new item would get; a byte-identical re-send (trusted) is stored already.
    derived = {
        item.source_uuid: new_message_uuid(context.department.uuid, item.source_uuid)
        for item in valid
        if not item.supplied_message_uuid and not item.trusted
    }
    existing = _confirmed_rows(context, valid)
    if existing is None:
        existing = _stored_rows(context.department.pk, sources, [*supplied, *derived.values()])
    department_id, customer_id = context.department.pk, customer.pk
    by_source: dict[str, dict[str, Any]] = {}
    by_message_uuid: dict[str, dict[str, Any]] = {}
    for row in existing:
        by_message_uuid[row["message_uuid"]] = row
        if row["department_id"] == department_id:
            by_source[row["source_uuid"]] = row
    to_create, to_update = [], []
    for item in valid:
        result = outcome.items[item.index]
        path = f"{ITEMS_PATH}[{item.index}]"
        stored = by_source.get(item.source_uuid)
        supplied_uuid = item.supplied_message_uuid
        owner = by_message_uuid.get(supplied_uuid) if supplied_uuid else None
        new_uuid = supplied_uuid or derived.get(item.source_uuid)
        if stored is not None and stored["customer_id"] != customer_id:
            result.fail(
                ErrorCode.SOURCE_UUID_CUSTOMER_CONFLICT,
                f"{path}.sourceUuid",
                "Already stored under another customer of this department; messages are not moved.",
            )
        elif owner is not None and owner is not stored:
            result.fail(ErrorCode.MESSAGE_UUID_CONFLICT, f"{path}.messageUuid", "Belongs to another message.")
        elif stored is not None and supplied_uuid and supplied_uuid != stored["message_uuid"]:
            result.fail(
                ErrorCode.MESSAGE_UUID_CONFLICT,
                f"{path}.messageUuid",
                f"This sourceUuid is stored with messageUuid {stored['message_uuid']}.",
            )
        elif item.trusted and (stored is None or stored["source_hash"] != item.source_hash):
            raise StaleHints
        elif stored is None and not supplied_uuid and (new_uuid in by_message_uuid or new_uuid in supplied):
            result.fail(
                ErrorCode.MESSAGE_UUID_CONFLICT,
                f"{path}.messageUuid",
                f"The messageUuid this item would get, {new_uuid}, was given to another message; send one.",
            )
        elif stored is None:
            item.stored_from_bytes = True
            result.outcome = Outcome.CREATED
            result.message_uuid = new_uuid
            to_create.append((item, result))
        else:
            result.message_uuid = stored["message_uuid"]
            if stored["corrected_at"] is not None and not context.overwrite_corrections:
                result.outcome = Outcome.LOCKED
                result.warn(
                    WarningCode.MESSAGE_LOCKED_BY_CORRECTION, path, "Corrected by staff; the correction was kept."
                )
            elif (
                (item.trusted or stored["payload_hash"] == item.payload_hash)
                and stored["corrected_at"] is None
                and not context.rewrite_unchanged
            ):
                result.mark_unchanged(path)
                item.stored_from_bytes = item.trusted or stored["source_hash"] == item.source_hash
            else:
                result.outcome = Outcome.UPDATED
                result.warn(WarningCode.MESSAGE_UPDATED, path, "The stored message was replaced by this item.")
                item.stored_from_bytes = True
                to_update.append((item, result, stored))
    return to_create, to_update


_STORED_COLUMNS = (
    "id",
    "department_id",
    "customer_id",
    "source_uuid",
    "message_uuid",
    "payload_hash",
    "corrected_at",
    "created_at",
    "created_batch_id",
    "source_hash",
)


def _stored_rows(department_id: int, sources: list[str], message_uuids: list[str]) -> list[dict[str, Any]]:
    """The department's messages with one of ``sources`` or ``message_uuids``, and the
    messageUuids of ``message_uuids`` that other departments hold, in one query.

    The first half reads the department's own partition of the message table; the second
    reads the registry, the one place a messageUuid is unique across departments. A
    registry row carries only its owner's ids: another department's message is never read.
    """
    by_source, source_params = any_of_sql("source_uuid", sources, connection.vendor)
    by_uuid, uuid_params = any_of_sql("message_uuid", message_uuids, connection.vendor)
    in_registry, registry_params = any_of_sql("message_uuid", message_uuids, connection.vendor)
    qn = connection.ops.quote_name
    sql = (
        f"SELECT {', '.join(_STORED_COLUMNS)} FROM {qn(Message._meta.db_table)} "  # noqa: S608 (names from _meta)
        f"WHERE department_id = %s AND ({by_source} OR {by_uuid}) "
        "UNION ALL SELECT message_id, department_id, NULL, NULL, message_uuid, NULL, NULL, NULL, NULL, NULL "
        f"FROM {qn(MessageUuid._meta.db_table)} WHERE {in_registry} AND department_id <> %s"
    )
    params = [department_id, *source_params, *uuid_params, *registry_params, department_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [dict(zip(_STORED_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    if connection.vendor != "postgresql":  # SQLite returns its date-times as text, in UTC
        for row in rows:
            for name in ("corrected_at", "created_at"):
                if isinstance(row[name], str):
                    row[name] = parse_datetime(row[name]).replace(tzinfo=UTC)
    return rows


# The arrays are bound as their text form ("{1,2,3}"): ids and versions are digits, and
# psycopg's client-side binding quotes a 500-element list element by element.
_CONFIRM_SQL = (
    "SELECT count(*) FROM {table} AS m JOIN unnest(%s::bigint[], %s::text[]) AS hint(id, version) "
    "ON m.id = hint.id AND m.xmin::text = hint.version WHERE m.department_id = %s"
)


def _confirmed_rows(context: WriteContext, valid: list[PreparedItem]) -> list[dict[str, Any]] | None:
    """The stored rows of a batch of trusted items as phase 1 read them, if none has
    changed since (one query that returns a count); None where the batch needs the full
    lookup.

    Only where every item is trusted (byte-identical to its stored message, whose messageUuid
    it sends or was given): such an item's row is all that ``_classify`` looks at, a row
    whose version (``xmin``) is the same has not been written since, and nothing else can
    claim its sourceUuid or messageUuid while the row exists. PostgreSQL only.
    """
    if connection.vendor != "postgresql" or context.overwrite_corrections or context.rewrite_unchanged:
        return None
    rows, versions = [], []
    for item in valid:
        stored = item.stored.row if item.trusted and item.stored is not None else None
        supplied = item.supplied_message_uuid
        if stored is None or (supplied is not None and supplied != stored.message_uuid):
            return None
        versions.append(stored.version)
        rows.append(
            {
                "id": stored.id,
                "department_id": context.department.pk,
                "customer_id": stored.customer_id,
                "source_uuid": item.source_uuid,
                "message_uuid": stored.message_uuid,
                "corrected_at": stored.corrected_at,
                "source_hash": item.source_hash,
            }
        )
    with connection.cursor() as cursor:
        cursor.execute(
            _CONFIRM_SQL.format(table=connection.ops.quote_name(Message._meta.db_table)),
            [_digits_array([str(row["id"]) for row in rows]), _digits_array(versions), context.department.pk],
        )
        (unchanged,) = cursor.fetchone()
    return rows if unchanged == len(rows) else None


def _digits_array(values: list[str]) -> str:
    """A PostgreSQL array literal of numbers given as their digits."""
    if not all(value.isascii() and value.isdigit() for value in values):
        raise ValueError("not a list of numbers")
    return "{" + ",".join(values) + "}"


def message_columns(data: dict[str, Any]) -> dict[str, Any]:
    """The Message column values of a normalised item."""
    attributes = data.get("message_attributes") or {}
    tags = attributes.get("tags")
    return {
        **Message.derived_columns(sent_on=data.get("sent_on"), received_on=data.get("received_on"), tags=tags),
        "callback_path_url": data.get("callback_path_url"),
        "sent_on": data.get("sent_on"),
        "received_on": data.get("received_on"),
        "user_uuid": data.get("user_uuid"),
        "communication_uid": data.get("communication_uid"),
        "body": attributes.get("body"),
        "type": attributes.get("type"),
        "protocol": attributes.get("protocol"),
        "purpose": attributes.get("purpose"),
        "is_manual": attributes.get("is_manual"),
        "subject": attributes.get("subject"),
        "meta_data": attributes.get("meta_data"),
        "tags": tags,
        "default_reply_action": attributes.get("default_reply_action"),
        "update_thread_timestamp": attributes["update_thread_timestamp"],
        "update_total_message_count": attributes["update_total_message_count"],
        "show_in_customer_conversation": attributes["show_in_customer_conversation"],
    }


_MESSAGE_TABLE = rows.Table(Message, with_id=True)


_TAG_TABLE = rows.Table(MessageTag, with_id=True)


_DRAFT_TABLE = rows.Table(DraftAttributes, with_id=False)


_ATTACHMENT_TABLE = rows.Table(Attachment, with_id=False)


_SECONDARY_TABLE = rows.Table(MessageTagSecondaryAttribute, with_id=False)


_PARENT_TABLE = rows.Table(MessageTagParent, with_id=False)


_NOTIFICATION_TABLE = rows.Table(NotificationAttributes, with_id=False)


_NOTIFIER_TABLE = rows.Table(NotificationNotifier, with_id=False)


_BUTTON_TABLE = rows.Table(NotificationButton, with_id=False)


_VOICE_TABLE = rows.Table(VoiceCallAttributes, with_id=False)


def _store(
    context: WriteContext,
    customer: Customer,
    conversation: Conversation,
    batch: ImportBatch,
    to_create: list[tuple[PreparedItem, ItemResult]],
    to_update: list[tuple[PreparedItem, ItemResult, dict[str, Any]]],
) -> None:
    """Write new and changed messages with their parts: one statement per table.

    A changed message is deleted and written again under the same id, messageUuid and
    creation stamp, so that new and changed messages take the same path.
    """
    now = timezone.now()
    keys = {
        "department_id": context.department.pk,
        "customer_id": customer.pk,
        "conversation_id": conversation.pk,
        "updated_batch_id": batch.pk,
        "updated_at": now,
        "corrected_at": None,
        "corrected_by_id": None,
        "corrected_fields": [],
    }
    pending = [(item, result, None) for item, result in to_create] + list(to_update)
    pending.sort(key=lambda entry: entry[0].source_uuid)
    new_ids = iter(rows.allocate_ids(Message, len(to_create)))
    replaced = [stored["id"] for _item, _result, stored in to_update]
    if replaced:
        rows.delete_messages(replaced, department_id=context.department.pk)
    message_rows, stored_parts = [], []
    for item, result, stored in pending:
        message_id = next(new_ids) if stored is None else stored["id"]
        values = {
            **keys,
            **message_columns(item.data),
            "id": message_id,
            "source_uuid": item.source_uuid,
            "message_uuid": result.message_uuid,
            "source_payload": item.raw,
            "payload_hash": item.payload_hash,
            "source_hash": item.source_hash,
            "intake_warnings": item.intake_warnings,
            "created_batch_id": batch.pk if stored is None else stored["created_batch_id"],
            "created_at": now if stored is None else stored["created_at"],
        }
        message_rows.append(_MESSAGE_TABLE.row(values))
        stored_parts.append((message_id, item.data))
    rows.insert_rows(_MESSAGE_TABLE, message_rows)
    _store_parts(context.department.pk, stored_parts)
    recount_conversations(Conversation.objects.filter(pk=conversation.pk), department_id=context.department.pk)


def _store_parts(department_id: int, messages: list[tuple[int, dict[str, Any]]]) -> None:
    """Insert the parts of the given messages (id, normalised item), one statement per table."""
    drafts, attachments, tags, secondaries, parents = [], [], [], [], []
    notifications, notifiers, buttons, voice_calls = [], [], [], []
    tag_count = sum(len((data.get("message_attributes") or {}).get("message_tags") or []) for _, data in messages)
    tag_ids = iter(rows.allocate_ids(MessageTag, tag_count))
    for message_id, data in messages:
        base = {"department_id": department_id, "message_id": message_id}
        attributes = data.get("message_attributes") or {}
        draft = attributes.get("draft_attributes")
        if draft is not None:
            drafts.append(_DRAFT_TABLE.row({**_DRAFT_TABLE.nulls, **base, **draft}))
        for position, attachment in enumerate(attributes.get("attachments") or []):
            attachments.append(
                _ATTACHMENT_TABLE.row({**_ATTACHMENT_TABLE.nulls, **base, **attachment, "position": position})
            )
        for position, tag in enumerate(attributes.get("message_tags") or []):
            tag_id = next(tag_ids)
            tags.append(
                _TAG_TABLE.row(
                    {
                        **base,
                        "id": tag_id,
                        "position": position,
                        "tag_type_uuid": tag.get("tag_type_uuid"),
                        "reference_identifier": tag.get("reference_identifier"),
                        "value": tag.get("value"),
                        "primary_attribute_value": (tag.get("primary_attribute") or {}).get("value"),
                    }
                )
            )
            for index, secondary in enumerate(tag.get("secondary_attributes") or []):
                secondaries.append(
                    _SECONDARY_TABLE.row({**base, "tag_id": tag_id, "position": index, "value": secondary.get("value")})
                )
            for index, parent in enumerate(tag.get("parent_tags") or []):
                parents.append(
                    _PARENT_TABLE.row({**_PARENT_TABLE.nulls, **base, **parent, "tag_id": tag_id, "position": index})
                )
        notification = data.get("notification_attributes")
        if notification is not None:
            flags = {k: v for k, v in notification.items() if k.endswith(("_pop", "_notification"))}
            notifications.append(_NOTIFICATION_TABLE.row({**_NOTIFICATION_TABLE.nulls, **base, **flags}))
            for position, da_uuid in enumerate(notification.get("additional_notifier_notification_da_uuids") or []):
                notifiers.append(_NOTIFIER_TABLE.row({**base, "position": position, "da_uuid": da_uuid}))
            for position, button in enumerate(notification.get("notification_buttons") or []):
                buttons.append(_BUTTON_TABLE.row({**_BUTTON_TABLE.nulls, **base, **button, "position": position}))
        voice = data.get("voice_call_attributes")
        if voice is not None:
            voice_calls.append(_VOICE_TABLE.row({**_VOICE_TABLE.nulls, **base, **voice}))
    for table, table_rows in (
        (_DRAFT_TABLE, drafts),
        (_ATTACHMENT_TABLE, attachments),
        (_TAG_TABLE, tags),
        (_SECONDARY_TABLE, secondaries),
        (_PARENT_TABLE, parents),
        (_NOTIFICATION_TABLE, notifications),
        (_NOTIFIER_TABLE, notifiers),
        (_BUTTON_TABLE, buttons),
        (_VOICE_TABLE, voice_calls),
    ):
        rows.insert_rows(table, table_rows)
