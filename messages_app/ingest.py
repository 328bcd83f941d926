"""The one ingest service: wire items in, normalised rows out.

The REST view, the import commands and the admin all call ``ingest_messages``. It works
in two phases, as Zulip's importer does:

1. ``prepare_items`` validates and normalises every item into plain records, without the
   database: type checks, enumerations, timestamps, unstorable strings, duplicates within
   the request, coherence warnings and the canonical hash.
2. ``_write`` stores the valid records in one transaction with a fixed number of bulk
   statements, whatever the number of items: it locks the conversation, looks up every
   existing message in one query, classifies each item (new, updated, unchanged, locked
   by a staff correction, or in conflict), then inserts and updates rows sorted by their
   unique key and recomputes the conversation counters from the rows.

Items are validated one by one (partial success) but written together: an item is
stored with all its parts or not at all. A unique-constraint race with a concurrent
writer rolls the whole write back and re-runs phase 2, which then sees the other
writer's rows and reports the conflict on the affected items.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from rest_framework.exceptions import ErrorDetail, ValidationError

from . import callbacks, lookups, rows, wire  # noqa: F401  (lookups registers field__any_of)
from .collector import collector_paused
from .enums import ImportSource, MessageTagValue, MessageType, Protocol
from .errors import UNSTORABLE_RE, ErrorCode, Problem, WarningCode
from .models import (
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
    NotificationAttributes,
    NotificationButton,
    NotificationNotifier,
    VoiceCallAttributes,
)
from .wire_compiler import Rejected, compile_validator

logger = logging.getLogger(__name__)

FUTURE_TOLERANCE = timedelta(minutes=5)
WRITE_ATTEMPTS = 3
ITEMS_PATH = "saveMessageRequestList"
_DRAFT_TYPES = {MessageType.DRAFT, MessageType.DISCARDED_DRAFT}
_DATETIME_PATHS = (("sentOn",), ("receivedOn",), ("voiceCallAttributes", "callDateTime"))
# One validator for every item: building a DRF serializer deep-copies all its fields,
# which would cost far more than validating; ``run_validation`` keeps no state.
_ITEM_VALIDATOR = wire.SaveMessageRequestSerializer()
# The same checks compiled into plain functions; the serializer explains the rejections.
_FAST_VALIDATOR = compile_validator(_ITEM_VALIDATOR)
_DRF_CODES = {
    "null_characters_not_allowed": ErrorCode.UNSTORABLE_STRING,
    "surrogate_characters_not_allowed": ErrorCode.UNSTORABLE_STRING,
}
# Child tables, in the order their rows are deleted when a message is replaced.
_PART_MODELS = (
    MessageTagSecondaryAttribute,
    MessageTagParent,
    MessageTag,
    DraftAttributes,
    Attachment,
    NotificationNotifier,
    NotificationButton,
    NotificationAttributes,
    VoiceCallAttributes,
)


class Outcome(enum.Enum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    LOCKED = "locked"
    FAILED = "failed"


@dataclass
class ItemResult:
    """What happened to one item; becomes one ``saveMessageResponse`` entry."""

    source_uuid: str | None
    message_uuid: str | None = None
    outcome: Outcome | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.outcome not in (None, Outcome.FAILED)

    def fail(self, code: str, path: str, detail: str) -> None:
        self.errors.append(Problem(code, path, detail))
        self.outcome = Outcome.FAILED
        self.message_uuid = None

    def warn(self, code: str, path: str, detail: str) -> None:
        self.warnings.append(Problem(code, path, detail))

    def as_response(self) -> dict[str, Any]:
        return {
            "sourceUuid": self.source_uuid,
            "messageUuid": self.message_uuid,
            "errors": [problem.as_error() for problem in self.errors],
            "warnings": [problem.as_warning() for problem in self.warnings],
        }


@dataclass
class PreparedItem:
    """A validated, normalised item: plain data, no database.

    ``source_hash`` is the SHA-256 of the item exactly as received. A ``trusted`` item is
    byte-for-byte the one already stored under its sourceUuid (so it was validated when
    it was stored): it skips validation, has no ``data`` and repeats the stored
    ``intake_warnings``; the write phase confirms the match under its locks.
    ``intake_warnings`` are the item's validation warnings as (code, path within the
    item, detail), stored with the message for exactly that.
    """

    index: int
    raw: dict[str, Any]
    data: dict[str, Any] | None
    payload_hash: str | None
    result: ItemResult
    source_uuid: str
    source_hash: str
    trusted: bool = False
    intake_warnings: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def supplied_message_uuid(self) -> str | None:
        value = self.raw.get("messageUuid")
        return value if isinstance(value, str) else None


class StoredIntake(NamedTuple):
    """What phase 1 needs to know of a stored message to trust a byte-identical re-send."""

    source_hash: str
    warnings: list[tuple[str, str, str]]


@dataclass
class IngestResult:
    """The outcome of one ingest call, in request order."""

    items: list[ItemResult]
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    batch: ImportBatch | None = None
    _response: dict[str, Any] | None = field(default=None, repr=False)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for item in self.items if item.outcome is outcome)

    @property
    def failed_count(self) -> int:
        return sum(1 for item in self.items if not item.succeeded)

    def as_response(self) -> dict[str, Any]:
        """The seed's response envelope (note its spelling ``succesfully``).

        Built once: the import batch stores it and the caller sends it, with the same
        errorUIDs (each logged once).
        """
        if self._response is None:
            self._response = self._build_response()
        return self._response

    def _build_response(self) -> dict[str, Any]:
        return {
            "saveMessageResponse": [item.as_response() for item in self.items],
            "succesfullySubmittedSourceUuids": [i.source_uuid for i in self.items if i.succeeded],
            "failedSourceUuids": [i.source_uuid for i in self.items if not i.succeeded and i.source_uuid is not None],
            "errors": [problem.as_error() for problem in self.errors],
            "warnings": [problem.as_warning() for problem in self.warnings],
        }


# --- Phase 1: validate and normalise, no database ----------------------------------------


def find_unstorable(value: Any, path: str) -> list[str]:
    """Paths of strings (keys included) that hold NUL or a lone surrogate."""
    found = []
    stack = [(value, path)]
    while stack:
        node, node_path = stack.pop()
        if isinstance(node, str):
            if UNSTORABLE_RE.search(node):
                found.append(node_path)
        elif isinstance(node, dict):
            for key, child in node.items():
                if isinstance(key, str) and UNSTORABLE_RE.search(key):
                    found.append(f"{node_path} (a key)")
                stack.append((child, f"{node_path}.{key}"))
        elif isinstance(node, list):
            stack.extend((child, f"{node_path}[{i}]") for i, child in enumerate(node))
    return sorted(found)


def _unknown_fields(raw: Any, shape: dict[str, Any], path: str, depth: int = 1) -> list[tuple[str, int, Any]]:
    """Path, nesting depth and value of each field that is not part of the format, in the
    order of the item (an object's own unknown fields before those of its nested objects).

    Known fields are bounded by validation; only unknown ones can nest without limit.
    """
    if not isinstance(raw, dict):
        return []
    unknown = (
        [] if raw.keys() <= shape.keys() else [(f"{path}.{k}", depth, v) for k, v in raw.items() if k not in shape]
    )
    for key in _NESTED_KEYS[id(shape)]:
        value = raw.get(key)
        if value is None:
            continue
        sub = shape[key]
        if isinstance(value, list):
            for i, element in enumerate(value):
                unknown.extend(_unknown_fields(element, sub, f"{path}.{key}[{i}]", depth + 2))
        else:
            unknown.extend(_unknown_fields(value, sub, f"{path}.{key}", depth + 1))
    return unknown


def _nested_keys(shape: dict[str, Any], found: dict[int, tuple[str, ...]]) -> dict[int, tuple[str, ...]]:
    found[id(shape)] = tuple(key for key, sub in shape.items() if sub is not None)
    for sub in shape.values():
        if sub is not None:
            _nested_keys(sub, found)
    return found


_NESTED_KEYS = _nested_keys(wire.ITEM_SHAPE, {})


def _flatten_errors(detail: Any, path: str) -> list[tuple[str, str, str]]:
    """Turn DRF's nested error structure into (path, code, message) triples."""
    if isinstance(detail, ErrorDetail):
        code = str(detail.code)
        if code not in ErrorCode.values:
            code = _DRF_CODES.get(code, ErrorCode.INVALID_FIELD_TYPE)
        return [(path, code, str(detail))]
    flat = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                sub = path
            elif isinstance(key, int):
                sub = f"{path}[{key}]"
            else:
                sub = f"{path}.{key}"
            flat.extend(_flatten_errors(value, sub))
    elif isinstance(detail, list):
        for i, value in enumerate(detail):
            if isinstance(value, ErrorDetail):
                flat.extend(_flatten_errors(value, path))
            elif value:
                flat.extend(_flatten_errors(value, f"{path}[{i}]"))
    return flat


def _dig(raw: dict[str, Any], keys: tuple[str, ...]) -> Any:
    node: Any = raw
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _canonical_hash(data: dict[str, Any]) -> str:
    """SHA-256 of the normalised item without the fields that do not describe the message."""
    content = {k: v for k, v in data.items() if k not in ("message_uuid", "callback_path_url")}
    try:
        encoded = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits in a free JSON value
        encoded = json.dumps(
            content, sort_keys=True, separators=(",", ":"), default=_json_default, ensure_ascii=False
        ).encode()
    return hashlib.sha256(encoded).hexdigest()


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Apply the documented defaults so that equal messages hash equally."""
    attributes = data.get("message_attributes") or {}
    for flag in ("update_thread_timestamp", "update_total_message_count", "show_in_customer_conversation"):
        if attributes.get(flag) is None:
            attributes[flag] = True
    data["message_attributes"] = attributes
    return {key: value for key, value in data.items() if value is not None}


def _received_form(raw: dict[str, Any]) -> tuple[str, bool]:
    """The SHA-256 of an item exactly as received (re-encoded in its own key order: a
    client that re-sends what it sent before sends the same keys in the same order), and
    whether it may hold an unstorable string.

    orjson refuses lone surrogates and escapes NUL as \\u0000, so "no" is certain; "maybe"
    (also for integers beyond 64 bits, which orjson cannot encode: hash "") sends the item
    to ``find_unstorable``, which clears false alarms such as a literal backslash-u0000.
    """
    try:
        encoded = orjson.dumps(raw)
    except (TypeError, orjson.JSONEncodeError):
        return "", True
    return hashlib.sha256(encoded).hexdigest(), b"\\u0000" in encoded


def prepare_items(
    raw_items: list[Any], *, now: datetime | None = None, stored: dict[str, StoredIntake] | None = None
) -> list[PreparedItem | ItemResult]:
    """Phase 1: validate every item on its own; a failed one is returned as its result.

    ``stored`` (sourceUuid → source hash and intake warnings of the stored message) lets
    an item that is exactly the stored one skip validation: it passed it when it was
    stored, and its warnings then depended on nothing but its bytes.
    """
    stored = stored or {}
    now = now or timezone.now()
    latest_allowed = now + FUTURE_TOLERANCE
    seen_sources: dict[str, int] = {}
    seen_message_uuids: dict[str, int] = {}
    prepared: list[PreparedItem | ItemResult] = []
    for index, raw in enumerate(raw_items):
        path = f"{ITEMS_PATH}[{index}]"
        if not isinstance(raw, dict):
            result = ItemResult(source_uuid=None)
            result.fail(ErrorCode.INVALID_ITEM, path, "Expected a JSON object.")
            prepared.append(result)
            continue
        raw_source = raw.get("sourceUuid")
        result = ItemResult(source_uuid=raw_source if isinstance(raw_source, str) else None)
        received_hash, maybe_unstorable = _received_form(raw)
        known = stored.get(raw_source) if received_hash and isinstance(raw_source, str) else None
        if known is not None and known.source_hash == received_hash:
            item = PreparedItem(index, raw, None, None, result, raw_source, received_hash, trusted=True)
            _check_duplicates(item, path, seen_sources, seen_message_uuids)
            if result.errors:
                prepared.append(result)
                continue
            item.intake_warnings = known.warnings
            for code, item_path, detail in known.warnings:
                result.warn(code, path + item_path, detail)
            prepared.append(item)
            continue
        unstorable = find_unstorable(raw, path) if maybe_unstorable else []
        if unstorable:
            if result.source_uuid is not None and UNSTORABLE_RE.search(result.source_uuid):
                result.source_uuid = None
            for bad_path in unstorable:
                result.fail(ErrorCode.UNSTORABLE_STRING, bad_path, "Contains NUL (\\u0000) or a lone surrogate.")
            prepared.append(result)
            continue
        if raw_source is None or raw_source == "":
            result.fail(ErrorCode.MISSING_SOURCE_UUID, f"{path}.sourceUuid", "sourceUuid is required.")
        try:
            if result.errors:
                raise Rejected
            data = _FAST_VALIDATOR(raw)
        except Rejected:
            try:
                data = dict(_ITEM_VALIDATOR.run_validation(raw))
            except ValidationError as exc:
                for err_path, code, message in _flatten_errors(exc.detail, path):
                    if err_path == f"{path}.sourceUuid" and result.errors:
                        continue
                    result.fail(code, err_path, message)
                prepared.append(result)
                continue
        unknown = _unknown_fields(raw, wire.ITEM_SHAPE, path)
        for unknown_path, depth, value in unknown:
            if wire.json_depth_exceeds(value, wire.ITEM_MAX_DEPTH - depth):
                result.fail(
                    ErrorCode.NESTING_TOO_DEEP, unknown_path, f"Nested more than {wire.ITEM_MAX_DEPTH} levels deep."
                )
        _check_item(data, raw, path, result, latest_allowed, unknown)
        item = PreparedItem(index, raw, data, None, result, data.get("source_uuid") or "", received_hash)
        item.intake_warnings = [(w.code, w.path[len(path) :], w.detail) for w in result.warnings]
        _check_duplicates(item, path, seen_sources, seen_message_uuids)
        if result.errors:
            prepared.append(result)
            continue
        item.data = _normalise(data)
        item.payload_hash = _canonical_hash(item.data)
        prepared.append(item)
    return prepared


def _check_duplicates(
    item: PreparedItem, path: str, seen_sources: dict[str, int], seen_message_uuids: dict[str, int]
) -> None:
    """The same sourceUuid, or messageUuid, twice in one request: the later one fails."""
    result = item.result
    if item.source_uuid:
        if item.source_uuid in seen_sources:
            result.fail(
                ErrorCode.DUPLICATE_SOURCE_UUID,
                f"{path}.sourceUuid",
                f"Already given by {ITEMS_PATH}[{seen_sources[item.source_uuid]}] in this request.",
            )
        else:
            seen_sources[item.source_uuid] = item.index
    message_uuid = item.supplied_message_uuid
    if message_uuid is not None and not result.errors:
        if message_uuid in seen_message_uuids:
            result.fail(
                ErrorCode.MESSAGE_UUID_CONFLICT,
                f"{path}.messageUuid",
                f"Already given by {ITEMS_PATH}[{seen_message_uuids[message_uuid]}] in this request.",
            )
        else:
            seen_message_uuids[message_uuid] = item.index


def _check_item(
    data: dict[str, Any] | None,
    raw: dict[str, Any],
    path: str,
    result: ItemResult,
    latest: datetime,
    unknown: list[tuple[str, int, Any]],
) -> None:
    """Rules that span fields: timestamps, coherence, unknown fields.

    They read the item as received (already type-checked), so that the warnings depend on
    nothing but the item's bytes and can be repeated for a byte-identical re-send.
    """
    if raw.get("sentOn") is None and raw.get("receivedOn") is None:
        result.fail(ErrorCode.MISSING_TIMESTAMP, path, "At least one of sentOn and receivedOn is required.")
    for keys in _DATETIME_PATHS:
        value = _dig(raw, keys)
        if not isinstance(value, str):
            continue
        parsed, naive = wire.parse_datetime(value) or (None, False)
        field_path = ".".join((path, *keys))
        if parsed is not None and parsed > latest:
            result.fail(
                ErrorCode.TIMESTAMP_IN_FUTURE, field_path, f"{value} is in the future; this endpoint is for history."
            )
        if naive:
            result.warn(WarningCode.TIMEZONE_ASSUMED_UTC, field_path, f"{value} has no UTC offset; taken as UTC.")
    attributes = raw.get("messageAttributes") or {}
    if attributes.get("draftAttributes") is not None and attributes.get("type") not in _DRAFT_TYPES:
        result.warn(
            WarningCode.DRAFT_ATTRIBUTES_ON_NON_DRAFT,
            f"{path}.messageAttributes.draftAttributes",
            f"Given on type {attributes.get('type')}; stored as given.",
        )
    if raw.get("voiceCallAttributes") is not None and attributes.get("protocol") != Protocol.VOICE_CALL:
        result.warn(
            WarningCode.VOICE_CALL_ATTRIBUTES_ON_NON_VOICE_CALL,
            f"{path}.voiceCallAttributes",
            f"Given on protocol {attributes.get('protocol')}; stored as given.",
        )
    for unknown_path, _depth, _value in unknown:
        result.warn(WarningCode.UNKNOWN_FIELD, unknown_path, "Not part of the format; ignored.")


# --- Phase 2: write in bulk ---------------------------------------------------------------


@dataclass
class _Context:
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


@collector_paused()
def ingest_messages(
    *,
    department: Department,
    customer_uuid: str,
    items: list[Any],
    source: str = ImportSource.API,
    client: ApiClient | None = None,
    user: Any = None,
    origin: str = "",
    callback_path_url: str | None = None,
    request_warnings: list[Problem] | None = None,
    dry_run: bool = False,
    overwrite_corrections: bool = False,
    rewrite_unchanged: bool = False,
) -> IngestResult:
    """Validate and store a batch of wire items for one customer of one department.

    ``overwrite_corrections`` replaces staff-corrected messages instead of keeping them;
    ``rewrite_unchanged`` rebuilds the rows of identical items too (re-import after a
    change of the mapping from items to rows).
    """
    hinted = not (overwrite_corrections or rewrite_unchanged)
    prepared = prepare_items(items, stored=_stored_intake(department, items) if hinted else None)
    warnings = list(request_warnings or [])
    if dry_run:
        warnings.append(Problem(WarningCode.DRY_RUN, "", "Nothing was written."))
    context = _Context(
        items,
        department,
        customer_uuid,
        source,
        client,
        user,
        origin,
        callback_path_url,
        dry_run,
        overwrite_corrections,
        rewrite_unchanged,
    )
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        results = [_fresh_result(entry) for entry in prepared]
        outcome = IngestResult(items=results, warnings=warnings)
        try:
            outcome.batch = _write(context, prepared, outcome)
        except _StaleHints:
            logger.info("A stored message changed while a batch was prepared; validating it in full.")
            prepared = prepare_items(items)
            continue
        except IntegrityError:
            if attempt == WRITE_ATTEMPTS:
                raise
            logger.info("Unique-constraint race while writing a batch; retrying (attempt %d).", attempt)
            continue
        return outcome
    raise AssertionError("unreachable")


class _StaleHints(Exception):
    """A trusted item no longer matches the stored message (it changed after the hint)."""


def _stored_intake(department: Department, items: list[Any]) -> dict[str, StoredIntake]:
    """sourceUuid → source hash and intake warnings of the messages already stored for
    these items (one query).

    A hint only: the write phase checks the hash again under its locks.
    """
    sources = [
        raw["sourceUuid"]
        for raw in items
        if isinstance(raw, dict)
        and wire.is_identifier(raw.get("sourceUuid"))
        and not UNSTORABLE_RE.search(raw["sourceUuid"])
    ]
    if not sources:
        return {}
    stored = (
        Message.objects.filter(department=department, source_uuid__any_of=sources, intake_warnings__isnull=False)
        .exclude(source_hash="")
        .values_list("source_uuid", "source_hash", "intake_warnings")
    )
    return {
        source: StoredIntake(source_hash, [tuple(warning) for warning in warnings])
        for source, source_hash, warnings in stored
    }


def _fresh_result(entry: PreparedItem | ItemResult) -> ItemResult:
    result = entry.result if isinstance(entry, PreparedItem) else entry
    return ItemResult(result.source_uuid, result.message_uuid, result.outcome, [*result.errors], [*result.warnings])


def _write(context: _Context, prepared: list[PreparedItem | ItemResult], outcome: IngestResult) -> ImportBatch:
    valid = [entry for entry in prepared if isinstance(entry, PreparedItem)]
    # Resolved (DNS included) before the locks are taken; refusals become warnings.
    planned = callbacks.plan_callbacks(context.client, context.callback_path_url, context.items, outcome)
    with transaction.atomic():
        customer = conversation = None
        to_create: list[tuple[PreparedItem, ItemResult]] = []
        to_update: list[tuple[PreparedItem, ItemResult, dict[str, Any]]] = []
        if valid:
            customer, conversation = _lock_conversation(context.department, context.customer_uuid)
            _lock_keys(context.department, valid)
            to_create, to_update = _classify(context, customer, valid, outcome)
        batch = ImportBatch.objects.create(
            source=context.source,
            department=context.department,
            customer=customer,
            client=context.client,
            user=context.user,
            origin=context.origin[:500],
            callback_path_url=context.callback_path_url or "",
            item_count=len(prepared),
            created_count=outcome.count(Outcome.CREATED),
            updated_count=outcome.count(Outcome.UPDATED),
            unchanged_count=outcome.count(Outcome.UNCHANGED) + outcome.count(Outcome.LOCKED),
            failed_count=outcome.failed_count,
            response=outcome.as_response(),
        )
        if to_create or to_update:
            _store(context, customer, conversation, batch, to_create, to_update)
        callbacks.schedule_callbacks(planned, batch, outcome)
        if context.dry_run:
            transaction.set_rollback(True)
    return batch


def _lock_conversation(department: Department, customer_uuid: str) -> tuple[Customer, Conversation]:
    """Create the customer and conversation if needed and lock the conversation row.

    Every writer for the same customer takes this lock first, so their writes queue
    instead of deadlocking, and the counters are recomputed by one writer at a time.
    A known customer costs one query; a new one, the inserts as well.
    """
    locked = Conversation.objects.select_for_update(of=("self",)).select_related("customer")
    conversation = locked.filter(department=department, customer__uuid=customer_uuid).first()
    if conversation is None:
        Customer.objects.bulk_create([Customer(department=department, uuid=customer_uuid)], ignore_conflicts=True)
        customer = Customer.objects.get(department=department, uuid=customer_uuid)
        Conversation.objects.bulk_create(
            [Conversation(department=department, customer=customer)], ignore_conflicts=True
        )
        conversation = locked.get(customer=customer)
    return conversation.customer, conversation


def _lock_keys(department: Department, valid: list[PreparedItem]) -> None:
    """On PostgreSQL, lock every key the batch claims: its sourceUuids in the department and
    its supplied messageUuids (unique across departments).

    Writers of different customers do not share the conversation lock. Without this, two
    of them could both classify a key as new and both insert it (a unique violation for the
    second, after the first commits), or insert two keys in opposite orders and deadlock:
    rows go in sourceUuid order, but supplied messageUuids can come in any order. Taking
    all the keys' locks in one sorted order, after the conversation lock, makes a writer
    wait for the one holding any of its keys, and then classify against its committed
    rows. SQLite needs none of this: its IMMEDIATE transactions already run one at a time.
    """
    if connection.vendor != "postgresql":
        return
    claimed = {("source", department.pk, item.source_uuid) for item in valid}
    claimed |= {("message", item.supplied_message_uuid) for item in valid if item.supplied_message_uuid}
    keys = sorted({_lock_key(parts) for parts in claimed})
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(key) FROM unnest(%s::bigint[]) AS key", [keys])


def _lock_key(parts: tuple[Any, ...]) -> int:
    """A 64-bit advisory-lock key for an identifier (a collision only makes two writers queue)."""
    digest = hashlib.blake2b("\x00".join(map(str, parts)).encode(), digest_size=8, person=b"comms-key").digest()
    return int.from_bytes(digest, "big", signed=True)


def _classify(
    context: _Context, customer: Customer, valid: list[PreparedItem], outcome: IngestResult
) -> tuple[list[tuple[PreparedItem, ItemResult]], list[tuple[PreparedItem, ItemResult, dict[str, Any]]]]:
    """Decide, with one query, what each valid item does: create, update, or nothing."""
    sources = [item.source_uuid for item in valid]
    supplied = [item.supplied_message_uuid for item in valid if item.supplied_message_uuid]
    existing = Message.objects.filter(
        Q(department=context.department, source_uuid__any_of=sources) | Q(message_uuid__any_of=supplied)
    ).values(
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
    by_source: dict[str, dict[str, Any]] = {}
    by_message_uuid: dict[str, dict[str, Any]] = {}
    for row in existing:
        by_message_uuid[row["message_uuid"]] = row
        if row["department_id"] == context.department.pk:
            by_source[row["source_uuid"]] = row
    to_create, to_update = [], []
    for item in valid:
        result = outcome.items[item.index]
        path = f"{ITEMS_PATH}[{item.index}]"
        stored = by_source.get(item.source_uuid)
        supplied_uuid = item.supplied_message_uuid
        owner = by_message_uuid.get(supplied_uuid) if supplied_uuid else None
        if stored is not None and stored["customer_id"] != customer.pk:
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
            raise _StaleHints
        elif stored is None:
            result.outcome = Outcome.CREATED
            result.message_uuid = supplied_uuid or str(uuid.uuid4())
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
                result.outcome = Outcome.UNCHANGED
                result.warn(WarningCode.MESSAGE_UNCHANGED, path, "Identical to the stored message; nothing written.")
            else:
                result.outcome = Outcome.UPDATED
                result.warn(WarningCode.MESSAGE_UPDATED, path, "The stored message was replaced by this item.")
                to_update.append((item, result, stored))
    return to_create, to_update


def message_columns(data: dict[str, Any]) -> dict[str, Any]:
    """The Message column values of a normalised item."""
    attributes = data.get("message_attributes") or {}
    times = [t for t in (data.get("sent_on"), data.get("received_on")) if t is not None]
    tags = attributes.get("tags")
    return {
        "callback_path_url": data.get("callback_path_url"),
        "sent_on": data.get("sent_on"),
        "received_on": data.get("received_on"),
        "message_at": max(times),
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
        "is_trashed": bool(tags) and MessageTagValue.TRASH in tags,
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
    context: _Context,
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
        for model in _PART_MODELS:
            rows.delete_rows(model, "message_id", replaced)
        rows.delete_rows(Message, "id", replaced)
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
    _recount(conversation)


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


def _recount(conversation: Conversation) -> None:
    """Recompute the counters of the conversation a batch was written to."""
    recount_conversations(Conversation.objects.filter(pk=conversation.pk))


def recount_conversations(conversations: QuerySet[Conversation]) -> None:
    """Recompute the thread counters from the rows (never incremented), with one statement
    however many conversations.

    Messages are found by customer (one conversation per customer), which the
    (customer, message_at, id) index serves; by conversation, PostgreSQL may walk the
    whole time index instead on a large table.
    """
    messages = Message.objects.filter(customer=OuterRef("customer_id"))
    counted = (
        messages.filter(update_total_message_count=True)
        .order_by()
        .values("customer")
        .annotate(n=Count("id"))
        .values("n")
    )
    latest = messages.filter(update_thread_timestamp=True).order_by("-message_at").values("message_at")[:1]
    conversations.update(
        total_message_count=Coalesce(Subquery(counted), 0),
        last_message_at=Subquery(latest),
        updated_at=timezone.now(),
    )
