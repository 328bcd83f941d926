"""The field types of the wire format: strict about JSON types, exact about strings.

Fields are strict about JSON types (no "1" for true, no 5 for "5") and keep strings
exactly as sent (no trimming). Every field is optional and null means absent, as the
source document's examples use them.
"""

from datetime import UTC, datetime
from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..errors import ErrorCode
from ..identifiers import IDENTIFIER_EXPECTED, IDENTIFIER_MAX_LENGTH, IDENTIFIER_PATTERN, is_identifier

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FREE_JSON_MAX_DEPTH = 32
# An item is stored as received (source_payload): bounded so that encoding it never recurses too
# deep. Known fields nest at most 36 levels (a free JSON value at its limit); only unknown ones go deeper.
ITEM_MAX_DEPTH = 64


def parse_datetime(value: str) -> tuple[datetime, bool] | None:
    """Parse an ISO 8601 date-time; return it in UTC and whether it had no offset."""
    if len(value) < 16 or value[10] not in "Tt ":
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC), True
    try:
        return parsed.astimezone(UTC), False
    except OverflowError:  # 0001-01-01T00:00+01:00 or 9999-12-31T23:59-01:00: no such UTC date-time
        return None


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether objects and arrays are nested more than ``limit`` levels (``{"a": 1}`` is one)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class _Optional:
    """Defaults shared by every wire field: optional, and null means absent."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)


class TextField(_Optional, serializers.CharField):
    """A JSON string, kept exactly (no trimming, empty allowed)."""

    default_error_messages = {ErrorCode.INVALID_FIELD_TYPE: "Expected a string."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        return data


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": IDENTIFIER_MAX_LENGTH,
        "pattern": IDENTIFIER_PATTERN,
        "description": "An opaque identifier, stored as given.",
    }
)
class IdentifierField(TextField):
    """An opaque identifier (``identifiers.IDENTIFIER_RULE``)."""

    default_error_messages = {ErrorCode.INVALID_IDENTIFIER: IDENTIFIER_EXPECTED}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", IDENTIFIER_MAX_LENGTH)
        super().__init__(**kwargs)
        self.validators = []

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if isinstance(data, str) and data == "":  # CharField returns "" without calling to_internal_value
            self.fail(ErrorCode.INVALID_IDENTIFIER)
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not is_identifier(value):
            self.fail(ErrorCode.INVALID_IDENTIFIER)
        return value


class EnumField(_Optional, serializers.ChoiceField):
    """A case-sensitive value of one of the source document's enumerations.

    Its error lists the allowed values when there are at most ``LISTED_VALUES``; a longer
    list (113 purposes) is named by its enum in the OpenAPI document instead.
    """

    LISTED_VALUES = 12
    default_error_messages = {ErrorCode.INVALID_FIELD_TYPE: "Expected a string."}

    def __init__(self, enum: type[models.TextChoices], **kwargs: Any) -> None:
        kwargs["choices"] = enum.choices
        super().__init__(**kwargs)
        self.enum = enum
        self.error_messages[ErrorCode.INVALID_ENUM_VALUE] = invalid_enum_message(enum, self.LISTED_VALUES)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        if data not in self.choices:
            self.fail(ErrorCode.INVALID_ENUM_VALUE, input=data[:100])
        return data


def invalid_enum_message(enum: type[models.TextChoices], listed: int) -> str:
    """The message of a value outside ``enum``, with ``{input}`` for the value."""
    values = list(enum.values)
    if len(values) <= listed:
        return '"{input}" is not one of ' + ", ".join(values) + " (case-sensitive)."
    name = f"{enum.__name__}Enum"
    return (
        '"{input}" is not one of the ' + f"{len(values)} values of {name} (case-sensitive); they are listed in "
        f"the OpenAPI document at /communications/schema/ under components.schemas.{name}."
    )


class StrictBooleanField(_Optional, serializers.BooleanField):
    """A JSON true or false, nothing else."""

    default_error_messages = {ErrorCode.INVALID_FIELD_TYPE: "Expected true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        return data


class Int64Field(_Optional, serializers.IntegerField):
    """A JSON integer within the signed 64-bit range (``int64`` in the source)."""

    default_error_messages = {
        ErrorCode.INVALID_FIELD_TYPE: "Expected an integer.",
        ErrorCode.VALUE_OUT_OF_RANGE: "Expected an integer between -2^63 and 2^63-1.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", INT64_MIN)
        kwargs.setdefault("max_value", INT64_MAX)
        super().__init__(**kwargs)
        self.validators = []

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        if not INT64_MIN <= data <= INT64_MAX:
            self.fail(ErrorCode.VALUE_OUT_OF_RANGE)
        return data


class IsoDateTimeField(_Optional, serializers.DateTimeField):
    """An ISO 8601 date-time; without an offset it is taken as UTC (the ingest service warns)."""

    default_error_messages = {
        ErrorCode.INVALID_FIELD_TYPE: "Expected an ISO 8601 date-time string.",
        ErrorCode.INVALID_DATETIME: '"{input}" is not an ISO 8601 date-time such as 2025-03-28T11:34:43.227Z.',
    }

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        parsed = parse_datetime(data)
        if parsed is None:
            self.fail(ErrorCode.INVALID_DATETIME, input=data[:100])
        return parsed[0]

    def to_representation(self, value: datetime) -> str:
        """UTC with a Z, in milliseconds when that loses nothing (as the source's examples)."""
        value = value.astimezone(UTC)
        timespec = "milliseconds" if value.microsecond % 1000 == 0 else "microseconds"
        if value.microsecond == 0:
            timespec = "seconds"
        return value.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


class StringMapField(_Optional, serializers.DictField):
    """A JSON object whose values are all strings (``metaData``, ``buttonActionEventData``)."""

    default_error_messages = {ErrorCode.INVALID_FIELD_TYPE: "Expected an object whose values are strings."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.CharField(trim_whitespace=False, allow_blank=True))
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        return data


@extend_schema_field({"type": "object", "additionalProperties": {}, "description": "A free JSON object."})
class FreeJSONObjectField(_Optional, serializers.JSONField):
    """A free JSON object (``messageTags[].value``), at most 32 levels deep."""

    default_error_messages = {
        ErrorCode.INVALID_FIELD_TYPE: "Expected a JSON object.",
        ErrorCode.NESTING_TOO_DEEP: f"Nested more than {FREE_JSON_MAX_DEPTH} levels deep.",
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        if json_depth_exceeds(data, FREE_JSON_MAX_DEPTH):
            self.fail(ErrorCode.NESTING_TOO_DEEP)
        return data


class ListOf(_Optional, serializers.ListField):
    """A JSON array of one kind of value."""

    default_error_messages = {ErrorCode.INVALID_FIELD_TYPE: "Expected a list."}

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        return super().to_internal_value(data)


class WireSerializer(serializers.Serializer):
    """A nested object of the wire format: optional, null means absent, type-checked."""

    default_error_messages = {ErrorCode.INVALID_FIELD_TYPE: "Expected a JSON object."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not kwargs.get("many"):
            kwargs.setdefault("required", False)
            kwargs.setdefault("allow_null", True)
        super().__init__(*args, **kwargs)

    @classmethod
    def many_init(cls, *args: Any, **kwargs: Any) -> serializers.ListSerializer:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs["child"] = cls(allow_null=False)
        return StrictListSerializer(*args, **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        return super().to_internal_value(data)


class StrictListSerializer(serializers.ListSerializer):
    default_error_messages = {ErrorCode.INVALID_FIELD_TYPE: "Expected a list."}

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, list):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        return super().to_internal_value(data)
