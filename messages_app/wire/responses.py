"""The seed's response envelope, built in one place for every answer.

The ingest service answers with one ``saveMessageResponse`` entry per item; the API's
exception handler answers a refused request with no entries and its errors. Both build
the envelope here, so its field names (note the seed's spelling ``succesfully``) exist
once.
"""

from collections.abc import Sequence
from typing import Any, Protocol

import orjson

from ..errors import Problem

RESPONSE_ITEMS = "saveMessageResponse"


class ItemAnswer(Protocol):
    """What the envelope needs to know of one item's result."""

    source_uuid: str | None
    message_uuid: str | None
    errors: list[Problem]
    warnings: list[Problem]

    @property
    def succeeded(self) -> bool: ...


def item_response(item: ItemAnswer) -> dict[str, Any]:
    """One ``saveMessageResponse`` entry."""
    return {
        "sourceUuid": item.source_uuid,
        "messageUuid": item.message_uuid,
        "errors": [problem.as_error() for problem in item.errors],
        "warnings": [problem.as_warning() for problem in item.warnings],
    }


def response_envelope(
    items: Sequence[ItemAnswer] = (), *, errors: Sequence[Problem] = (), warnings: Sequence[Problem] = ()
) -> dict[str, Any]:
    """The whole answer: an entry per item in request order, then the request's own problems."""
    return {
        RESPONSE_ITEMS: [item_response(item) for item in items],
        "succesfullySubmittedSourceUuids": [item.source_uuid for item in items if item.succeeded],
        "failedSourceUuids": [
            item.source_uuid for item in items if not item.succeeded and item.source_uuid is not None
        ],
        "errors": [problem.as_error() for problem in errors],
        "warnings": [problem.as_warning() for problem in warnings],
    }


class EncodedEnvelope(dict):
    """An envelope with its JSON already encoded (``encode_envelope``): the ingest service
    encodes its answer once, for the import batch that stores it and for the response."""

    def __init__(self, envelope: dict[str, Any], encoded: bytes) -> None:
        super().__init__(envelope)
        self.encoded = encoded


# DRF's JSON renderer escapes these two (valid JSON, but not valid JavaScript); so do we.
_LINE_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


def encode_envelope(envelope: dict[str, Any]) -> bytes:
    """The envelope's JSON, byte for byte what DRF's JSON renderer writes (compact, UTF-8,
    U+2028 and U+2029 escaped) for an envelope, which holds only strings, lists, objects
    and nulls; orjson writes it several times faster than the standard library."""
    encoded = orjson.dumps(envelope)
    for raw, escaped in _LINE_SEPARATORS:
        if raw in encoded:
            encoded = encoded.replace(raw, escaped)
    return encoded
