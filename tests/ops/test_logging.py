"""Log lines: one error summary per answer (every errorUID on it), the request's context on
every line, X-Request-ID, and JSON lines with LOG_FORMAT=json."""

import copy
import io
import json
import logging
import logging.config

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from messages_app.ops.middleware import REQUEST_ID_HEADER
from tests.builders import CLIENT_NAME, DEPARTMENT_UUID, minimal_message, url, with_attrs

pytestmark = pytest.mark.django_db


def error_uids(body):
    entries = body["saveMessageResponse"]
    return [error["errorUID"] for entry in entries for error in entry["errors"]] + [
        error["errorUID"] for error in body["errors"]
    ]


def records_with(caplog, text):
    return [record for record in caplog.records if text in record.getMessage()]


# --- One line per answer --------------------------------------------------------------------


def test_a_put_with_failed_items_logs_one_line_carrying_every_error_uid(put, caplog):
    caplog.set_level(logging.INFO)
    items = [with_attrs(minimal_message(n), purpose="nope") for n in range(5)] + [minimal_message(9, sentOn=None)]

    body = put([*items, minimal_message(10)]).json()

    uids = error_uids(body)
    assert len(uids) == 6
    (line,) = records_with(caplog, "errorUIDs=")
    assert line.getMessage().startswith("ingest: 6 items failed (INVALID_ENUM_VALUE 5, MISSING_TIMESTAMP 1) errorUIDs=")
    assert line.error_uids == uids
    assert all(uid in line.getMessage() for uid in uids)


def test_a_fully_successful_put_logs_no_error_line(put, caplog):
    caplog.set_level(logging.INFO)

    response = put([minimal_message(1), minimal_message(2)])

    assert response.status_code == 200
    assert records_with(caplog, "errorUID") == []


def test_a_refused_request_logs_one_line_with_its_error_uid(put, caplog):
    caplog.set_level(logging.INFO)

    body = put(b"{not json").json()

    (uid,) = error_uids(body)
    (line,) = records_with(caplog, "errorUID")
    assert line.getMessage().startswith(f"request refused: 400 MALFORMED_JSON errorUID={uid} ")
    assert line.error_uids == [uid]


# --- Request context and X-Request-ID -------------------------------------------------------


def test_every_line_of_a_request_carries_its_context(put, caplog):
    caplog.set_level(logging.INFO)

    response = put([with_attrs(minimal_message(1), purpose="nope")])

    request_id = response[REQUEST_ID_HEADER]
    (summary,) = records_with(caplog, "errorUIDs=")
    assert (summary.request_id, summary.client, summary.department, summary.address) == (
        request_id,
        CLIENT_NAME,
        DEPARTMENT_UUID,
        "127.0.0.1",
    )
    (access,) = [record for record in caplog.records if record.name == "messages_app.access"]
    assert access.getMessage().startswith(f"PUT {url()} 200 ")
    assert (access.request_id, access.status) == (request_id, 200)
    assert access.duration_ms >= 0


def test_a_sane_x_request_id_is_kept_and_echoed(api):
    response = api.get(url(), HTTP_X_REQUEST_ID="edge-7f3a:42")

    assert response[REQUEST_ID_HEADER] == "edge-7f3a:42"


@pytest.mark.parametrize(
    "inbound", ["has space", "x" * 129, "ünïcode", "", "tab\there"], ids=["space", "long", "non-ascii", "empty", "tab"]
)
def test_an_unusable_x_request_id_is_replaced(api, inbound):
    response = api.get(url(), HTTP_X_REQUEST_ID=inbound)

    assert response[REQUEST_ID_HEADER] != inbound
    assert len(response[REQUEST_ID_HEADER]) == 32


def test_a_request_without_x_request_id_gets_one(api):
    first, second = api.get(url()), api.get(url())

    assert first[REQUEST_ID_HEADER] != second[REQUEST_ID_HEADER]


# --- LOG_FORMAT=json ------------------------------------------------------------------------


@pytest.fixture
def json_log():
    """The project's LOGGING with LOG_FORMAT=json, its console writing into a buffer."""
    buffer = io.StringIO()
    config = copy.deepcopy(settings.LOGGING)
    config["handlers"]["console"].update(formatter="json", stream=buffer)
    config["root"]["level"] = "INFO"
    logging.config.dictConfig(config)
    yield buffer
    logging.config.dictConfig(settings.LOGGING)


def test_json_lines_of_a_put_carry_the_request_context(put, json_log):
    response = put([minimal_message(1), with_attrs(minimal_message(2), purpose="nope")])

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    summary, access = lines[-2], lines[-1]
    for line in (summary, access):
        assert line["request_id"] == response[REQUEST_ID_HEADER]
        assert line["client"] == CLIENT_NAME
        assert line["department"] == DEPARTMENT_UUID
        assert line["address"] == "127.0.0.1"
        assert {"time", "level", "logger", "message"} <= line.keys()
    assert summary["error_uids"] == error_uids(response.json())
    assert summary["level"] == "INFO"
    assert (access["logger"], access["method"], access["path"], access["status"]) == (
        "messages_app.access",
        "PUT",
        url(),
        200,
    )
    assert isinstance(access["duration_ms"], float)


def test_djangos_warning_about_a_refused_request_carries_the_request_id(caplog):
    caplog.set_level(logging.INFO)

    response = APIClient().get(url(), HTTP_X_REQUEST_ID="probe-401")

    assert response.status_code == 401
    (warning,) = [record for record in caplog.records if record.name == "django.request"]
    assert (warning.getMessage(), warning.request_id) == (f"Unauthorized: {url()}", "probe-401")
