"""An identical re-send: the very bytes of a request answered before, answered again from
the stored rows without decoding them.

Integrations re-send history in the batches they sent it in. When a request's every item
was stored from exactly its bytes and it named no callback (``write._items_digest``), its
batch keeps the SHA-256 of the body and of its items' source hashes. The same body for the
same customer then needs no decoding, validation or hashing per item: the per-item path
would trust every item (its bytes are the stored message's, ``prepare``) and answer
``MESSAGE_UNCHANGED`` with the stored intake warnings, provided each stored message still
has that source hash, its messageUuid and customer, and no correction. That is checked
here in one query, under the locks every writer of the customer takes; anything else
(a message changed, corrected, moved or gone since, a batch too large for today's limit)
returns None and the caller takes the per-item path, which gives the full answer.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from ..conversations import lock_conversation
from ..models import ImportBatch, Message
from ..wire import ITEMS_PATH, RESPONSE_ITEMS
from .results import IngestResult, ItemResult
from .write import Turn, WriteContext, items_digest, lock_writers, record_batch


def request_digest(body: bytes) -> str:
    """The SHA-256 of a request body, as import batches keep it."""
    return hashlib.sha256(body).hexdigest()


def answer_from_stored(context: WriteContext, *, max_items: int) -> IngestResult | None:
    """The answer to a byte-identical re-send (``context.request_digest``), recorded as its
    own batch; None where the per-item path must answer."""
    known = (
        ImportBatch.objects.filter(
            department=context.department,
            request_digest=context.request_digest,
            customer__uuid=context.customer_uuid,
        )
        .order_by("-id")
        .values_list("items_digest", "response")
        .first()
    )
    if known is None:
        return None
    digest, response = known
    entries = response.get(RESPONSE_ITEMS) if isinstance(response, dict) else None
    if not entries or len(entries) > max_items:
        return None
    sources = [entry.get("sourceUuid") for entry in entries]
    with transaction.atomic():
        customer, _conversation = lock_conversation(context.department, context.customer_uuid)
        lock_writers(Turn.FIRST)
        stored = {
            row[0]: row
            for row in Message.objects.filter(department=context.department, source_uuid__any_of=sources)
            .order_by()
            .values_list(
                "source_uuid",
                "message_uuid",
                "customer_id",
                "corrected_at",
                "source_hash",
                Cast("intake_warnings", TextField()),
            )
        }
        outcome = _unchanged_answer(entries, stored, customer.pk, digest)
        if outcome is None:
            return None
        outcome.batch = record_batch(
            context, customer, outcome, request_digest=context.request_digest or "", items_digest=digest
        )
    return outcome


def _unchanged_answer(
    entries: list[dict[str, Any]], stored: dict[str, tuple[Any, ...]], customer_id: int, digest: str
) -> IngestResult | None:
    """Every item ``MESSAGE_UNCHANGED`` after its stored intake warnings, as the per-item
    path answers a trusted item; None unless every stored row is as the digest says."""
    results, hashes = [], []
    decoded: dict[str, list[Any]] = {}
    for index, entry in enumerate(entries):
        row = stored.get(entry.get("sourceUuid"))
        if row is None:
            return None
        source_uuid, message_uuid, owner, corrected_at, source_hash, warnings = row
        if owner != customer_id or corrected_at is not None or message_uuid != entry.get("messageUuid"):
            return None
        if warnings is None or not source_hash:
            return None
        if warnings not in decoded:
            decoded[warnings] = orjson.loads(warnings)
        path = f"{ITEMS_PATH}[{index}]"
        result = ItemResult(source_uuid, message_uuid)
        for code, item_path, detail in decoded[warnings]:
            result.warn(code, path + item_path, detail)
        result.mark_unchanged(path)
        results.append(result)
        hashes.append(source_hash)
    if items_digest(hashes) != digest:
        return None
    return IngestResult(items=results)
