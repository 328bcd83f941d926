"""The top level of a PUT body (or of an import document): items, callback URL, warnings."""

from typing import Any

from ..errors import UNSTORABLE_RE, EmptyRequest, InvalidRequestShape, Problem, TooManyMessages, WarningCode
from .serializers import REQUEST_FIELDS

ITEMS_PATH = "saveMessageRequestList"


def parse_request(data: Any, *, max_items: int) -> tuple[list[Any], str | None, list[Problem]]:
    """Check the top level of a PUT body; return its items, callback URL and warnings.

    Raises a ``RequestError`` (nothing is written) when the body as a whole is unusable.
    Items themselves are validated one by one by the ingest service.
    """
    if type(data) is not dict:
        raise InvalidRequestShape(f"The body must be a JSON object with a {ITEMS_PATH} array.")
    items = data.get(ITEMS_PATH)
    if not isinstance(items, list):
        raise InvalidRequestShape("Must be an array of messages.", path=ITEMS_PATH)
    if not items:
        raise EmptyRequest("Must hold at least one message.", path=ITEMS_PATH)
    if len(items) > max_items:
        raise TooManyMessages(
            f"Holds {len(items)} messages; at most {max_items} are accepted per request.",
            path=ITEMS_PATH,
        )
    callback = data.get("callBackPathUrl")
    if callback is not None and not isinstance(callback, str):
        raise InvalidRequestShape("Must be a string.", path="callBackPathUrl")
    if callback is not None and UNSTORABLE_RE.search(callback):
        raise InvalidRequestShape("Contains NUL (\\u0000) or a lone surrogate.", path="callBackPathUrl")
    warnings = [
        Problem(WarningCode.UNKNOWN_FIELD, key, "Not part of the format; ignored.")
        for key in data
        if key not in REQUEST_FIELDS
    ]
    return items, callback or None, warnings
