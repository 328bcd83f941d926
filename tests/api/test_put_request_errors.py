"""Request-level errors of the historical PUT: the request is refused as a whole.

Every refusal is answered in the source document's response envelope, with one
request-level error (``errorCode``, ``errorDescription``, ``errorUID``), the right HTTP
status, and nothing written: no message, no import batch, no customer.
"""

import json
from typing import Any

import pytest
from django.test.client import FakePayload

from messages_app.errors import ErrorCode, WarningCode
from messages_app.models import Conversation, Customer, ImportBatch, Message
from tests.builders import CUSTOMER_UUID, DEPARTMENT_UUID, minimal_message, url

pytestmark = pytest.mark.django_db

ENVELOPE = ["saveMessageResponse", "succesfullySubmittedSourceUuids", "failedSourceUuids", "errors", "warnings"]


def assert_refused(response, status: int, code: str, path: str = "") -> dict[str, str]:
    """The request was refused with ``status`` and one ``code`` error; nothing was written."""
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert sorted(body) == sorted(ENVELOPE)
    assert body["saveMessageResponse"] == []
    assert body["succesfullySubmittedSourceUuids"] == []
    assert body["failedSourceUuids"] == []
    assert body["warnings"] == []
    (error,) = body["errors"]
    assert sorted(error) == ["errorCode", "errorDescription", "errorUID"]
    assert error["errorCode"] == code
    assert error["errorDescription"]
    if path:
        assert error["errorDescription"].startswith(f"{path}: "), error["errorDescription"]
    assert isinstance(error["errorUID"], str)
    assert error["errorUID"]
    assert_nothing_written()
    return error


def assert_accepted(response, *source_uuids: str) -> None:
    """The request was accepted: 200, no request-level error, every item stored."""
    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == []
    assert body["succesfullySubmittedSourceUuids"] == list(source_uuids)
    assert body["failedSourceUuids"] == []


def assert_nothing_written() -> None:
    assert Message.objects.count() == 0
    assert ImportBatch.objects.count() == 0
    assert Customer.objects.count() == 0
    assert Conversation.objects.count() == 0


def body_of(*items: Any, **top_level: Any) -> bytes:
    return json.dumps({"saveMessageRequestList": list(items), **top_level}).encode()


# --- MALFORMED_JSON (400) ------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"saveMessageRequestList": [{"sourceUuid": "a"',
        b'{"saveMessageRequestList": []} trailing',
        b"{'saveMessageRequestList': []}",
        b'{"saveMessageRequestList": [{"sourceUuid": "caf\xe9"}]}',
        b'{"saveMessageRequestList": [{"sourceUuid": "\xed\xa0\x80"}]}',
        b'{"saveMessageRequestList": [{"sourceUuid": "a", "voiceCallAttributes": {"callStatus": NaN}}]}',
        b'{"saveMessageRequestList": [{"sourceUuid": "a", "voiceCallAttributes": {"callStatus": Infinity}}]}',
        b'{"saveMessageRequestList": [{"sourceUuid": "a", "voiceCallAttributes": {"callStatus": -Infinity}}]}',
        b'{"saveMessageRequestList": [{"sourceUuid": "a", "colour": 1e400}]}',
        b'{"saveMessageRequestList": [{"sourceUuid": "a", "messageAttributes": {"messageTags": [{"value": '
        b'{"x": -1e999}}]}}]}',
        b'{"saveMessageRequestList": [{"sourceUuid": "a", "colour": ' + b"9" * 5000 + b"}]}",
        b"[" * 100_000,
        b'{"saveMessageRequestList": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
    ids=[
        "truncated",
        "trailing-garbage",
        "single-quotes",
        "latin-1-byte",
        "utf-8-encoded-surrogate",
        "NaN",
        "Infinity",
        "minus-Infinity",
        "number-too-large-for-a-double",
        "negative-number-too-large-for-a-double",
        "integer-of-5000-digits",
        "100000-open-brackets",
        "100000-deep-array",
    ],
)
def test_body_that_is_not_valid_json_is_400(put, raw):
    response = put(raw)

    assert_refused(response, 400, ErrorCode.MALFORMED_JSON)


# --- INVALID_REQUEST_SHAPE (400) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (json.dumps([minimal_message(1)]).encode(), ""),
        (b'"saveMessageRequestList"', ""),
        (b"null", ""),
        (b"42", ""),
        (b"", ""),
        (b"{}", "saveMessageRequestList"),
        (json.dumps({"callBackPathUrl": "/done"}).encode(), "saveMessageRequestList"),
        (json.dumps({"saveMessageRequestList": minimal_message(1)}).encode(), "saveMessageRequestList"),
        (json.dumps({"saveMessageRequestList": "[]"}).encode(), "saveMessageRequestList"),
        (json.dumps({"saveMessageRequestList": None}).encode(), "saveMessageRequestList"),
        (body_of(minimal_message(1), callBackPathUrl=42), "callBackPathUrl"),
        (body_of(minimal_message(1), callBackPathUrl={"url": "/done"}), "callBackPathUrl"),
        (body_of(minimal_message(1), callBackPathUrl="/done\u0000"), "callBackPathUrl"),
    ],
    ids=[
        "top-level-list",
        "top-level-string",
        "top-level-null",
        "top-level-number",
        "empty-body",
        "empty-object",
        "list-missing",
        "list-is-an-object",
        "list-is-a-string",
        "list-is-null",
        "callback-is-a-number",
        "callback-is-an-object",
        "callback-has-nul",
    ],
)
def test_body_without_a_usable_top_level_is_400(put, raw, path):
    response = put(raw)

    assert_refused(response, 400, ErrorCode.INVALID_REQUEST_SHAPE, path)


def test_lone_surrogate_in_the_request_callback_is_400(put):
    raw = body_of(minimal_message(1), callBackPathUrl="@@CALLBACK@@").replace(b"@@CALLBACK@@", b"/done\\udc00")

    response = put(raw)

    assert_refused(response, 400, ErrorCode.INVALID_REQUEST_SHAPE, "callBackPathUrl")


# --- EMPTY_REQUEST (400) -------------------------------------------------------------------


def test_empty_message_list_is_400(put):
    response = put(body_of())

    assert_refused(response, 400, ErrorCode.EMPTY_REQUEST, "saveMessageRequestList")


# --- TOO_MANY_MESSAGES (413) ---------------------------------------------------------------


def test_more_messages_than_the_configured_maximum_is_413(put, settings):
    settings.MAX_MESSAGES_PER_REQUEST = 3

    response = put(body_of(*(minimal_message(n) for n in range(4))))

    assert_refused(response, 413, ErrorCode.TOO_MANY_MESSAGES, "saveMessageRequestList")


def test_exactly_the_configured_maximum_is_accepted(put, settings):
    settings.MAX_MESSAGES_PER_REQUEST = 3

    response = put(body_of(*(minimal_message(n) for n in range(3))))

    assert_accepted(response, "min-0", "min-1", "min-2")
    assert Message.objects.count() == 3


def test_1001_messages_exceed_the_default_maximum_of_1000(put):
    response = put(body_of(*(minimal_message(n) for n in range(1001))))

    assert_refused(response, 413, ErrorCode.TOO_MANY_MESSAGES, "saveMessageRequestList")


def test_too_many_items_is_413_even_when_every_item_is_invalid(put, settings):
    settings.MAX_MESSAGES_PER_REQUEST = 2

    response = put(body_of("a", "b", "c"))

    assert_refused(response, 413, ErrorCode.TOO_MANY_MESSAGES, "saveMessageRequestList")


# --- REQUEST_TOO_LARGE (413) ---------------------------------------------------------------


def test_body_over_the_configured_size_is_413(put, settings):
    raw = body_of(minimal_message(1))
    settings.MAX_REQUEST_BYTES = len(raw) - 1

    response = put(raw)

    assert_refused(response, 413, ErrorCode.REQUEST_TOO_LARGE)


def test_body_of_exactly_the_configured_size_is_accepted(put, settings):
    raw = body_of(minimal_message(1))
    settings.MAX_REQUEST_BYTES = len(raw)

    response = put(raw)

    assert_accepted(response, "min-1")
    assert Message.objects.count() == 1


def test_body_over_the_size_limit_is_413_even_when_it_is_not_json(put, settings):
    settings.MAX_REQUEST_BYTES = 100

    response = put(b"x" * 101)

    assert_refused(response, 413, ErrorCode.REQUEST_TOO_LARGE)


# --- UNSUPPORTED_MEDIA_TYPE (415) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (body_of(minimal_message(1)), "text/plain"),
        (body_of(minimal_message(1)), "application/xml"),
        (body_of(minimal_message(1)), "application/vnd.api+json"),
        (b"saveMessageRequestList=x", "application/x-www-form-urlencoded"),
        (
            b"--BOUNDARY\r\n"
            b'Content-Disposition: form-data; name="saveMessageRequestList"\r\n\r\n[]\r\n'
            b"--BOUNDARY--\r\n",
            "multipart/form-data; boundary=BOUNDARY",
        ),
    ],
    ids=["text-plain", "xml", "json-api", "url-encoded-form", "multipart-form"],
)
def test_body_that_is_not_declared_json_is_415(put, raw, content_type):
    response = put(raw, content_type=content_type)

    assert_refused(response, 415, ErrorCode.UNSUPPORTED_MEDIA_TYPE)


def test_body_without_a_content_type_is_415(api):
    raw = body_of(minimal_message(1))
    environ = {
        "REQUEST_METHOD": "PUT",
        "PATH_INFO": url(),
        "QUERY_STRING": "",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": FakePayload(raw),
    }

    response = api.request(**environ)

    assert "CONTENT_TYPE" not in response.wsgi_request.META
    assert_refused(response, 415, ErrorCode.UNSUPPORTED_MEDIA_TYPE)


def test_json_with_a_charset_parameter_is_accepted(put):
    response = put(body_of(minimal_message(1)), content_type="application/json; charset=utf-8")

    assert_accepted(response, "min-1")
    assert Message.objects.count() == 1


# --- INVALID_PATH_PARAMETER (400) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (url(customer_uuid="customer%00one"), "customerUUID"),
        (url(customer_uuid="customer%20one"), "customerUUID"),
        (url(customer_uuid="customer%09one"), "customerUUID"),
        (url(customer_uuid="c" * 256), "customerUUID"),
        (url(department_uuid=DEPARTMENT_UUID[:-1] + "%00"), "departmentUUID"),
        (url(department_uuid="department%20one"), "departmentUUID"),
    ],
    ids=["nul-in-customer", "space-in-customer", "tab-in-customer", "256-char-customer", "nul-in-department", "space"],
)
def test_path_identifier_that_is_not_1_to_255_printable_characters_is_400(put, path, name):
    response = put(body_of(minimal_message(1)), path=path)

    assert_refused(response, 400, ErrorCode.INVALID_PATH_PARAMETER, name)


def test_path_identifier_of_255_characters_is_accepted(put):
    response = put(body_of(minimal_message(1)), path=url(customer_uuid="c" * 255))

    assert_accepted(response, "min-1")
    assert Customer.objects.get().uuid == "c" * 255


# --- INVALID_QUERY_PARAMETER (400) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "name"),
    [("?dryRun=maybe", "dryRun"), ("?dryRun=yes", "dryRun"), ("?dryRun=%00", "dryRun"), ("?x%00y=1", "x\\u0000y")],
    ids=["dryRun-maybe", "dryRun-yes", "dryRun-nul", "nul-in-a-parameter-name"],
)
def test_invalid_query_parameter_is_400(put, query, name):
    response = put(body_of(minimal_message(1)), query=query)

    assert_refused(response, 400, ErrorCode.INVALID_QUERY_PARAMETER, name)


@pytest.mark.parametrize("value", ["true", "TRUE", "1"])
def test_dry_run_true_writes_nothing_and_says_so(put, value):
    response = put(body_of(minimal_message(1)), query=f"?dryRun={value}")

    assert response.status_code == 200
    assert [w["warningCode"] for w in response.json()["warnings"]] == [WarningCode.DRY_RUN]
    assert_nothing_written()


# --- METHOD_NOT_ALLOWED (405) --------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_method_other_than_put_or_get_is_405(api, method):
    response = api.generic(method, url(), data=body_of(minimal_message(1)), content_type="application/json")

    assert_refused(response, 405, ErrorCode.METHOD_NOT_ALLOWED)
    assert "PUT" in response["Allow"]


# --- Request-level warnings ----------------------------------------------------------------


def test_unknown_top_level_field_is_a_request_warning_and_the_items_are_stored(put):
    response = put(body_of(minimal_message(1), colour="red"))

    assert response.status_code == 200
    body = response.json()
    assert body["errors"] == []
    (warning,) = body["warnings"]
    assert warning["warningCode"] == WarningCode.UNKNOWN_FIELD
    assert warning["warningDescription"].startswith("colour: ")
    assert body["succesfullySubmittedSourceUuids"] == ["min-1"]
    assert Message.objects.get().customer.uuid == CUSTOMER_UUID


def test_unknown_top_level_field_with_nul_in_its_name_is_named_escaped(put):
    response = put(body_of(minimal_message(1), **{"col\u0000our": "red"}))

    assert response.status_code == 200
    (warning,) = response.json()["warnings"]
    assert warning["warningCode"] == WarningCode.UNKNOWN_FIELD
    assert warning["warningDescription"].startswith("col\\u0000our: ")
    assert ImportBatch.objects.get().response["warnings"] == [warning]
