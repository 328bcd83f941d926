"""Stored messages back to the wire: the item shape the PUT accepts, built from the rows."""

from typing import Any

from .serializers import SaveMessageRequestSerializer

_ITEM_WRITER = SaveMessageRequestSerializer()


class FreeJSON(dict):
    """Marks a free JSON object so that its nulls and empty lists are kept as sent."""


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict) and not isinstance(value, FreeJSON):
        return {k: _without_empty(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value


def to_wire(record: dict[str, Any]) -> dict[str, Any]:
    """A stored message's record (``selectors.message_record``) as a wire item.

    Absent, null and empty lists are left out: they mean the same on the way in.
    """
    item = _ITEM_WRITER.to_representation(record)
    for tag in (item.get("messageAttributes") or {}).get("messageTags") or []:
        if tag.get("value") is not None:
            tag["value"] = FreeJSON(tag["value"])
    return _without_empty(item)
