"""The compiled validator accepts exactly what the wire serializers accept, with the same result."""

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from messages_app import wire
from messages_app.wire import fields as wire_fields
from messages_app.wire.compiler import Rejected, compile_validator
from tests.builders import full_message, minimal_message

SERIALIZER = wire.SaveMessageRequestSerializer()
COMPILED = compile_validator(SERIALIZER)

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)


def valid_leaf(field: serializers.Field) -> st.SearchStrategy[Any]:
    if isinstance(field, wire_fields.IdentifierField):
        return st.one_of(st.sampled_from(["a", "x" * 255, "x" * 256, "", "a b", "é", "\u00a0x"]), st.text(max_size=4))
    if isinstance(field, wire_fields.EnumField):
        return st.one_of(st.sampled_from(list(field.choices)), st.sampled_from(["f", "fininvitem", ""]))
    if isinstance(field, wire_fields.StrictBooleanField):
        return st.sampled_from([True, False, 0, 1, "true"])
    if isinstance(field, wire_fields.Int64Field):
        return st.sampled_from([0, -1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 1.0, True])
    if isinstance(field, wire_fields.IsoDateTimeField):
        return st.sampled_from(
            ["2025-03-28T11:34:43.227Z", "2025-03-28T11:34:43", "2025-03-28", "0001-01-01T00:00:00+14:00", "x", ""]
        )
    if isinstance(field, wire_fields.StringMapField):
        return st.one_of(st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=3), st.just({"a": 1}))
    if isinstance(field, wire_fields.FreeJSONObjectField):
        deep: Any = {}
        for _ in range(40):
            deep = {"d": deep}
        return st.one_of(st.just({}), st.just({"a": [1, {"b": None}]}), st.just(deep), st.just([1]))
    if isinstance(field, wire_fields.TextField):
        return st.text(max_size=5)
    if isinstance(field, wire_fields.ListOf):
        return st.lists(st.one_of(valid_leaf(field.child), st.none()), max_size=3)
    if isinstance(field, serializers.ListSerializer):
        return st.lists(st.one_of(obj(field.child), st.none()), max_size=2)
    if isinstance(field, serializers.Serializer):
        return obj(field)
    raise TypeError(field)


def obj(serializer: serializers.Serializer) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            name: st.one_of(valid_leaf(field), valid_leaf(field), JUNK) for name, field in serializer.fields.items()
        },
    )


def plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def both(raw: Any) -> tuple[Any, Any]:
    try:
        expected = ("valid", plain(SERIALIZER.run_validation(raw)))
    except ValidationError:
        expected = ("invalid", None)
    try:
        actual = ("valid", plain(COMPILED(raw)))
    except Rejected:
        actual = ("invalid", None)
    return expected, actual


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(obj(SERIALIZER))
def test_compiled_validator_agrees_with_the_serializers_on_generated_items(raw):
    expected, actual = both(raw)

    assert actual == expected


def test_compiled_validator_agrees_on_the_fixtures(seed_example):
    for raw in [seed_example["saveMessageRequestList"][0], full_message(1), minimal_message(2), {}, [], "x"]:
        expected, actual = both(raw)
        assert actual == expected


def test_compiled_validator_returns_the_serializers_data_for_a_full_message():
    assert plain(COMPILED(full_message(3))) == plain(SERIALIZER.run_validation(full_message(3)))
