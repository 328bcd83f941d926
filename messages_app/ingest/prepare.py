"""Phase 1 of the ingest service: validate and normalise every item into plain records.

No database here: type checks, enumerations, timestamps, unstorable strings, duplicates
within the request, coherence warnings and the canonical hash. An item that is exactly
the one already stored (by the hash of its bytes) skips validation; the write phase
confirms the match under its locks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, NamedTuple

import orjson
from django.utils import timezone
from rest_framework.exceptions import ErrorDetail, ValidationError

from .. import wire
from ..enums import MessageType, Protocol
from ..errors import UNSTORABLE_RE, ErrorCode, WarningCode, find_unstorable
from ..wire import ITEMS_PATH, Rejected, compile_validator
from .results import ItemResult

FUTURE_TOLERANCE = timedelta(minutes=5)


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
    stored: StoredIntake | None = None
    # Set by the write phase: the stored message is now built from exactly these bytes.
    stored_from_bytes: bool = False

    @cached_property
    def supplied_message_uuid(self) -> str | None:
        value = self.raw.get("messageUuid")
        return value if isinstance(value, str) else None


class StoredRow(NamedTuple):
    """The columns of a stored message the write phase classifies a trusted item by, and
    its row version (PostgreSQL's ``xmin``: any write to the row changes it)."""

    id: int
    customer_id: int
    message_uuid: str
    corrected_at: datetime | None
    version: str


class StoredIntake(NamedTuple):
    """What phase 1 needs to know of a stored message to trust a byte-identical re-send.

    ``row`` (PostgreSQL only) is what the write phase needs to classify the item (the
    stored message's id, customer, messageUuid, correction time and row version), so that
    it only has to confirm, under its locks, that the row has not changed since.
    """

    source_hash: str
    warnings: list[tuple[str, str, str]]
    row: StoredRow | None = None


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
            item.stored = known
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
