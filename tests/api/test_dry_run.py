"""`?dryRun=true` answers exactly as the real call would, and writes nothing."""

from typing import Any

import pytest

from messages_app.ingest.write import new_message_uuid
from messages_app.models import (
    Attachment,
    Conversation,
    Customer,
    DraftAttributes,
    ImportBatch,
    Message,
    MessageTag,
    MessageTagParent,
    MessageTagSecondaryAttribute,
    NotificationAttributes,
    NotificationButton,
    NotificationNotifier,
    VoiceCallAttributes,
)
from tests.builders import full_message, minimal_message, url, with_attrs

pytestmark = pytest.mark.django_db

DRY_RUN = "?dryRun=true"
ALL_MODELS = (
    Customer,
    Conversation,
    ImportBatch,
    Message,
    DraftAttributes,
    Attachment,
    MessageTag,
    MessageTagSecondaryAttribute,
    MessageTagParent,
    NotificationAttributes,
    NotificationNotifier,
    NotificationButton,
    VoiceCallAttributes,
)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in ALL_MODELS}


def codes(body: dict[str, Any]) -> dict[str, Any]:
    """The answer without its per-occurrence parts (errorUID, generated messageUuids)."""
    return {
        "items": [
            {
                "sourceUuid": entry["sourceUuid"],
                "stored": entry["messageUuid"] is not None,
                "errors": [(e["errorCode"], e["errorDescription"]) for e in entry["errors"]],
                "warnings": [(w["warningCode"], w["warningDescription"]) for w in entry["warnings"]],
            }
            for entry in body["saveMessageResponse"]
        ],
        "succesfullySubmittedSourceUuids": body["succesfullySubmittedSourceUuids"],
        "failedSourceUuids": body["failedSourceUuids"],
        "errors": [e["errorCode"] for e in body["errors"]],
        "warnings": [w["warningCode"] for w in body["warnings"]],
    }


def without_dry_run_warning(answer: dict[str, Any]) -> dict[str, Any]:
    return {**answer, "warnings": [code for code in answer["warnings"] if code != "DRY_RUN"]}


def item_warnings(body: dict[str, Any]) -> list[list[str]]:
    return [[w["warningCode"] for w in entry["warnings"]] for entry in body["saveMessageResponse"]]


# --- Writes nothing ---------------------------------------------------------------------------


def test_dry_run_of_new_messages_writes_no_rows(put, department):
    response = put([full_message(1), full_message(2), minimal_message(3)], query=DRY_RUN)

    assert response.status_code == 200
    assert response.json()["succesfullySubmittedSourceUuids"] == ["src-000001", "src-000002", "min-3"]
    assert row_counts() == dict.fromkeys(row_counts(), 0)


def test_dry_run_does_not_create_the_customer_or_conversation(put, department):
    put([minimal_message(1)], query=DRY_RUN)

    assert not Customer.objects.exists()
    assert not Conversation.objects.exists()


def test_dry_run_records_no_import_batch(put, department):
    put([minimal_message(1)])

    put([minimal_message(2)], query=DRY_RUN)

    assert ImportBatch.objects.count() == 1


def test_dry_run_leaves_conversation_counters_unchanged(put, department):
    put([minimal_message(1), minimal_message(2)])
    before = Conversation.objects.values("total_message_count", "last_message_at").get()

    put([minimal_message(3, sentOn="2024-06-01T08:00:00Z")], query=DRY_RUN)

    assert Conversation.objects.values("total_message_count", "last_message_at").get() == before
    assert before["total_message_count"] == 2


def test_dry_run_of_a_changed_message_leaves_the_stored_one_untouched(put, department):
    put([full_message(1)])
    stored = Message.objects.values().get()
    counts = row_counts()
    changed = with_attrs(full_message(1), body="A different body", attachments=[], messageTags=[])

    response = put([changed], query=DRY_RUN)

    assert item_warnings(response.json()) == [["MESSAGE_UPDATED"]]
    assert Message.objects.values().get() == stored
    assert row_counts() == counts


# --- Answers as the real call would -------------------------------------------------------------


def test_dry_run_answer_for_new_messages_equals_the_real_answer(put, department):
    items = [full_message(1), minimal_message(2, sentOn="2024-02-01T12:00:00")]

    dry = put(items, query=DRY_RUN)
    real = put(items)

    assert dry.status_code == real.status_code == 200
    assert without_dry_run_warning(codes(dry.json())) == codes(real.json())
    assert item_warnings(dry.json()) == [[], ["TIMEZONE_ASSUMED_UTC"]]


def test_dry_run_answers_the_message_uuid_the_real_call_then_stores(put, department):
    items = [full_message(1), minimal_message(2)]

    dry = [entry["messageUuid"] for entry in put(items, query=DRY_RUN).json()["saveMessageResponse"]]
    real = [entry["messageUuid"] for entry in put(items).json()["saveMessageResponse"]]

    assert dry == real
    assert sorted(Message.objects.values_list("message_uuid", flat=True)) == sorted(real)


def test_a_new_message_uuid_is_derived_from_the_department_and_source_uuid(put, department):
    body = put([minimal_message(1)]).json()

    assert body["saveMessageResponse"][0]["messageUuid"] == new_message_uuid(department.uuid, "min-1")
    assert new_message_uuid(department.uuid, "min-1") != new_message_uuid("another-department", "min-1")


def test_a_message_uuid_supplied_equal_to_another_items_derived_one_is_a_conflict_not_an_error(put, department):
    taken = new_message_uuid(department.uuid, "min-2")
    body = put([minimal_message(1, messageUuid=taken), minimal_message(2)]).json()

    assert body["succesfullySubmittedSourceUuids"] == ["min-1"]
    assert body["saveMessageResponse"][1]["errors"][0]["errorCode"] == "MESSAGE_UUID_CONFLICT"
    assert Message.objects.get().message_uuid == taken


def test_dry_run_returns_a_supplied_message_uuid(put, department):
    body = put([minimal_message(1, messageUuid="my-own-message-id")], query=DRY_RUN).json()

    assert body["saveMessageResponse"][0]["messageUuid"] == "my-own-message-id"


def test_dry_run_of_an_identical_resend_answers_message_unchanged(put, department):
    stored_uuid = put([full_message(1)]).json()["saveMessageResponse"][0]["messageUuid"]

    dry = put([full_message(1)], query=DRY_RUN)
    real = put([full_message(1)])

    assert item_warnings(dry.json()) == [["MESSAGE_UNCHANGED"]]
    assert without_dry_run_warning(codes(dry.json())) == codes(real.json())
    assert dry.json()["saveMessageResponse"][0]["messageUuid"] == stored_uuid


def test_dry_run_of_a_changed_resend_answers_message_updated(put, department):
    stored_uuid = put([minimal_message(1)]).json()["saveMessageResponse"][0]["messageUuid"]
    changed = with_attrs(minimal_message(1), body="changed")

    dry = put([changed], query=DRY_RUN)
    real = put([changed])

    assert item_warnings(dry.json()) == [["MESSAGE_UPDATED"]]
    assert without_dry_run_warning(codes(dry.json())) == codes(real.json())
    assert dry.json()["saveMessageResponse"][0]["messageUuid"] == stored_uuid
    assert Message.objects.get().body == "changed"


def test_dry_run_reports_the_same_item_errors_as_the_real_call(put, department):
    put([minimal_message(9)], path=url(customer_uuid="another-customer"))
    items = [
        minimal_message(1),
        {"messageAttributes": {"body": "no source"}, "sentOn": "2024-02-01T12:00:00Z"},
        with_attrs(minimal_message(2), purpose="not-a-purpose"),
        minimal_message(1),
        minimal_message(3, sentOn="2999-01-01T00:00:00Z"),
        minimal_message(9),
        minimal_message(4, receivedOn=None, sentOn=None),
    ]

    dry = put(items, query=DRY_RUN)
    real = put(items)

    dry_answer = codes(dry.json())
    assert without_dry_run_warning(dry_answer) == codes(real.json())
    assert [[code for code, _ in item["errors"]] for item in dry_answer["items"]] == [
        [],
        ["MISSING_SOURCE_UUID"],
        ["INVALID_ENUM_VALUE"],
        ["DUPLICATE_SOURCE_UUID"],
        ["TIMESTAMP_IN_FUTURE"],
        ["SOURCE_UUID_CUSTOMER_CONFLICT"],
        ["MISSING_TIMESTAMP"],
    ]
    assert dry_answer["succesfullySubmittedSourceUuids"] == ["min-1"]


def test_dry_run_adds_a_request_level_dry_run_warning(put, department):
    dry = put([minimal_message(1)], query=DRY_RUN).json()
    real = put([minimal_message(1)]).json()

    assert [w["warningCode"] for w in dry["warnings"]] == ["DRY_RUN"]
    assert real["warnings"] == []


def test_dry_run_false_is_a_real_call(put, department):
    body = put([minimal_message(1)], query="?dryRun=false").json()

    assert body["warnings"] == []
    assert Message.objects.count() == 1


def test_invalid_dry_run_value_is_refused_and_writes_nothing(put, department):
    response = put([minimal_message(1)], query="?dryRun=perhaps")

    assert response.status_code == 400
    assert [e["errorCode"] for e in response.json()["errors"]] == ["INVALID_QUERY_PARAMETER"]
    assert row_counts() == dict.fromkeys(row_counts(), 0)


def test_dry_run_request_level_errors_are_the_real_ones(put, department):
    dry = put({"saveMessageRequestList": []}, query=DRY_RUN)
    real = put({"saveMessageRequestList": []})

    assert dry.status_code == real.status_code == 400
    assert [e["errorCode"] for e in dry.json()["errors"]] == [e["errorCode"] for e in real.json()["errors"]]
    assert [e["errorCode"] for e in dry.json()["errors"]] == ["EMPTY_REQUEST"]
    assert row_counts() == dict.fromkeys(row_counts(), 0)
