"""Path identifiers are read from the bytes the client sent, and may hold any character.

Routes resolve on the raw request target (gunicorn's RAW_URI, uWSGI's REQUEST_URI) split on
literal "/", each segment percent-decoded: ``%2F`` stays inside its identifier, bytes that
are not UTF-8 are a 400 (never an identifier rewritten to "%XX"), and an identifier is
stored exactly as decoded. The Django test client passes no raw target, so these tests
add RAW_URI as gunicorn does (``sent_as``); the same requests through a real gunicorn are
in test_live_gunicorn.py.
"""

from urllib.parse import quote

import pytest
from django.urls import reverse

from messages_app.api.paths import IdentifierConverter, canonical_path, path_segments
from messages_app.clients import register_client
from messages_app.enums import ApiScope
from messages_app.errors import ErrorCode
from messages_app.identifiers import is_identifier
from messages_app.models import Customer, Department, Message
from tests.api.support import assert_error_answer, sent_as
from tests.builders import CLIENT_NAME, CUSTOMER_UUID, DEPARTMENT_UUID, minimal_message, url

pytestmark = pytest.mark.django_db


def encoded(identifier: str) -> str:
    """An identifier as a path segment: every reserved character percent-encoded, "/" included."""
    return quote(identifier, safe="")


# --- Bytes that are not UTF-8: 400, nothing stored ------------------------------------------

NOT_UTF8 = ["x%FFy", "x%ED%A0%80y", "x%C0%AFy", "x%80y", "x%E2%82y"]
NOT_UTF8_IDS = ["byte-FF", "encoded-surrogate-D800", "overlong-slash", "lone-continuation-byte", "truncated-sequence"]


@pytest.mark.parametrize("segment", NOT_UTF8, ids=NOT_UTF8_IDS)
def test_a_customer_uuid_that_is_not_utf8_is_400_and_nothing_is_stored(put, segment):
    target = url(customer_uuid=segment)

    response = put([minimal_message(1)], path=target, **sent_as(target))

    error = assert_error_answer(response, 400, ErrorCode.INVALID_PATH_PARAMETER, "customerUUID")
    assert "UTF-8" in error["errorDescription"]
    assert not Customer.objects.exists()


@pytest.mark.parametrize("segment", NOT_UTF8, ids=NOT_UTF8_IDS)
def test_a_department_uuid_that_is_not_utf8_is_400(put, segment):
    target = url(department_uuid=segment)

    response = put([minimal_message(1)], path=target, **sent_as(target))

    assert_error_answer(response, 400, ErrorCode.INVALID_PATH_PARAMETER, "departmentUUID")


@pytest.mark.parametrize("segment", NOT_UTF8, ids=NOT_UTF8_IDS)
def test_a_message_uuid_that_is_not_utf8_is_400(api, segment):
    target = f"{url()}/{segment}"

    response = api.get(target, **sent_as(target))

    assert_error_answer(response, 400, ErrorCode.INVALID_PATH_PARAMETER, "messageUuid")


def test_a_nul_in_a_path_identifier_is_400(put):
    target = url(customer_uuid="x%00y")

    response = put([minimal_message(1)], path=target, **sent_as(target))

    assert_error_answer(response, 400, ErrorCode.INVALID_PATH_PARAMETER, "customerUUID")


def test_a_raw_byte_and_the_same_text_percent_encoded_are_not_the_same_customer(put):
    byte_target, text_target = url(customer_uuid="alias%FF"), url(customer_uuid="alias%25FF")

    byte_answer = put([minimal_message(1)], path=byte_target, **sent_as(byte_target))
    text_answer = put([minimal_message(2)], path=text_target, **sent_as(text_target))

    assert_error_answer(byte_answer, 400, ErrorCode.INVALID_PATH_PARAMETER, "customerUUID")
    assert text_answer.status_code == 200, text_answer.content
    assert list(Customer.objects.values_list("uuid", flat=True)) == ["alias%FF"]


@pytest.mark.parametrize("identifier", ["é-customer", "客户", "\U0001f600"], ids=["latin", "cjk", "emoji"])
def test_a_utf8_path_identifier_is_stored_as_decoded(put, identifier):
    target = url(customer_uuid=encoded(identifier))

    response = put([minimal_message(1)], path=target, **sent_as(target))

    assert response.status_code == 200, response.content
    assert Customer.objects.get().uuid == identifier


# --- "/" and other reserved characters inside identifiers ---------------------------------

BASE64_UUID = "Ab+/cd/ef=="


def test_a_message_uuid_with_slashes_is_read_back_by_its_percent_encoded_path(put, api):
    put([minimal_message(1, messageUuid=BASE64_UUID)])
    target = f"{url()}/Ab%2B%2Fcd%2Fef%3D%3D"

    response = api.get(target, **sent_as(target))

    assert response.status_code == 200, response.content
    assert response.json()["messageUuid"] == BASE64_UUID


def test_a_lowercase_percent_encoding_reads_the_same_message(put, api):
    put([minimal_message(1, messageUuid=BASE64_UUID)])
    target = f"{url()}/Ab%2b%2fcd%2fef%3d%3d"

    response = api.get(target, **sent_as(target))

    assert response.status_code == 200, response.content
    assert response.json()["messageUuid"] == BASE64_UUID


@pytest.fixture
def slash_department(api_client_record) -> Department:
    """A department "d/1" the test client holds both scopes on."""
    register_client(CLIENT_NAME, ["d/1"], ApiScope.values)
    return Department.objects.get(uuid="d/1")


def test_a_customer_and_department_with_slashes_work_in_put_and_get(put, api, slash_department):
    target = url(department_uuid="d%2F1", customer_uuid="c%2F1")

    stored = put([minimal_message(1)], path=target, **sent_as(target))
    listed = api.get(target, **sent_as(target))

    assert stored.status_code == 200, stored.content
    customer = Customer.objects.get()
    assert (customer.department.uuid, customer.uuid) == ("d/1", "c/1")
    assert listed.status_code == 200, listed.content
    assert [item["sourceUuid"] for item in listed.json()["results"]] == ["min-1"]


def test_a_page_link_keeps_the_slash_of_an_identifier_encoded(put, api, slash_department):
    target = url(department_uuid="d%2F1", customer_uuid="c%2F1")
    put([minimal_message(1), minimal_message(2, sentOn="2024-02-02T12:00:00Z")], path=target, **sent_as(target))

    first = api.get(target, {"pageSize": 1}, **sent_as(f"{target}?pageSize=1")).json()
    next_target = first["next"].removeprefix("http://testserver")
    second = api.get(next_target, **sent_as(next_target)).json()

    assert next_target.startswith(f"{target}?")
    assert [item["sourceUuid"] for item in first["results"] + second["results"]] == ["min-1", "min-2"]


@pytest.mark.parametrize(
    "identifier",
    ["a%b", "a?b", "a#b", "a;b", "a+b", "a~b", "50%25"],
    ids=["percent", "question-mark", "hash", "semicolon", "plus", "tilde", "percent-two-five"],
)
def test_a_reserved_character_in_a_customer_uuid_round_trips(put, api, identifier):
    target = url(customer_uuid=encoded(identifier))

    stored = put([minimal_message(1)], path=target, **sent_as(target))
    listed = api.get(target, **sent_as(target))

    assert stored.status_code == 200, stored.content
    assert Customer.objects.get().uuid == identifier
    assert [item["sourceUuid"] for item in listed.json()["results"]] == ["min-1"]


# --- Without a raw target (a server that passes none) ---------------------------------------


def test_without_a_raw_target_an_encoded_slash_is_a_separator(put):
    response = put([minimal_message(1)], path=url(customer_uuid="c%2F1"))

    assert_error_answer(response, 404, ErrorCode.NOT_FOUND)
    assert not Message.objects.exists()


@pytest.mark.parametrize("segment", ["alias%25FF", "alias%FF"], ids=["percent-text", "raw-byte"])
def test_without_a_raw_target_a_percent_in_the_path_is_refused_as_ambiguous(put, segment):
    response = put([minimal_message(1)], path=url(customer_uuid=segment))

    error = assert_error_answer(response, 400, ErrorCode.INVALID_PATH_PARAMETER)
    assert "RAW_URI" in error["errorDescription"]
    assert not Customer.objects.exists()


def test_without_a_raw_target_a_plain_path_still_works(put):
    response = put([minimal_message(1)])

    assert response.status_code == 200, response.content
    assert Customer.objects.get().uuid == CUSTOMER_UUID


def test_the_uwsgi_request_uri_serves_as_the_raw_target(put, api):
    put([minimal_message(1, messageUuid=BASE64_UUID)])
    target = f"{url()}/Ab%2B%2Fcd%2Fef%3D%3D"

    response = api.get(target, REQUEST_URI=target)

    assert response.status_code == 200, response.content
    assert response.json()["messageUuid"] == BASE64_UUID


# --- Dot identifiers ------------------------------------------------------------------------


@pytest.mark.parametrize("identifier", [".", ".."])
def test_dot_identifiers_break_the_identifier_rule(identifier):
    assert not is_identifier(identifier)
    assert is_identifier(f"{identifier}x") and is_identifier("...")


# --- The pieces: raw segments, canonical path, converter, reverse ---------------------------


@pytest.mark.parametrize(
    ("environ", "segments"),
    [
        ({"PATH_INFO": "/a/b/c", "RAW_URI": "/a/b%2Fc?x=%2F"}, [b"", b"a", b"b/c"]),
        ({"PATH_INFO": "/a/b/c", "REQUEST_URI": "/a/b%2Fc"}, [b"", b"a", b"b/c"]),
        ({"PATH_INFO": "/a/b/c", "RAW_URI": "http://host:8000/a/b%2Fc"}, [b"", b"a", b"b/c"]),
        ({"PATH_INFO": "/a/b/c", "SCRIPT_NAME": "/api", "RAW_URI": "/api/a/b%2Fc"}, [b"", b"a", b"b/c"]),
        ({"PATH_INFO": "/a/x%FF", "RAW_URI": "/a/x%FF"}, [b"", b"a", b"x\xff"]),
        ({"PATH_INFO": "/a/other", "RAW_URI": "/a/b%2Fc"}, [b"", b"a", b"other"]),
        ({"PATH_INFO": "/a/b/c"}, [b"", b"a", b"b", b"c"]),
        ({"PATH_INFO": "/a/x%FF"}, None),
    ],
    ids=[
        "raw-uri-with-query",
        "request-uri",
        "absolute-form-target",
        "below-script-name",
        "byte-that-is-not-utf8",
        "raw-target-that-disagrees-is-ignored",
        "no-raw-target",
        "no-raw-target-and-a-percent",
    ],
)
def test_path_segments_come_from_the_raw_target_when_it_agrees_with_the_path(environ, segments):
    assert path_segments(environ) == segments


def test_the_canonical_path_encodes_every_segment_in_full():
    assert (
        canonical_path([b"", b"communications", b"Ab+/cd=", b"x\xff", b"."]) == "/communications/Ab%2B%2Fcd%3D/x%FF/."
    )


@pytest.mark.parametrize(
    ("segment", "identifier"),
    [("Ab%2B%2Fcd%3D", "Ab+/cd="), ("%C3%A9", "é"), ("x%FFy", "x\udcffy"), ("plain", "plain")],
    ids=["base64", "utf8", "not-utf8-as-a-lone-surrogate", "plain"],
)
def test_the_converter_decodes_a_canonical_segment_to_the_identifier_sent(segment, identifier):
    assert IdentifierConverter().to_python(segment) == identifier


def test_reverse_quotes_an_identifier_it_can_place():
    path = reverse(
        "api:historical-message",
        kwargs={"departmentUUID": DEPARTMENT_UUID, "customerUUID": "50%", "messageUuid": "é"},
    )

    assert path.endswith("/customer/50%25/communication/historical/%C3%A9")
