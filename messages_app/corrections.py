"""Staff corrections of imported messages, used by the admin.

A corrected message is marked (who, when, which fields) so that the ingest service keeps
it: an API re-send answers ``MESSAGE_LOCKED_BY_CORRECTION`` and leaves it alone. The
item as imported stays in ``source_payload`` and nothing here ever writes it, so
``revert_to_import`` can always rebuild the imported state through the ingest service.

Writers for one customer queue on the conversation row (the ingest service locks it
first), so a correction and a concurrent import of the same message never interleave.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from .conversations import lock_conversations, recount_conversations
from .enums import ImportSource, MessageTagValue
from .ingest import ingest_messages
from .models import Conversation, Department, Message, MessageTag, MessageTagParent, MessageTagSecondaryAttribute

TRASH = MessageTagValue.TRASH
# Columns the conversation counters are computed from: changing one means a recount.
COUNTED_FIELDS = frozenset(
    {"sent_on", "received_on", "message_at", "update_total_message_count", "update_thread_timestamp"}
)
_CORRECTION_COLUMNS = ["corrected_at", "corrected_by", "corrected_fields", "updated_at"]
CHUNK = 2000


def _mark(message: Message, user: Any, fields: Iterable[str], now: Any) -> None:
    message.corrected_at = now
    message.corrected_by = user if getattr(user, "pk", None) else None
    message.corrected_fields = sorted(set(message.corrected_fields or []) | set(fields))
    message.updated_at = now


def record_correction(message: Message, *, user: Any, fields: Iterable[str]) -> bool:
    """Mark a message that staff edited as corrected and bring its derived columns in line.

    ``fields`` names what changed (``body``, ``attachments``, ``draft_attributes.draft_status``);
    they are added to those of earlier corrections. Nothing is marked when nothing changed.
    """
    fields = set(fields)
    if not fields:
        return False
    lock_conversations([message.conversation_id])
    message.refresh_derived()
    _mark(message, user, fields, timezone.now())
    message.save(update_fields=["message_at", "is_trashed", *_CORRECTION_COLUMNS])
    if fields & COUNTED_FIELDS:
        recount_conversations(
            Conversation.objects.filter(pk=message.conversation_id), department_id=message.department_id
        )
    return True


def _payload_had_tags(message: Message) -> bool:
    attributes = (message.source_payload or {}).get("messageAttributes")
    return isinstance(attributes, dict) and attributes.get("tags") is not None


def _apply_in_chunks(messages: QuerySet[Message], change: Any, columns: list[str], user: Any) -> int:
    """Run ``change`` on every message (it answers whether it changed one); save and mark those."""
    now = timezone.now()
    changed = 0
    with transaction.atomic():
        lock_conversations(messages.order_by().values_list("conversation_id", flat=True).distinct())
        batch: list[Message] = []
        # Inside the transaction, so a server-side cursor ends with it (pgbouncer-safe).
        for message in messages.defer(None).order_by("pk").iterator(chunk_size=CHUNK):
            field_name = change(message)
            if field_name is None:
                continue
            _mark(message, user, [field_name], now)
            batch.append(message)
            if len(batch) >= CHUNK:
                changed += _save_by_department(batch, [*columns, *_CORRECTION_COLUMNS])
                batch = []
        if batch:
            changed += _save_by_department(batch, [*columns, *_CORRECTION_COLUMNS])
    return changed


def _save_by_department(messages: list[Message], columns: list[str]) -> int:
    """Save ``columns`` of ``messages``, one UPDATE per department that names it (a
    table partitioned by department is then written in one partition)."""
    by_department: dict[int, list[Message]] = defaultdict(list)
    for message in messages:
        by_department[message.department_id].append(message)
    for department_id, group in sorted(by_department.items()):
        Message.objects.filter(department_id=department_id).bulk_update(group, columns)
    return len(messages)


def set_trashed(messages: QuerySet[Message], trashed: bool, *, user: Any) -> int:
    """Move messages to the trash or restore them; ``tags`` and ``is_trashed`` always agree.

    Returns how many messages changed. Trash is a correction: a re-send keeps it.
    """

    def change(message: Message) -> str | None:
        tags = list(message.tags or [])
        if (TRASH in tags) == trashed and message.is_trashed == trashed:
            return None
        if trashed:
            message.tags = tags if TRASH in tags else [*tags, TRASH]
        else:
            remaining = [tag for tag in tags if tag != TRASH]
            message.tags = remaining if remaining or _payload_had_tags(message) else None
        message.refresh_derived()
        return "tags"

    return _apply_in_chunks(messages, change, ["tags", "is_trashed"], user)


def set_shown(messages: QuerySet[Message], shown: bool, *, user: Any) -> int:
    """Show messages in, or hide them from, the customer conversation; returns how many changed."""

    def change(message: Message) -> str | None:
        if message.show_in_customer_conversation == shown:
            return None
        message.show_in_customer_conversation = shown
        return "show_in_customer_conversation"

    return _apply_in_chunks(messages, change, ["show_in_customer_conversation"], user)


def _pages_by_pk(messages: QuerySet[Message]) -> Iterator[list[Message]]:
    """``messages`` in pages of ``CHUNK`` in id order, one query each (keyset on the id).

    Not ``QuerySet.iterator()``: outside a transaction it holds a server-side cursor on
    PostgreSQL, which pgbouncer in transaction pooling may not keep between fetches.
    """
    ordered = messages.order_by("pk")
    page = list(ordered[:CHUNK])
    while page:
        yield page
        page = list(ordered.filter(pk__gt=page[-1].pk)[:CHUNK])


@dataclass
class RevertResult:
    """What reverting did: messages rebuilt from their payloads and those that failed."""

    reverted: int = 0
    failed: list[tuple[str, list[str]]] = field(default_factory=list)
    batch_ids: list[int] = field(default_factory=list)


def revert_to_import(messages: QuerySet[Message], *, user: Any) -> RevertResult:
    """Rebuild messages from ``source_payload`` through the ingest service, dropping corrections.

    One ingest call per customer (in chunks of ``MAX_MESSAGES_PER_REQUEST``), recorded as
    an admin import batch by ``user``; the ingest service recomputes the counters.
    """
    groups: dict[tuple[int, int], list[Any]] = defaultdict(list)
    departments: dict[int, Department] = {}
    customer_uuids: dict[int, str] = {}
    rows = messages.defer(None).select_related("department", "customer")
    for page in _pages_by_pk(rows):
        for message in page:
            departments[message.department_id] = message.department
            customer_uuids[message.customer_id] = message.customer.uuid
            groups[(message.department_id, message.customer_id)].append(message.source_payload)
    result = RevertResult()
    size = max(1, settings.MAX_MESSAGES_PER_REQUEST)
    for department_id, customer_id in sorted(groups):
        payloads = groups[(department_id, customer_id)]
        for start in range(0, len(payloads), size):
            outcome = ingest_messages(
                department=departments[department_id],
                customer_uuid=customer_uuids[customer_id],
                items=payloads[start : start + size],
                source=ImportSource.ADMIN,
                user=user,
                origin="admin: revert to imported state",
                overwrite_corrections=True,
                rewrite_unchanged=True,
            )
            if outcome.batch is not None:
                result.batch_ids.append(outcome.batch.pk)
            for item in outcome.items:
                if item.succeeded:
                    result.reverted += 1
                else:
                    result.failed.append(
                        (str(item.source_uuid), [f"{p.code}: {p.path} {p.detail}".strip() for p in item.errors])
                    )
    return result


def attach_parts(parts: list[Any], *, message: Message, parent_field: str = "message", parent: Any = None) -> None:
    """Fill in what a new part added by staff needs: its department and message, and a position
    after the existing ones (parts keep the order they were imported in)."""
    parent = message if parent is None else parent
    next_position: int | None = None
    for part in parts:
        part.department_id = message.department_id
        if hasattr(part, "message_id") and part.message_id is None:
            part.message_id = message.pk
        if hasattr(part, "position") and part.position is None:
            if next_position is None:
                siblings = type(part).objects.filter(department_id=message.department_id, **{parent_field: parent})
                top = siblings.aggregate(top=Max("position"))["top"]
                next_position = 0 if top is None else top + 1
            part.position = next_position
            next_position += 1


def delete_parts(parts: Iterable[Any]) -> None:
    """Delete parts staff removed; a tag's secondary attributes and parent references go with it.

    By department and id: nothing cascades from a part (a tag's rows are deleted here first),
    so each is one DELETE that names the department."""
    for part in parts:
        if isinstance(part, MessageTag):
            MessageTagSecondaryAttribute.objects.filter(department_id=part.department_id, tag=part).delete()
            MessageTagParent.objects.filter(department_id=part.department_id, tag=part).delete()
        type(part).objects.filter(department_id=part.department_id, pk=part.pk).delete()
