"""The very bytes of a request answered before are answered again from the stored rows,
without decoding them, exactly as the item-by-item path would answer; whatever changed
since sends them down that path."""

import json

import pytest
from django.utils import timezone

from messages_app.api import parsers
from messages_app.clients import register_client
from messages_app.enums import ApiScope
from messages_app.models import ImportBatch, Message
from tests.builders import CLIENT_NAME, full_message, minimal_message, url, with_attrs

pytestmark = pytest.mark.django_db

OTHER_DEPARTMENT_UUID = "b" * 64


@pytest.fixture
def decoded(monkeypatch) -> list[int]:
    """The sizes of the request bodies the API decoded."""
    sizes: list[int] = []
    decode = parsers.loads

    def counting(body):
        sizes.append(len(body))
        return decode(body)

    monkeypatch.setattr(parsers, "loads", counting)
    return sizes


def body_of(items, **envelope) -> str:
    return json.dumps({"saveMessageRequestList": items, **envelope})


def in_other_bytes(items) -> str:
    """The same items in another body: answered item by item."""
    return json.dumps({"saveMessageRequestList": items}, indent=1)


def codes(answer, index=0) -> list[str]:
    return [warning["warningCode"] for warning in answer["saveMessageResponse"][index]["warnings"]]


def items_with_warnings():
    return [
        full_message(1),
        minimal_message(2, sentOn="2024-02-01T12:00:00", extra="ignored"),
        with_attrs(minimal_message(3), type="NOTE", draftAttributes={"draftStatus": "SCHEDULED"}),
    ]


def test_an_identical_resend_is_answered_without_decoding_the_body(put, decoded):
    body = body_of([full_message(n) for n in range(3)])
    put(body)

    answer = put(body).json()

    assert len(decoded) == 1  # the first PUT only
    assert [codes(answer, n) for n in range(3)] == [["MESSAGE_UNCHANGED"]] * 3
    assert answer["succesfullySubmittedSourceUuids"] == ["src-000000", "src-000001", "src-000002"]


def test_an_identical_resend_answers_exactly_what_the_item_by_item_path_answers(put, decoded):
    items = items_with_warnings()
    put(body_of(items))
    item_by_item = put(in_other_bytes(items)).json()

    identical = put(body_of(items)).json()

    assert len(decoded) == 2
    assert identical == item_by_item
    assert codes(identical, 1) == ["TIMEZONE_ASSUMED_UTC", "UNKNOWN_FIELD", "MESSAGE_UNCHANGED"]
    assert codes(identical, 2) == ["DRAFT_ATTRIBUTES_ON_NON_DRAFT", "MESSAGE_UNCHANGED"]


def test_an_identical_resend_is_recorded_as_a_batch_of_its_own(put):
    body = body_of([minimal_message(n) for n in range(3)])
    put(body)

    answer = put(body).json()

    latest = ImportBatch.objects.order_by("-id").first()
    assert ImportBatch.objects.count() == 2
    assert (latest.item_count, latest.created_count, latest.unchanged_count) == (3, 0, 3)
    assert latest.response == answer
    assert latest.client.name == CLIENT_NAME
    assert latest.request_digest == ImportBatch.objects.order_by("id").first().request_digest


def test_every_further_identical_resend_is_answered_from_the_stored_rows_too(put, decoded):
    body = body_of([minimal_message(1)])
    for _ in range(3):
        answer = put(body).json()

    assert len(decoded) == 1
    assert codes(answer) == ["MESSAGE_UNCHANGED"]


def test_a_message_corrected_since_is_kept_and_said_so(put, decoded):
    body = body_of([minimal_message(1), minimal_message(2)])
    put(body)
    Message.objects.filter(source_uuid="min-2").update(corrected_at=timezone.now(), corrected_fields=["body"])

    answer = put(body).json()

    assert len(decoded) == 2
    assert [codes(answer, 0), codes(answer, 1)] == [["MESSAGE_UNCHANGED"], ["MESSAGE_LOCKED_BY_CORRECTION"]]


def test_a_message_changed_since_by_another_request_is_replaced_again(put):
    item = minimal_message(1)
    body = body_of([item])
    put(body)
    put([with_attrs(minimal_message(1), body="edited")])

    answer = put(body).json()

    assert codes(answer) == ["MESSAGE_UPDATED"]
    assert Message.objects.get().body == item["messageAttributes"]["body"]


def test_a_message_deleted_since_is_created_again(put):
    body = body_of([minimal_message(1), minimal_message(2)])
    put(body)
    Message.objects.filter(source_uuid="min-2").delete()

    answer = put(body).json()

    assert [codes(answer, 0), codes(answer, 1)] == [["MESSAGE_UNCHANGED"], []]
    assert Message.objects.count() == 2


def test_a_request_with_a_failed_item_is_validated_again(put, decoded):
    body = body_of([minimal_message(1), minimal_message(2, sentOn="not a date")])
    first = put(body).json()

    again = put(body).json()

    assert len(decoded) == 2
    assert again["failedSourceUuids"] == first["failedSourceUuids"] == ["min-2"]
    assert ImportBatch.objects.filter(request_digest="").count() == 2


def test_a_dry_run_is_answered_item_by_item(put, decoded):
    body = body_of([minimal_message(1)])
    put(body)

    answer = put(body, query="?dryRun=true").json()

    assert len(decoded) == 2
    assert [warning["warningCode"] for warning in answer["warnings"]] == ["DRY_RUN"]


def test_the_same_bytes_for_another_customer_are_validated_item_by_item(put):
    body = body_of([minimal_message(1)])
    put(body)

    answer = put(body, path=url(customer_uuid="another-customer")).json()

    assert answer["saveMessageResponse"][0]["errors"][0]["errorCode"] == "SOURCE_UUID_CUSTOMER_CONFLICT"


def test_the_same_bytes_for_another_department_store_messages_of_their_own(put, decoded):
    register_client(CLIENT_NAME, [OTHER_DEPARTMENT_UUID], ApiScope.values)
    body = body_of([minimal_message(1)])
    put(body)

    answer = put(body, path=url(department_uuid=OTHER_DEPARTMENT_UUID)).json()

    assert len(decoded) == 2
    assert codes(answer) == []
    assert Message.objects.filter(source_uuid="min-1").count() == 2


def test_a_request_naming_a_callback_is_never_answered_from_the_stored_rows(put, decoded):
    body = body_of([minimal_message(1)], callBackPathUrl="https://example.com/hook")
    put(body)

    put(body)

    assert len(decoded) == 2
    assert set(ImportBatch.objects.values_list("request_digest", flat=True)) == {""}


def test_an_item_stored_from_other_bytes_keeps_its_request_item_by_item(put, decoded):
    put([minimal_message(1)])
    same_message_other_bytes = body_of([minimal_message(1, extra="ignored")])
    put(same_message_other_bytes)  # unchanged: the row keeps the first bytes' hash and warnings

    answer = put(same_message_other_bytes).json()

    assert len(decoded) == 3
    assert codes(answer) == ["UNKNOWN_FIELD", "MESSAGE_UNCHANGED"]


def test_a_resend_over_todays_item_limit_is_refused(put, settings):
    body = body_of([minimal_message(n) for n in range(3)])
    put(body)
    settings.MAX_MESSAGES_PER_REQUEST = 2

    response = put(body)

    assert response.status_code == 413
    assert response.json()["errors"][0]["errorCode"] == "TOO_MANY_MESSAGES"
