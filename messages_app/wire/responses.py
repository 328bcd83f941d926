"""The seed's response envelope, built in one place for every answer.

The ingest service answers with one ``saveMessageResponse`` entry per item; the API's
exception handler answers a refused request with no entries and its errors. Both build
the envelope here, so its field names (note the seed's spelling ``succesfully``) exist
once.
"""

from collections.abc import Sequence
from typing import Any, Protocol

from ..errors import Problem


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
        "saveMessageResponse": [item_response(item) for item in items],
        "succesfullySubmittedSourceUuids": [item.source_uuid for item in items if item.succeeded],
        "failedSourceUuids": [
            item.source_uuid for item in items if not item.succeeded and item.source_uuid is not None
        ],
        "errors": [problem.as_error() for problem in errors],
        "warnings": [problem.as_warning() for problem in warnings],
    }
