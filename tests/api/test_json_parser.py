"""The request body decoder: orjson when it reads the body exactly, else the standard library."""

import pytest

from messages_app.wire.decoding import has_long_number, loads


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"n": 123456789012345678}', False),
        (b'{"n": 1234567890123456789}', True),
        (b'{"n": -99999999999999999999999}', True),
        (b'{"a": 123456789, "b": 1234567890}', False),
        (b'{"s": "0000000000000000000"}', True),
        (b"{}", False),
    ],
    ids=["18 digits", "19 digits", "23 digits", "digits split by a comma", "digits in a string", "no digits"],
)
def test_a_run_of_19_digits_is_found(body, expected):
    assert has_long_number(body) is expected


@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**30, 2**63 - 1])
def test_integers_of_any_size_are_read_exactly(number):
    assert loads(b'{"n": %d}' % number) == {"n": number}
