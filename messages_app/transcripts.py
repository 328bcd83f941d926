"""A customer's conversation as staff read it: pages of messages in time order.

Pages are found by keyset (the ``(message_at, id)`` of the message at a page's edge, on
the ``message_customer_time_idx`` index), never by OFFSET or COUNT, so the newest page, the
oldest page and a page in the middle of a 20,000-message conversation each cost the same
few indexed queries.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects

from .enums import MessageType, Protocol
from .models import Attachment, Conversation, Message
from .models.partitioning import select_parts

PAGE_SIZE = 100
# Messages shown above the one a page was opened at, for context.
CONTEXT_BEFORE = 5
# ``after=start`` opens the first page of the conversation.
OLDEST = "start"
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_SAFE_SCHEMES = {"http", "https"}
_INTERNAL_TYPES = (MessageType.NOTE, MessageType.DRAFT, MessageType.DISCARDED_DRAFT)


class InvalidCursor(ValueError):
    """A page cursor that was not made by ``cursor_of``."""


def cursor_of(message: Message) -> str:
    """An opaque page edge: microseconds since the epoch and the id."""
    delta = message.message_at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}_{message.pk}"


def parse_cursor(value: str) -> tuple[datetime.datetime, int]:
    """The ``(message_at, id)`` of a cursor; ``InvalidCursor`` for anything else."""
    try:
        micros, pk = (int(part) for part in value.split("_"))
        return _EPOCH + datetime.timedelta(microseconds=micros), pk
    except (ValueError, OverflowError) as error:
        raise InvalidCursor(value) from error


def safe_link(url: str | None) -> str | None:
    """``url`` when it is an http(s) address; imported data never becomes a ``javascript:`` link."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in _SAFE_SCHEMES and parts.netloc else None


def side_of(message: Message) -> str:
    """Where a message sits in the transcript: the customer's side, ours, or in the middle."""
    if message.type == MessageType.INCOMING:
        return "incoming"
    if message.type == MessageType.OUTGOING:
        return "outgoing"
    if message.type in (MessageType.DRAFT, MessageType.DISCARDED_DRAFT):
        return "draft"
    if message.type == MessageType.NOTE:
        return "note"
    return "other"


@dataclass
class TranscriptPage:
    """One page of a transcript, oldest message first, with the cursors of its neighbours."""

    messages: list[Message]
    older: str | None
    newer: str | None
    focus: int | None = None

    @property
    def is_newest(self) -> bool:
        return self.newer is None


def transcript_messages(conversation: Conversation, *, customer_view: bool = False) -> QuerySet[Message]:
    """The conversation's messages; ``customer_view`` keeps only what the customer saw.

    By department and customer: the department reads one partition of the message table
    (models/partitioning.py), the customer walks its (customer, time) index there."""
    queryset = Message.objects.filter(department_id=conversation.department_id, customer_id=conversation.customer_id)
    if customer_view:
        queryset = queryset.filter(show_in_customer_conversation=True, is_trashed=False).exclude(
            type__in=_INTERNAL_TYPES
        )
    return queryset


def _before(edge: tuple[datetime.datetime, int]) -> Q:
    return Q(message_at__lt=edge[0]) | Q(message_at=edge[0], pk__lt=edge[1])


def _after(edge: tuple[datetime.datetime, int], inclusive: bool = False) -> Q:
    same = Q(message_at=edge[0], pk__gte=edge[1]) if inclusive else Q(message_at=edge[0], pk__gt=edge[1])
    return Q(message_at__gt=edge[0]) | same


def transcript_page(
    conversation: Conversation,
    *,
    before: str | None = None,
    after: str | None = None,
    focus: int | None = None,
    customer_view: bool = False,
    size: int = PAGE_SIZE,
) -> TranscriptPage:
    """A page of ``size`` messages: the newest, the oldest (``after=OLDEST``), those before or
    after a cursor, or around ``focus``.

    ``focus`` is a message id of this conversation; the page opens a few messages above it.
    Raises ``InvalidCursor`` for a cursor it did not make, and ``Message.DoesNotExist`` for a
    focus outside the conversation.
    """
    base = select_parts(
        transcript_messages(conversation, customer_view=customer_view), "draft_attributes", "voice_call_attributes"
    ).select_related("corrected_by")
    newest_first = base.order_by("-message_at", "-pk")
    oldest_first = base.order_by("message_at", "pk")
    if focus is not None:
        target = transcript_messages(conversation).filter(pk=focus).values("message_at", "pk").get()
        edge = (target["message_at"], target["pk"])
        above = list(newest_first.filter(_before(edge))[: CONTEXT_BEFORE + 1])
        below = list(oldest_first.filter(_after(edge, inclusive=True))[: size - CONTEXT_BEFORE + 1])
        has_older, has_newer = len(above) > CONTEXT_BEFORE, len(below) > size - CONTEXT_BEFORE
        rows = list(reversed(above[:CONTEXT_BEFORE])) + below[: size - CONTEXT_BEFORE]
    elif after == OLDEST:
        below = list(oldest_first[: size + 1])
        has_older, has_newer = False, len(below) > size
        rows = below[:size]
    elif after is not None:
        below = list(oldest_first.filter(_after(parse_cursor(after)))[: size + 1])
        has_older, has_newer = True, len(below) > size
        rows = below[:size]
    else:
        query = newest_first.filter(_before(parse_cursor(before))) if before is not None else newest_first
        above = list(query[: size + 1])
        has_older, has_newer = len(above) > size, before is not None
        rows = list(reversed(above[:size]))
    _decorate(rows, conversation.department_id)
    return TranscriptPage(
        messages=rows,
        older=cursor_of(rows[0]) if rows and has_older else None,
        newer=cursor_of(rows[-1]) if rows and has_newer else None,
        focus=focus,
    )


def _decorate(rows: list[Message], department_id: int) -> None:
    """Load the attachments (one query for the page, in the department's partition, by
    position alone: their default order joins the message) and precompute what the template shows."""
    attachments = Attachment.objects.filter(department_id=department_id).order_by("position")
    prefetch_related_objects(rows, Prefetch("attachments", queryset=attachments))
    for message in rows:
        message.side = side_of(message)
        message.is_voice_call = message.protocol == Protocol.VOICE_CALL
        for attachment in message.attachments.all():
            attachment.link = safe_link(attachment.file_url)
            attachment.label = (
                attachment.original_file_name or attachment.file_url or f"attachment {attachment.position}"
            )
        voice = getattr(message, "voice_call_attributes", None) if _has(message, "voice_call_attributes") else None
        message.voice = voice
        if voice is not None:
            voice.recording_link = safe_link(voice.recording_url)
        message.draft = getattr(message, "draft_attributes", None) if _has(message, "draft_attributes") else None


def _has(message: Message, name: str) -> bool:
    try:
        getattr(message, name)
    except Message._meta.get_field(name).related_model.DoesNotExist:
        return False
    return True
