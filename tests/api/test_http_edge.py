"""The HTTP edge under /communications/: every answer is JSON in the response envelope.

Unknown paths are 404 NOT_FOUND, a trailing slash is an unknown path (never an
APPEND_SLASH redirect), wrong methods 405, dot segments 400 (they are not resolved), and
Django's own error pages are replaced by the envelope. A body sent without
Content-Length (chunked) is read to its end when the server says where it ends
(``wsgi.input_terminated``), else refused with 411. The same under a real gunicorn:
test_live_gunicorn.py.
"""

import io
import json

import pytest
from django.http import HttpResponse, HttpResponseNotFound, HttpResponseServerError

from messages_app.api.edge import in_envelope
from messages_app.errors import ErrorCode
from messages_app.models import Message
from tests.api.support import assert_error_answer, sent_as
from tests.builders import minimal_message, url

pytestmark = pytest.mark.django_db

COLLECTION = url()
ITEM = f"{COLLECTION}/some-message"


# --- 404 NOT_FOUND: paths no route takes ------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/communications",
        "/communications/",
        "/communications/nothing-here",
        "/communications/department/d",
        "/communications/department/d/customer/c",
        "/communications/department/d/customer/c/communication",
        "/communications/department/d/customer/c/communication/current",
        f"{ITEM}/more",
        "/communications/department//customer/c/communication/historical",
        "/communications/schema",
        "/communications/docs",
    ],
    ids=[
        "prefix-alone",
        "prefix-with-slash",
        "unknown-name",
        "department-only",
        "customer-only",
        "without-historical",
        "other-collection",
        "below-a-message",
        "empty-department",
        "schema-without-slash",
        "docs-without-slash",
    ],
)
def test_a_path_no_route_takes_is_404_not_found_in_the_envelope(api, path):
    response = api.get(path)

    assert_error_answer(response, 404, ErrorCode.NOT_FOUND)


@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE", "PATCH"])
def test_any_method_on_an_unknown_path_is_404_without_a_csrf_check(api, method):
    response = api.generic(method, "/communications/nothing-here", data=b"{}", content_type="application/json")

    assert_error_answer(response, 404, ErrorCode.NOT_FOUND)


def test_an_unknown_path_is_404_without_credentials(client):
    response = client.get("/communications/nothing-here")

    assert_error_answer(response, 404, ErrorCode.NOT_FOUND)


# --- Trailing slash: an unknown path, never a redirect -----------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_the_collection_path_with_a_trailing_slash_is_404_not_a_redirect(api, settings, method):
    settings.APPEND_SLASH = True

    response = api.generic(method, f"{COLLECTION}/", data=json.dumps({"saveMessageRequestList": [minimal_message(1)]}))

    assert_error_answer(response, 404, ErrorCode.NOT_FOUND)
    assert not Message.objects.exists()


def test_the_message_path_with_a_trailing_slash_is_404(api):
    response = api.get(f"{ITEM}/")

    assert_error_answer(response, 404, ErrorCode.NOT_FOUND)


def test_the_schema_path_without_its_slash_is_404_not_an_append_slash_redirect(api, settings):
    settings.APPEND_SLASH = True

    response = api.get("/communications/schema")

    assert_error_answer(response, 404, ErrorCode.NOT_FOUND)


# --- 405 METHOD_NOT_ALLOWED -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", COLLECTION), ("DELETE", COLLECTION), ("PATCH", COLLECTION), ("PUT", ITEM), ("DELETE", ITEM)],
    ids=["post-collection", "delete-collection", "patch-collection", "put-message", "delete-message"],
)
def test_a_method_the_route_does_not_take_is_405(api, method, path):
    response = api.generic(method, path, data=b"{}", content_type="application/json")

    assert_error_answer(response, 405, ErrorCode.METHOD_NOT_ALLOWED)


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/communications/schema/"), ("PUT", "/communications/schema/"), ("POST", "/communications/docs/")],
    ids=["delete-schema", "put-schema", "post-docs"],
)
def test_a_wrong_method_on_the_schema_or_docs_is_405_in_json(client, method, path):
    response = client.generic(method, path)

    assert_error_answer(response, 405, ErrorCode.METHOD_NOT_ALLOWED)
    assert "GET" in response["Allow"]


# --- Encoded slashes where no route accepts one: 404 --------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/communications/department%2Fd/customer/c/communication/historical",
        "/communications/department/d/customer/c/communication%2Fhistorical",
        "/communications/schema%2F",
        "/communications%2Fschema/",
    ],
    ids=["in-department-keyword", "between-communication-and-historical", "schema-slash", "after-prefix"],
)
def test_an_encoded_slash_where_no_route_accepts_one_is_404(api, target):
    response = api.get(target, **sent_as(target))

    assert_error_answer(response, 404, ErrorCode.NOT_FOUND)


# --- Dot segments: never resolved, 400 --------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        f"{COLLECTION}/../historical",
        f"{COLLECTION}/./some-message/x",
        "/communications/./schema/",
        "/communications/docs/../schema/",
        f"{COLLECTION}/%2E%2E/historical",
    ],
    ids=["dot-dot-in-the-middle", "dot-in-the-middle", "dot-after-prefix", "dot-dot-below-docs", "encoded-dot-dot"],
)
def test_a_dot_segment_outside_an_identifier_is_400_invalid_path_parameter(api, target):
    response = api.get(target, **sent_as(target))

    error = assert_error_answer(response, 400, ErrorCode.INVALID_PATH_PARAMETER)
    assert "dot segment" in error["errorDescription"]


@pytest.mark.parametrize(
    ("target", "name"),
    [
        (url(customer_uuid=".."), "customerUUID"),
        (url(department_uuid="."), "departmentUUID"),
        (f"{COLLECTION}/..", "messageUuid"),
        (f"{COLLECTION}/%2E", "messageUuid"),
    ],
    ids=["dot-dot-customer", "dot-department", "dot-dot-message", "encoded-dot-message"],
)
def test_a_dot_segment_in_place_of_an_identifier_is_400_naming_it(api, target, name):
    response = api.get(target, **sent_as(target))

    assert_error_answer(response, 400, ErrorCode.INVALID_PATH_PARAMETER, name)


# --- Schema and docs keep answering -------------------------------------------------------


def test_the_schema_and_docs_pages_still_answer(client):
    schema = client.get("/communications/schema/")
    docs = client.get("/communications/docs/")

    assert schema.status_code == 200
    assert schema["Content-Type"].startswith("application/vnd.oai.openapi")
    assert docs.status_code == 200
    assert docs["Content-Type"].startswith("text/html")


# --- Django's own error pages become the envelope -----------------------------------------


def test_a_host_this_server_does_not_serve_is_400_bad_request_in_the_envelope(api):
    response = api.get(COLLECTION, HTTP_HOST="elsewhere.example")

    assert_error_answer(response, 400, ErrorCode.BAD_REQUEST)


def test_outside_the_api_django_error_pages_are_left_alone(client):
    response = client.get("/admin/", HTTP_HOST="elsewhere.example")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("page", "code"),
    [
        (HttpResponseNotFound("<h1>Not Found</h1>"), ErrorCode.NOT_FOUND),
        (HttpResponseServerError("<h1>Oops</h1>"), ErrorCode.INTERNAL_ERROR),
    ],
    ids=["404", "500"],
)
def test_an_html_error_page_is_replaced_by_the_envelope_keeping_status_and_headers(page, code):
    page["X-Kept"] = "yes"

    answer = in_envelope(page)

    assert_error_answer(answer, page.status_code, code)
    assert answer["X-Kept"] == "yes"


def test_a_successful_answer_is_not_touched():
    page = HttpResponse("<p>fine</p>")

    assert in_envelope(page).content == b"<p>fine</p>"


# --- Bodies without Content-Length (chunked) ----------------------------------------------


def chunked_put(api, body: bytes, *, terminated: bool):
    """A PUT as a WSGI server passes a de-chunked body: no CONTENT_LENGTH, Transfer-Encoding kept."""
    environ = {
        "REQUEST_METHOD": "PUT",
        "PATH_INFO": COLLECTION,
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
    }
    if terminated:
        environ["wsgi.input_terminated"] = True
    return api.request(**environ)


def body_of(*items) -> bytes:
    return json.dumps({"saveMessageRequestList": list(items)}).encode()


def test_a_chunked_body_is_read_in_full_when_the_server_marks_its_end(api):
    response = chunked_put(api, body_of(minimal_message(1), minimal_message(2)), terminated=True)

    assert response.status_code == 200, response.content
    assert response.json()["succesfullySubmittedSourceUuids"] == ["min-1", "min-2"]
    assert Message.objects.count() == 2


def test_a_chunked_body_of_exactly_the_limit_is_accepted(api, settings):
    body = body_of(minimal_message(1))
    settings.MAX_REQUEST_BYTES = len(body)

    response = chunked_put(api, body, terminated=True)

    assert response.status_code == 200, response.content
    assert Message.objects.count() == 1


def test_a_chunked_body_over_the_limit_is_413_request_too_large(api, settings):
    body = body_of(minimal_message(1))
    settings.MAX_REQUEST_BYTES = len(body) - 1

    response = chunked_put(api, body, terminated=True)

    assert_error_answer(response, 413, ErrorCode.REQUEST_TOO_LARGE)
    assert not Message.objects.exists()


def test_a_chunked_body_the_server_cannot_delimit_is_411_length_required(api):
    response = chunked_put(api, body_of(minimal_message(1)), terminated=False)

    assert_error_answer(response, 411, ErrorCode.LENGTH_REQUIRED)
    assert not Message.objects.exists()


def test_a_chunked_body_is_not_read_before_the_client_is_authenticated(client):
    body = body_of(minimal_message(1))
    stream = io.BytesIO(body)
    environ = {
        "REQUEST_METHOD": "PUT",
        "PATH_INFO": COLLECTION,
        "CONTENT_TYPE": "application/json",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input_terminated": True,
        "wsgi.input": stream,
    }

    response = client.request(**environ)

    assert_error_answer(response, 401, ErrorCode.AUTHENTICATION_REQUIRED)
    assert stream.tell() == 0
