"""Item-level errors and warnings of the historical PUT: every code the catalogue gives an item.

Each test sends a bad item between two valid ones, as ``saveMessageRequestList[1]``, and
checks the whole contract of partial success: HTTP 200, exactly the expected error code
on the bad item, an ``errorDescription`` that starts with the field path, a fresh
``errorUID``, the bad item not stored, and the valid items of the same request stored.
"""

import copy
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from messages_app.clients import register_client
from messages_app.errors import ErrorCode, WarningCode
from messages_app.models import Attachment, DraftAttributes, ImportBatch, Message, MessageTag, VoiceCallAttributes
from tests.builders import (
    CLIENT_NAME,
    CLIENT_SECRET,
    CUSTOMER_UUID,
    DEPARTMENT_UUID,
    full_message,
    minimal_message,
    url,
)

pytestmark = pytest.mark.django_db

BAD = "saveMessageRequestList[1]"
VALID_SOURCES = ["min-0", "min-2"]
OTHER_CUSTOMER = "another-customer-of-the-department"
OTHER_DEPARTMENT = "b" * 64


# --- Helpers -------------------------------------------------------------------------------


def put_between_valid_items(put, bad_item: Any, **kwargs: Any):
    """PUT ``[valid, bad_item, valid]``: the bad item is ``saveMessageRequestList[1]``."""
    return put([minimal_message(0), bad_item, minimal_message(2)], **kwargs)


def changed(item: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of ``item`` with the value at ``dotted`` (``a.b[0].c``) set to ``value``."""
    item = copy.deepcopy(item)
    keys = [int(key[1:-1]) if key.startswith("[") else key for key in re.findall(r"\[\d+\]|[^.\[\]]+", dotted)]
    node = item
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return item


def without(item: dict[str, Any], *fields: str) -> dict[str, Any]:
    item = copy.deepcopy(item)
    for name in fields:
        del item[name]
    return item


def nested(depth: int) -> dict[str, Any]:
    """Objects nested exactly ``depth`` levels deep: ``nested(1) == {"level": 1}``."""
    value: Any = depth
    for _ in range(depth):
        value = {"level": value}
    return value


def error_uids(body: dict[str, Any]) -> list[str]:
    entries = [*body["saveMessageResponse"], body]
    return [error["errorUID"] for entry in entries for error in entry["errors"]]


def stored_sources() -> list[str]:
    """The sourceUuids stored for the path's department and customer."""
    messages = Message.objects.filter(department__uuid=DEPARTMENT_UUID, customer__uuid=CUSTOMER_UUID)
    return sorted(messages.values_list("source_uuid", flat=True))


def assert_item_rejected(
    response, code: str, path: str, *, failed: list[str], stored_before: tuple[str, ...] = ()
) -> dict[str, str]:
    """Item [1] failed with exactly ``code`` at ``path``; items [0] and [2] were stored.

    ``stored_before``: sourceUuids this customer already had before the request.
    """
    assert response.status_code == 200
    body = response.json()
    first, bad, last = body["saveMessageResponse"]
    assert [error["errorCode"] for error in bad["errors"]] == [code], bad["errors"]
    (error,) = bad["errors"]
    assert error["errorDescription"].startswith(f"{path}: "), error["errorDescription"]
    assert isinstance(error["errorUID"], str)
    assert error["errorUID"]
    assert bad["messageUuid"] is None
    assert first["errors"] == last["errors"] == []
    assert first["messageUuid"]
    assert last["messageUuid"]
    assert body["succesfullySubmittedSourceUuids"] == VALID_SOURCES
    assert body["failedSourceUuids"] == failed
    assert body["errors"] == []
    uids = error_uids(body)
    assert len(set(uids)) == len(uids)
    assert stored_sources() == sorted([*VALID_SOURCES, *stored_before])
    return error


def assert_item_stored_with_warnings(response, source_uuid: str, expected: list[tuple[str, str]]) -> Message:
    """Item [1] was stored, with exactly the ``(code, path)`` warnings expected."""
    assert response.status_code == 200
    body = response.json()
    entry = body["saveMessageResponse"][1]
    assert entry["errors"] == []
    assert entry["messageUuid"]
    # A description is "<path>: <detail>"; compared as (code, path), in any order.
    warnings = sorted((w["warningCode"], w["warningDescription"].partition(": ")[0]) for w in entry["warnings"])
    assert warnings == sorted(expected), entry["warnings"]
    assert body["succesfullySubmittedSourceUuids"] == ["min-0", source_uuid, "min-2"]
    assert body["failedSourceUuids"] == []
    message = Message.objects.get(source_uuid=source_uuid)
    assert message.message_uuid == entry["messageUuid"]
    assert stored_sources() == sorted([*VALID_SOURCES, source_uuid])
    return message


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- errorUID ------------------------------------------------------------------------------


def test_every_error_occurrence_gets_its_own_error_uid(put):
    bad = changed(minimal_message(1), "messageAttributes.purpose", "NOPE")
    same_mistake = changed(bad, "sourceUuid", "min-3")

    first = put([bad, same_mistake]).json()
    second = put([bad]).json()

    uids = error_uids(first) + error_uids(second)
    assert len(uids) == 3
    assert len(set(uids)) == 3


def test_error_uid_is_written_to_the_server_log(put, caplog):
    caplog.set_level(logging.INFO, logger="messages_app.ingest")

    body = put([minimal_message(1, sentOn="not a date")]).json()

    (uid,) = error_uids(body)
    assert any(uid in record.getMessage() and "INVALID_DATETIME" in record.getMessage() for record in caplog.records)


def test_every_problem_of_an_item_is_reported(put):
    bad = changed(minimal_message(1), "messageAttributes.type", "SMS")
    bad = changed(bad, "messageAttributes.protocol", "PIGEON")

    body = put_between_valid_items(put, bad).json()

    errors = body["saveMessageResponse"][1]["errors"]
    assert sorted((e["errorCode"], e["errorDescription"].split(":")[0]) for e in errors) == [
        (ErrorCode.INVALID_ENUM_VALUE, f"{BAD}.messageAttributes.protocol"),
        (ErrorCode.INVALID_ENUM_VALUE, f"{BAD}.messageAttributes.type"),
    ]
    assert stored_sources() == VALID_SOURCES


def test_a_request_whose_every_item_fails_is_still_answered_200_and_stores_no_message(put):
    response = put([{"sentOn": "2024-02-01T12:00:00Z"}, "not an item"])

    assert response.status_code == 200
    body = response.json()
    assert [e["errors"][0]["errorCode"] for e in body["saveMessageResponse"]] == [
        ErrorCode.MISSING_SOURCE_UUID,
        ErrorCode.INVALID_ITEM,
    ]
    assert body["succesfullySubmittedSourceUuids"] == []
    assert Message.objects.count() == 0
    assert ImportBatch.objects.get().failed_count == 2


# --- MISSING_SOURCE_UUID -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "failed"),
    [
        (without(minimal_message(1), "sourceUuid"), []),
        (minimal_message(1, sourceUuid=None), []),
        (minimal_message(1, sourceUuid=""), [""]),
    ],
    ids=["absent", "null", "empty"],
)
def test_missing_source_uuid_is_an_item_error(put, bad, failed):
    response = put_between_valid_items(put, bad)

    assert_item_rejected(response, ErrorCode.MISSING_SOURCE_UUID, f"{BAD}.sourceUuid", failed=failed)


# --- DUPLICATE_SOURCE_UUID -----------------------------------------------------------------


def test_second_occurrence_of_a_source_uuid_in_one_request_is_an_item_error(put):
    duplicate = changed(minimal_message(0), "messageAttributes.body", "second copy")

    response = put_between_valid_items(put, duplicate)

    assert_item_rejected(response, ErrorCode.DUPLICATE_SOURCE_UUID, f"{BAD}.sourceUuid", failed=["min-0"])
    assert Message.objects.get(source_uuid="min-0").body == "hello 0"


# --- SOURCE_UUID_CUSTOMER_CONFLICT ---------------------------------------------------------


def test_source_uuid_stored_under_another_customer_is_an_item_error_not_a_move(put):
    put([minimal_message(1)], path=url(customer_uuid=OTHER_CUSTOMER))
    moved = changed(minimal_message(1), "messageAttributes.body", "moved?")

    response = put_between_valid_items(put, moved)

    assert_item_rejected(response, ErrorCode.SOURCE_UUID_CUSTOMER_CONFLICT, f"{BAD}.sourceUuid", failed=["min-1"])
    kept = Message.objects.get(source_uuid="min-1")
    assert (kept.customer.uuid, kept.body) == (OTHER_CUSTOMER, "hello 1")


# --- MESSAGE_UUID_CONFLICT -----------------------------------------------------------------


def test_message_uuid_of_another_message_of_the_department_is_an_item_error(put):
    put([minimal_message(9, messageUuid="taken-message-uuid")])

    response = put_between_valid_items(put, minimal_message(1, messageUuid="taken-message-uuid"))

    assert_item_rejected(
        response, ErrorCode.MESSAGE_UUID_CONFLICT, f"{BAD}.messageUuid", failed=["min-1"], stored_before=("min-9",)
    )
    assert Message.objects.get(message_uuid="taken-message-uuid").source_uuid == "min-9"


def test_message_uuid_of_a_message_in_another_department_is_an_item_error(put, api_client_record):
    register_client(CLIENT_NAME, [OTHER_DEPARTMENT], secret=CLIENT_SECRET)
    elsewhere = put([minimal_message(1, messageUuid="taken-message-uuid")], path=url(department_uuid=OTHER_DEPARTMENT))
    assert elsewhere.json()["succesfullySubmittedSourceUuids"] == ["min-1"]

    response = put_between_valid_items(put, minimal_message(1, messageUuid="taken-message-uuid"))

    assert_item_rejected(response, ErrorCode.MESSAGE_UUID_CONFLICT, f"{BAD}.messageUuid", failed=["min-1"])
    owner = Message.objects.get(message_uuid="taken-message-uuid")
    assert owner.department.uuid == OTHER_DEPARTMENT


def test_resend_with_a_different_message_uuid_than_the_stored_one_is_an_item_error(put):
    put([minimal_message(1, messageUuid="first-message-uuid")])
    resend = changed(minimal_message(1, messageUuid="second-message-uuid"), "messageAttributes.body", "changed")

    response = put_between_valid_items(put, resend)

    error = assert_item_rejected(
        response, ErrorCode.MESSAGE_UUID_CONFLICT, f"{BAD}.messageUuid", failed=["min-1"], stored_before=("min-1",)
    )
    assert "first-message-uuid" in error["errorDescription"]
    kept = Message.objects.get(source_uuid="min-1")
    assert (kept.message_uuid, kept.body) == ("first-message-uuid", "hello 1")


def test_same_message_uuid_twice_in_one_request_is_an_item_error_on_the_second(put):
    items = [minimal_message(0, messageUuid="shared"), minimal_message(1, messageUuid="shared"), minimal_message(2)]

    response = put(items)

    assert_item_rejected(response, ErrorCode.MESSAGE_UUID_CONFLICT, f"{BAD}.messageUuid", failed=["min-1"])
    assert Message.objects.get(message_uuid="shared").source_uuid == "min-0"


# --- MISSING_TIMESTAMP ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [without(minimal_message(1), "sentOn"), minimal_message(1, sentOn=None, receivedOn=None)],
    ids=["both-absent", "both-null"],
)
def test_item_without_sent_on_or_received_on_is_an_item_error(put, bad):
    response = put_between_valid_items(put, bad)

    assert_item_rejected(response, ErrorCode.MISSING_TIMESTAMP, BAD, failed=["min-1"])


def test_received_on_alone_is_enough(put):
    item = minimal_message(1, sentOn=None, receivedOn="2024-02-01T12:00:00Z")

    response = put_between_valid_items(put, item)

    message = assert_item_stored_with_warnings(response, "min-1", [])
    assert message.received_on == datetime(2024, 2, 1, 12, tzinfo=UTC)


# --- TIMESTAMP_IN_FUTURE -------------------------------------------------------------------


@pytest.mark.parametrize("field", ["sentOn", "receivedOn", "voiceCallAttributes.callDateTime"])
def test_timestamp_more_than_five_minutes_ahead_is_an_item_error(put, field):
    bad = changed(full_message(1), field, iso(timezone.now() + timedelta(minutes=10)))

    response = put_between_valid_items(put, bad)

    assert_item_rejected(response, ErrorCode.TIMESTAMP_IN_FUTURE, f"{BAD}.{field}", failed=["src-000001"])


def test_future_timestamp_with_an_offset_is_compared_in_utc(put):
    ahead = (timezone.now() + timedelta(minutes=10)).astimezone(timezone.get_fixed_timezone(-600))

    response = put_between_valid_items(put, minimal_message(1, sentOn=ahead.isoformat()))

    assert_item_rejected(response, ErrorCode.TIMESTAMP_IN_FUTURE, f"{BAD}.sentOn", failed=["min-1"])


def test_timestamp_one_minute_ahead_is_accepted(put):
    ahead = (timezone.now() + timedelta(minutes=1)).replace(microsecond=0)

    response = put_between_valid_items(put, minimal_message(1, sentOn=iso(ahead)))

    message = assert_item_stored_with_warnings(response, "min-1", [])
    assert message.sent_on == ahead


# --- INVALID_DATETIME ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sentOn", "yesterday"),
        ("sentOn", "2024-02-30T10:00:00Z"),
        ("sentOn", "2024-02-01"),
        ("sentOn", "01/02/2024 10:00:00"),
        ("sentOn", "2024-02-01T25:00:00Z"),
        ("sentOn", "0001-01-01T00:00:00+14:00"),
        ("receivedOn", "9999-12-31T23:59:59-14:00"),
        ("voiceCallAttributes.callDateTime", "2024-02-01T10:00:00 UTC"),
    ],
    ids=[
        "words",
        "february-30",
        "date-only",
        "not-iso",
        "hour-25",
        "before-year-1-in-utc",
        "after-year-9999-in-utc",
        "zone-name",
    ],
)
def test_date_time_that_is_not_iso_8601_is_an_item_error(put, field, value):
    bad = changed(full_message(1), field, value)

    response = put_between_valid_items(put, bad)

    assert_item_rejected(response, ErrorCode.INVALID_DATETIME, f"{BAD}.{field}", failed=["src-000001"])


def test_earliest_representable_date_time_is_stored(put):
    response = put_between_valid_items(put, minimal_message(1, sentOn="0001-01-01T00:00:00Z"))

    message = assert_item_stored_with_warnings(response, "min-1", [])
    assert message.sent_on == datetime(1, 1, 1, tzinfo=UTC)


# --- INVALID_ENUM_VALUE --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("messageAttributes.purpose", "NOT_A_PURPOSE", "messageAttributes.purpose"),
        ("messageAttributes.purpose", "fininvitem", "messageAttributes.purpose"),
        ("messageAttributes.purpose", "", "messageAttributes.purpose"),
        ("messageAttributes.type", "SMS", "messageAttributes.type"),
        ("messageAttributes.type", "outgoing", "messageAttributes.type"),
        ("messageAttributes.protocol", "FAX", "messageAttributes.protocol"),
        ("messageAttributes.draftAttributes.draftStatus", "PENDING", "messageAttributes.draftAttributes.draftStatus"),
        (
            "messageAttributes.draftAttributes.draftFailureReason",
            "BAD_WEATHER",
            "messageAttributes.draftAttributes.draftFailureReason",
        ),
        (
            "notificationAttributes.notificationButtons[1].buttonTheme",
            "primary",
            "notificationAttributes.notificationButtons[1].buttonTheme",
        ),
        ("messageAttributes.tags", ["TRASH", "SPAM"], "messageAttributes.tags[1]"),
    ],
    ids=[
        "unknown-purpose",
        "purpose-wrong-case",
        "purpose-empty",
        "unknown-type",
        "type-wrong-case",
        "unknown-protocol",
        "unknown-draftStatus",
        "unknown-draftFailureReason",
        "buttonTheme-wrong-case",
        "unknown-tag",
    ],
)
def test_value_outside_the_enumeration_is_an_item_error(put, field, value, path):
    bad = changed(full_message(1), field, value)

    response = put_between_valid_items(put, bad)

    assert_item_rejected(response, ErrorCode.INVALID_ENUM_VALUE, f"{BAD}.{path}", failed=["src-000001"])


def item_error_description(response) -> str:
    (entry,) = [entry for entry in response.json()["saveMessageResponse"] if entry["errors"]]
    return entry["errors"][0]["errorDescription"]


def test_an_enum_error_lists_the_allowed_values_of_a_short_enumeration(put):
    bad = changed(full_message(1), "messageAttributes.type", "SMS")

    description = item_error_description(put_between_valid_items(put, bad))

    assert description == (
        f'{BAD}.messageAttributes.type: "SMS" is not one of DRAFT, DISCARDED_DRAFT, OUTGOING, INCOMING, NOTE '
        "(case-sensitive)."
    )


def test_an_enum_error_of_a_long_enumeration_points_to_its_enum_in_the_openapi_document(put, api):
    bad = changed(full_message(1), "messageAttributes.purpose", "NOT_A_PURPOSE")

    description = item_error_description(put_between_valid_items(put, bad))

    assert description == (
        f'{BAD}.messageAttributes.purpose: "NOT_A_PURPOSE" is not one of the 113 values of PurposeEnum '
        "(case-sensitive); they are listed in the OpenAPI document at /communications/schema/ under "
        "components.schemas.PurposeEnum."
    )
    schema = api.get("/communications/schema/", HTTP_ACCEPT="application/json").json()
    assert len(schema["components"]["schemas"]["PurposeEnum"]["enum"]) == 113


@pytest.mark.parametrize("purpose", ["FinInviteM", "CIWNotOp", "CardSave_RCPT"])
def test_mixed_case_purposes_of_the_source_document_are_accepted(put, purpose):
    item = changed(minimal_message(1), "messageAttributes.purpose", purpose)

    response = put_between_valid_items(put, item)

    assert assert_item_stored_with_warnings(response, "min-1", []).purpose == purpose


# --- INVALID_FIELD_TYPE --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("messageAttributes.body", 5, "messageAttributes.body"),
        ("messageAttributes.subject", True, "messageAttributes.subject"),
        ("userUuid", 12345, "userUuid"),
        ("sentOn", 1706788800, "sentOn"),
        ("messageAttributes.isManual", "true", "messageAttributes.isManual"),
        ("messageAttributes.updateThreadTimestamp", 1, "messageAttributes.updateThreadTimestamp"),
        ("messageAttributes", "a message", "messageAttributes"),
        ("notificationAttributes", ["a", "list"], "notificationAttributes"),
        ("messageAttributes.draftAttributes", "SCHEDULED", "messageAttributes.draftAttributes"),
        ("messageAttributes.attachments", {"fileURL": "https://x"}, "messageAttributes.attachments"),
        ("messageAttributes.attachments[0]", "https://x", "messageAttributes.attachments[0]"),
        ("messageAttributes.attachments[1]", None, "messageAttributes.attachments[1]"),
        ("messageAttributes.tags", "TRASH", "messageAttributes.tags"),
        ("messageAttributes.tags", [None], "messageAttributes.tags[0]"),
        ("messageAttributes.metaData", "k1=v1", "messageAttributes.metaData"),
        ("messageAttributes.metaData", {"k1": 1}, "messageAttributes.metaData"),
        ("messageAttributes.metaData", ["k1", "v1"], "messageAttributes.metaData"),
        ("messageAttributes.messageTags[0].value", ["a", "list"], "messageAttributes.messageTags[0].value"),
        ("messageAttributes.messageTags[0].value", "text", "messageAttributes.messageTags[0].value"),
        (
            "messageAttributes.messageTags[1].secondaryAttributes",
            {"value": "x"},
            "messageAttributes.messageTags[1].secondaryAttributes",
        ),
        (
            "notificationAttributes.notificationButtons[0].buttonActionEventData",
            {"action": {"nested": "object"}},
            "notificationAttributes.notificationButtons[0].buttonActionEventData",
        ),
        (
            "notificationAttributes.additionalNotifierNotificationDAUUIDs",
            "da-1",
            "notificationAttributes.additionalNotifierNotificationDAUUIDs",
        ),
        ("voiceCallAttributes.callStatus", 1.5, "voiceCallAttributes.callStatus"),
        ("voiceCallAttributes.callStatus", 3.0, "voiceCallAttributes.callStatus"),
        ("voiceCallAttributes.callStatus", "3", "voiceCallAttributes.callStatus"),
        ("voiceCallAttributes.callStatus", True, "voiceCallAttributes.callStatus"),
        ("voiceCallAttributes.recordCall", "false", "voiceCallAttributes.recordCall"),
    ],
    ids=[
        "number-for-string",
        "boolean-for-string",
        "number-for-identifier",
        "number-for-date-time",
        "string-true-for-boolean",
        "one-for-boolean",
        "string-for-object",
        "list-for-object",
        "string-for-draftAttributes",
        "object-for-list",
        "string-for-list-entry-object",
        "null-list-entry",
        "string-for-tags-list",
        "null-tag",
        "string-for-metaData",
        "number-in-metaData",
        "list-for-metaData",
        "list-for-free-json-object",
        "string-for-free-json-object",
        "object-for-secondaryAttributes",
        "object-in-buttonActionEventData",
        "string-for-identifier-list",
        "float-for-callStatus",
        "integral-float-for-callStatus",
        "string-for-callStatus",
        "boolean-for-callStatus",
        "string-false-for-boolean",
    ],
)
def test_value_of_the_wrong_json_type_is_an_item_error(put, field, value, path):
    bad = changed(full_message(1), field, value)

    response = put_between_valid_items(put, bad)

    assert_item_rejected(response, ErrorCode.INVALID_FIELD_TYPE, f"{BAD}.{path}", failed=["src-000001"])


@pytest.mark.parametrize("value", [42, ["src-1"], {"id": "src-1"}, True], ids=["number", "list", "object", "boolean"])
def test_source_uuid_of_the_wrong_json_type_is_an_item_error_and_not_echoed(put, value):
    response = put_between_valid_items(put, minimal_message(1, sourceUuid=value))

    assert_item_rejected(response, ErrorCode.INVALID_FIELD_TYPE, f"{BAD}.sourceUuid", failed=[])
    assert response.json()["saveMessageResponse"][1]["sourceUuid"] is None


# --- INVALID_IDENTIFIER --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("userUuid", "", "userUuid"),
        ("userUuid", "user 1", "userUuid"),
        ("messageUuid", "x" * 256, "messageUuid"),
        ("communicationUid", "tab\there", "communicationUid"),
        ("communicationUid", "line\nbreak", "communicationUid"),
        ("communicationUid", "zero\u200bwidth", "communicationUid"),
        ("communicationUid", " leading-space", "communicationUid"),
        ("messageUuid", ".", "messageUuid"),
        ("userUuid", "..", "userUuid"),
        ("messageAttributes.messageTags[0].tagTypeUuid", "", "messageAttributes.messageTags[0].tagTypeUuid"),
        (
            "messageAttributes.messageTags[1].parentTags[0].tagTypeUuid",
            "parent type",
            "messageAttributes.messageTags[1].parentTags[0].tagTypeUuid",
        ),
        (
            "notificationAttributes.additionalNotifierNotificationDAUUIDs",
            ["da-ok", ""],
            "notificationAttributes.additionalNotifierNotificationDAUUIDs[1]",
        ),
    ],
    ids=[
        "empty-userUuid",
        "space-inside",
        "256-characters",
        "tab-inside",
        "newline-inside",
        "zero-width-space",
        "leading-space",
        "dot",
        "dot-dot",
        "empty-tagTypeUuid",
        "space-in-parent-tagTypeUuid",
        "empty-notifier-uuid",
    ],
)
def test_identifier_that_is_not_1_to_255_printable_characters_is_an_item_error(put, field, value, path):
    bad = changed(full_message(1), field, value)

    response = put_between_valid_items(put, bad)

    assert_item_rejected(response, ErrorCode.INVALID_IDENTIFIER, f"{BAD}.{path}", failed=["src-000001"])


@pytest.mark.parametrize(
    "value", ["src 1", "s" * 256, ".", ".."], ids=["space-inside", "256-characters", "dot", "dot-dot"]
)
def test_invalid_source_uuid_is_an_item_error_echoed_as_sent(put, value):
    response = put_between_valid_items(put, minimal_message(1, sourceUuid=value))

    assert_item_rejected(response, ErrorCode.INVALID_IDENTIFIER, f"{BAD}.sourceUuid", failed=[value])


@pytest.mark.parametrize("identifier", ["x" * 255, "é" * 255, "\U0001f600" * 255], ids=["ascii", "latin", "emoji"])
def test_identifier_of_255_characters_is_stored_as_given(put, identifier):
    item = minimal_message(1, sourceUuid=identifier, messageUuid=identifier, userUuid=identifier)

    response = put_between_valid_items(put, item)

    message = assert_item_stored_with_warnings(response, identifier, [])
    assert (message.message_uuid, message.user_uuid) == (identifier, identifier)


# --- VALUE_OUT_OF_RANGE --------------------------------------------------------------------


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30], ids=["2^63", "-2^63-1", "10^30"])
def test_call_status_outside_int64_is_an_item_error(put, value):
    bad = changed(full_message(1), "voiceCallAttributes.callStatus", value)

    response = put_between_valid_items(put, bad)

    assert_item_rejected(
        response, ErrorCode.VALUE_OUT_OF_RANGE, f"{BAD}.voiceCallAttributes.callStatus", failed=["src-000001"]
    )


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63)], ids=["2^63-1", "-2^63"])
def test_call_status_at_the_int64_limits_is_stored_exactly(put, value):
    item = changed(full_message(1), "voiceCallAttributes.callStatus", value)

    response = put_between_valid_items(put, item)

    message = assert_item_stored_with_warnings(response, "src-000001", [])
    assert VoiceCallAttributes.objects.get(message=message).call_status == value


# --- UNSTORABLE_STRING ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("messageAttributes.body", "before\u0000after", "messageAttributes.body"),
        ("messageAttributes.subject", "\u0000", "messageAttributes.subject"),
        ("userUuid", "user\u00001", "userUuid"),
        ("messageAttributes.metaData", {"k1": "v1", "bad\u0000key": "v"}, "messageAttributes.metaData (a key)"),
        ("messageAttributes.metaData", {"k1": "v1", "k2": "bad\u0000value"}, "messageAttributes.metaData.k2"),
        (
            "messageAttributes.messageTags[0].value",
            {"deep": {"list": ["fine", "bad\u0000"]}},
            "messageAttributes.messageTags[0].value.deep.list[1]",
        ),
        (
            "messageAttributes.messageTags[1].value",
            {"ok": {"bad\u0000key": 1}},
            "messageAttributes.messageTags[1].value.ok (a key)",
        ),
        (
            "notificationAttributes.notificationButtons[0].buttonActionEventData",
            {"action": "open\u0000"},
            "notificationAttributes.notificationButtons[0].buttonActionEventData.action",
        ),
        (
            "messageAttributes.attachments[1].fileURL",
            "https://files.example/\u0000.pdf",
            "messageAttributes.attachments[1].fileURL",
        ),
        (
            "messageAttributes.messageTags[0].secondaryAttributes[1].value",
            "\u0000",
            "messageAttributes.messageTags[0].secondaryAttributes[1].value",
        ),
        ("voiceCallAttributes.transcribeText", "said \u0000", "voiceCallAttributes.transcribeText"),
        ("unknownField", "kept as received \u0000", "unknownField"),
    ],
    ids=[
        "body",
        "subject",
        "identifier",
        "metaData-key",
        "metaData-value",
        "free-json-value",
        "free-json-key",
        "buttonActionEventData",
        "attachment",
        "secondary-attribute",
        "voice-call-text",
        "unknown-field",
    ],
)
def test_nul_character_is_an_item_error(put, field, value, path):
    bad = changed(full_message(1), field, value)

    response = put_between_valid_items(put, bad)

    assert_item_rejected(response, ErrorCode.UNSTORABLE_STRING, f"{BAD}.{path}", failed=["src-000001"])


def test_nul_character_in_the_source_uuid_is_an_item_error_and_not_echoed(put):
    response = put_between_valid_items(put, minimal_message(1, sourceUuid="src\u00001"))

    assert_item_rejected(response, ErrorCode.UNSTORABLE_STRING, f"{BAD}.sourceUuid", failed=[])
    assert response.json()["saveMessageResponse"][1]["sourceUuid"] is None


def raw_body_with(placeholder_item: dict[str, Any], placeholder: str, json_text: str) -> bytes:
    """The request as JSON text, ``placeholder`` replaced by ``json_text`` (a raw escape)."""
    text = json.dumps({"saveMessageRequestList": [minimal_message(0), placeholder_item, minimal_message(2)]})
    assert text.count(placeholder) == 1
    return text.replace(placeholder, json_text).encode()


@pytest.mark.parametrize(
    ("field", "escape"),
    [("messageAttributes.body", "\\ud800"), ("messageAttributes.subject", "before \\udfff after")],
    ids=["high-surrogate", "low-surrogate"],
)
def test_lone_surrogate_is_an_item_error(put, field, escape):
    body = raw_body_with(changed(minimal_message(1), field, "@@PLACEHOLDER@@"), "@@PLACEHOLDER@@", escape)

    response = put(body)

    assert_item_rejected(response, ErrorCode.UNSTORABLE_STRING, f"{BAD}.{field}", failed=["min-1"])


def test_lone_surrogate_in_a_metadata_key_is_an_item_error(put):
    item = changed(minimal_message(1), "messageAttributes.metaData", {"@@PLACEHOLDER@@": "v"})

    response = put(raw_body_with(item, "@@PLACEHOLDER@@", "\\ud83d"))

    assert_item_rejected(
        response, ErrorCode.UNSTORABLE_STRING, f"{BAD}.messageAttributes.metaData (a key)", failed=["min-1"]
    )


def test_escaped_surrogate_pair_is_a_character_and_is_stored(put):
    item = changed(minimal_message(1), "messageAttributes.body", "@@PLACEHOLDER@@")

    response = put(raw_body_with(item, "@@PLACEHOLDER@@", "smile \\ud83d\\ude00"))

    assert assert_item_stored_with_warnings(response, "min-1", []).body == "smile \U0001f600"


# --- NESTING_TOO_DEEP ----------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 40], ids=["33-levels", "40-levels"])
def test_free_json_value_nested_more_than_32_levels_is_an_item_error(put, depth):
    bad = changed(full_message(1), "messageAttributes.messageTags[1].value", nested(depth))

    response = put_between_valid_items(put, bad)

    assert_item_rejected(
        response, ErrorCode.NESTING_TOO_DEEP, f"{BAD}.messageAttributes.messageTags[1].value", failed=["src-000001"]
    )


def test_free_json_value_nested_32_levels_is_stored_as_sent(put):
    item = changed(full_message(1), "messageAttributes.messageTags[1].value", nested(32))

    response = put_between_valid_items(put, item)

    message = assert_item_stored_with_warnings(response, "src-000001", [])
    assert MessageTag.objects.get(message=message, position=1).value == nested(32)


@pytest.mark.parametrize("depth", [100, 500], ids=["100-levels", "500-levels"])
def test_unknown_field_nested_too_deep_to_keep_as_received_is_an_item_error(put, depth):
    bad = changed(minimal_message(1), "history", nested(depth))

    response = put_between_valid_items(put, bad)

    assert_item_rejected(response, ErrorCode.NESTING_TOO_DEEP, f"{BAD}.history", failed=["min-1"])


# --- INVALID_ITEM --------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["a message", 42, 4.2, True, None, ["sourceUuid", "x"]])
def test_entry_that_is_not_a_json_object_is_an_item_error(put, bad):
    response = put_between_valid_items(put, bad)

    assert_item_rejected(response, ErrorCode.INVALID_ITEM, BAD, failed=[])
    assert response.json()["saveMessageResponse"][1]["sourceUuid"] is None


# --- Warnings: the item is stored ----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "path"),
    [("sentOn", "sentOn"), ("voiceCallAttributes.callDateTime", "voiceCallAttributes.callDateTime")],
)
def test_date_time_without_offset_is_stored_as_utc_with_a_warning(put, field, path):
    item = changed(full_message(1), field, "2024-02-01T12:00:00.5")

    response = put_between_valid_items(put, item)

    message = assert_item_stored_with_warnings(
        response, "src-000001", [(WarningCode.TIMEZONE_ASSUMED_UTC, f"{BAD}.{path}")]
    )
    noon = datetime(2024, 2, 1, 12, 0, 0, 500000, tzinfo=UTC)
    if field == "sentOn":
        assert message.sent_on == noon
    else:
        assert VoiceCallAttributes.objects.get(message=message).call_date_time == noon


@pytest.mark.parametrize(
    "field",
    [
        "colour",
        "messageAttributes.colour",
        "messageAttributes.draftAttributes.colour",
        "messageAttributes.attachments[1].colour",
        "messageAttributes.messageTags[0].colour",
        "messageAttributes.messageTags[0].primaryAttribute.colour",
        "messageAttributes.messageTags[1].secondaryAttributes[0].colour",
        "messageAttributes.messageTags[1].parentTags[0].colour",
        "notificationAttributes.colour",
        "notificationAttributes.notificationButtons[1].colour",
        "voiceCallAttributes.colour",
    ],
)
def test_unknown_field_is_named_in_a_warning_and_the_item_is_stored(put, field):
    item = changed(full_message(1), field, {"shade": "red"})

    response = put_between_valid_items(put, item)

    message = assert_item_stored_with_warnings(response, "src-000001", [(WarningCode.UNKNOWN_FIELD, f"{BAD}.{field}")])
    assert message.source_payload == item


def test_each_unknown_field_gets_its_own_warning(put):
    item = changed(minimal_message(1), "colour", "red")
    item = changed(item, "messageAttributes.size", 3)

    response = put_between_valid_items(put, item)

    assert_item_stored_with_warnings(
        response,
        "min-1",
        [(WarningCode.UNKNOWN_FIELD, f"{BAD}.colour"), (WarningCode.UNKNOWN_FIELD, f"{BAD}.messageAttributes.size")],
    )


def test_keys_of_free_json_values_and_maps_are_not_unknown_fields(put):
    item = changed(full_message(1), "messageAttributes.messageTags[0].value", {"anything": {"goes": True}})
    item = changed(item, "messageAttributes.metaData", {"anyKey": "v"})
    item = changed(item, "notificationAttributes.notificationButtons[0].buttonActionEventData", {"anyKey": "v"})

    response = put_between_valid_items(put, item)

    assert_item_stored_with_warnings(response, "src-000001", [])


def test_draft_attributes_on_a_non_draft_are_stored_with_a_warning(put):
    item = changed(full_message(1), "messageAttributes.type", "OUTGOING")

    response = put_between_valid_items(put, item)

    message = assert_item_stored_with_warnings(
        response,
        "src-000001",
        [(WarningCode.DRAFT_ATTRIBUTES_ON_NON_DRAFT, f"{BAD}.messageAttributes.draftAttributes")],
    )
    assert DraftAttributes.objects.get(message=message).draft_status == "SCHEDULED"


@pytest.mark.parametrize("message_type", ["DRAFT", "DISCARDED_DRAFT"])
def test_draft_attributes_on_a_draft_have_no_warning(put, message_type):
    item = changed(full_message(1), "messageAttributes.type", message_type)

    response = put_between_valid_items(put, item)

    assert_item_stored_with_warnings(response, "src-000001", [])


def test_voice_call_attributes_on_a_non_voice_call_are_stored_with_a_warning(put):
    item = changed(full_message(1), "messageAttributes.protocol", "TEXT")

    response = put_between_valid_items(put, item)

    message = assert_item_stored_with_warnings(
        response,
        "src-000001",
        [(WarningCode.VOICE_CALL_ATTRIBUTES_ON_NON_VOICE_CALL, f"{BAD}.voiceCallAttributes")],
    )
    assert VoiceCallAttributes.objects.get(message=message).call_identifier == "call-1"


def test_null_for_every_optional_field_is_taken_as_absent(put):
    item = {
        "sourceUuid": "all-null",
        "callBackPathUrl": None,
        "sentOn": "2024-02-01T12:00:00Z",
        "receivedOn": None,
        "userUuid": None,
        "messageUuid": None,
        "communicationUid": None,
        "messageAttributes": {
            "body": None,
            "type": None,
            "protocol": None,
            "purpose": None,
            "isManual": None,
            "subject": None,
            "metaData": None,
            "tags": None,
            "draftAttributes": None,
            "attachments": None,
            "defaultReplyAction": None,
            "updateThreadTimestamp": None,
            "updateTotalMessageCount": None,
            "showInCustomerConversation": None,
            "messageTags": None,
        },
        "notificationAttributes": None,
        "voiceCallAttributes": None,
    }

    response = put_between_valid_items(put, item)

    message = assert_item_stored_with_warnings(response, "all-null", [])
    assert message.message_uuid  # generated, as when absent
    assert [message.received_on, message.user_uuid, message.communication_uid, message.body, message.type] == [None] * 5
    assert [message.purpose, message.is_manual, message.meta_data, message.tags, message.callback_path_url] == [
        None
    ] * 5
    assert message.update_thread_timestamp is True
    assert message.update_total_message_count is True
    assert message.show_in_customer_conversation is True
    assert message.is_trashed is False


def test_null_inside_nested_objects_is_taken_as_absent(put):
    item = full_message(1)
    item["messageAttributes"]["draftAttributes"] = {
        "draftStatus": None,
        "scheduledOn": None,
        "draftFailureReason": None,
    }
    item["messageAttributes"]["attachments"] = [{"fileURL": None, "docSize": None}]
    item["messageAttributes"]["messageTags"] = [
        {
            "tagTypeUuid": None,
            "referenceIdentifier": None,
            "value": None,
            "primaryAttribute": None,
            "secondaryAttributes": None,
            "parentTags": None,
        }
    ]
    item["notificationAttributes"] = {
        "internalSubscribersNotifierPop": None,
        "additionalNotifierNotificationDAUUIDs": None,
        "notificationButtons": [{"buttonTheme": None, "buttonActionEventData": None, "isPrimaryButton": None}],
    }
    item["voiceCallAttributes"] = {"callStatus": None, "callDateTime": None, "recordCall": None}

    response = put_between_valid_items(put, item)

    message = assert_item_stored_with_warnings(response, "src-000001", [])
    draft = DraftAttributes.objects.get(message=message)
    assert [draft.draft_status, draft.scheduled_on, draft.draft_failure_reason] == [None] * 3
    assert Attachment.objects.get(message=message).file_url is None
    tag = MessageTag.objects.get(message=message)
    assert [tag.tag_type_uuid, tag.value, tag.primary_attribute_value] == [None] * 3
    voice = VoiceCallAttributes.objects.get(message=message)
    assert [voice.call_status, voice.call_date_time, voice.record_call] == [None] * 3
