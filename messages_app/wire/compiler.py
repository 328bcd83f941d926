"""A fast validator compiled from the wire serializers.

DRF validates a fully populated message in about 270 µs, most of it framework overhead
(field dispatch, validators, error plumbing) rather than checks. ``compile_validator``
walks a wire serializer once and builds plain closures that make the same checks and
return the same ``validated_data``; it says nothing about *why* an item is invalid.
The ingest service runs it first and, only for an item it rejects, runs the DRF
serializer, which stays the single definition of the format and of its error messages.
A test (``test_wire_compiler.py``) checks that both accept and produce exactly the same.
"""

from collections.abc import Callable
from typing import Any

from rest_framework import serializers

from ..errors import UNSTORABLE_RE
from . import fields as wire_fields

Validator = Callable[[Any], Any]


class Rejected(Exception):
    """The compiled validator found the value invalid; ask the serializer why."""


_REJECTED = Rejected()


def _reject() -> Any:
    raise _REJECTED


def _storable(text: str) -> bool:
    """No NUL and no lone surrogate, which DRF's CharField refuses too (``isascii`` is a
    flag lookup in CPython, so ASCII text costs one ``memchr``)."""
    return "\x00" not in text if text.isascii() else UNSTORABLE_RE.search(text) is None


def _leaf(field: serializers.Field) -> Validator:
    if isinstance(field, wire_fields.IdentifierField):
        is_identifier = wire_fields.is_identifier

        def identifier(value: Any) -> str:
            return value if is_identifier(value) else _reject()

        return identifier
    if isinstance(field, wire_fields.TextField):

        def text(value: Any) -> str:
            return value if value.__class__ is str and _storable(value) else _reject()

        return text
    if isinstance(field, wire_fields.EnumField):
        choices = frozenset(field.choices)

        def enum(value: Any) -> str:
            return value if value.__class__ is str and value in choices else _reject()

        return enum
    if isinstance(field, wire_fields.StrictBooleanField):

        def boolean(value: Any) -> bool:
            return value if value is True or value is False else _reject()

        return boolean
    if isinstance(field, wire_fields.Int64Field):
        low, high = wire_fields.INT64_MIN, wire_fields.INT64_MAX

        def int64(value: Any) -> int:
            return value if value.__class__ is int and low <= value <= high else _reject()

        return int64
    if isinstance(field, wire_fields.IsoDateTimeField):
        parse = wire_fields.parse_datetime

        def date_time(value: Any) -> Any:
            parsed = parse(value) if value.__class__ is str else None
            return parsed[0] if parsed is not None else _reject()

        return date_time
    if isinstance(field, wire_fields.StringMapField):

        def string_map(value: Any) -> dict[str, str]:
            if value.__class__ is dict and all(v.__class__ is str for v in value.values()):
                return value
            return _reject()

        return string_map
    if isinstance(field, wire_fields.FreeJSONObjectField):
        exceeds, limit = wire_fields.json_depth_exceeds, wire_fields.FREE_JSON_MAX_DEPTH

        def free_object(value: Any) -> dict[str, Any]:
            return value if value.__class__ is dict and not exceeds(value, limit) else _reject()

        return free_object
    if isinstance(field, wire_fields.ListOf):
        child = _nullable(field.child)

        def list_of(value: Any) -> list[Any]:
            return [child(v) for v in value] if value.__class__ is list else _reject()

        return list_of
    if isinstance(field, serializers.ListSerializer):
        child = _nullable(field.child)

        def list_of_objects(value: Any) -> list[Any]:
            return [child(v) for v in value] if value.__class__ is list else _reject()

        return list_of_objects
    if isinstance(field, serializers.Serializer):
        return _object(field)
    raise TypeError(f"No compiled check for {type(field).__name__}; add one or keep DRF for it.")


def _nullable(field: serializers.Field) -> Validator:
    check = _leaf(field)
    if not field.allow_null:

        def not_null(value: Any) -> Any:
            return _reject() if value is None else check(value)

        return not_null

    def nullable(value: Any) -> Any:
        return None if value is None else check(value)

    return nullable


def _object(serializer: serializers.Serializer) -> Validator:
    fields = [(name, field.source, _nullable(field)) for name, field in serializer.fields.items()]

    def obj(value: Any) -> dict[str, Any]:
        if value.__class__ is not dict:
            return _reject()
        validated = {}
        for name, source, check in fields:
            if name in value:
                validated[source] = check(value[name])
        return validated

    return obj


def compile_validator(serializer: serializers.Serializer) -> Validator:
    """A function returning ``serializer``'s validated data for a valid value, raising
    ``Rejected`` otherwise."""
    return _object(serializer)
