"""(department, sourceUuid) is the idempotency key: re-sends update in place, never duplicate."""

import copy
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messages_app.clients import register_client
from messages_app.models import Attachment, Conversation, Message, MessageTag, MessageTagSecondaryAttribute
from tests.builders import CLIENT_NAME, CLIENT_SECRET, full_message, is_postgres, minimal_message, url

pytestmark = pytest.mark.django_db


def warning_codes(body, index=0):
    return [w["warningCode"] for w in body["saveMessageResponse"][index]["warnings"]]


def test_identical_resend_three_times_stores_one_message_and_reports_unchanged(put):
    items = [full_message(n) for n in range(3)]
    first = put(items).json()

    answers = [put(copy.deepcopy(items)).json() for _ in range(3)]

    assert Message.objects.count() == 3
    assert Attachment.objects.count() == 6
    assert MessageTagSecondaryAttribute.objects.count() == 12
    for answer in answers:
        assert answer["succesfullySubmittedSourceUuids"] == [item["sourceUuid"] for item in items]
        for index in range(3):
            assert warning_codes(answer, index) == ["MESSAGE_UNCHANGED"]
            assert (
                answer["saveMessageResponse"][index]["messageUuid"]
                == first["saveMessageResponse"][index]["messageUuid"]
            )


def test_identical_resend_writes_nothing(put):
    put([full_message(1)])
    before = Message.objects.values("id", "updated_at", "updated_batch_id").get()

    put([full_message(1)])

    assert Message.objects.values("id", "updated_at", "updated_batch_id").get() == before


def test_changed_resend_updates_in_place_with_the_same_message_uuid(put):
    first = put([full_message(1)]).json()
    changed = full_message(1)
    changed["messageAttributes"]["body"] = "Corrected body"
    changed["messageAttributes"]["attachments"] = changed["messageAttributes"]["attachments"][:1]

    answer = put([changed]).json()

    assert warning_codes(answer) == ["MESSAGE_UPDATED"]
    message = Message.objects.get()
    assert message.body == "Corrected body"
    assert message.message_uuid == first["saveMessageResponse"][0]["messageUuid"]
    assert answer["saveMessageResponse"][0]["messageUuid"] == message.message_uuid
    assert Attachment.objects.filter(message=message).count() == 1


def test_update_replaces_children_rather_than_appending(put):
    put([full_message(1)])
    changed = full_message(1)
    changed["messageAttributes"]["messageTags"] = changed["messageAttributes"]["messageTags"][:1]

    put([changed])

    assert MessageTag.objects.count() == 1
    assert MessageTagSecondaryAttribute.objects.count() == 2


def test_update_keeps_the_creating_batch_and_records_the_updating_one(put):
    put([minimal_message(1)])
    created_batch = Message.objects.get().created_batch

    put([minimal_message(1, receivedOn="2024-02-01T12:00:01Z")])

    message = Message.objects.get()
    assert message.created_batch == created_batch
    assert message.updated_batch != created_batch


def test_resend_with_supplied_message_uuid_equal_to_stored_is_unchanged(put):
    stored = put([minimal_message(1)]).json()["saveMessageResponse"][0]["messageUuid"]

    answer = put([minimal_message(1, messageUuid=stored)]).json()

    assert warning_codes(answer) == ["MESSAGE_UNCHANGED"]


def test_null_and_absent_optional_fields_are_the_same_message(put):
    put([minimal_message(1)])

    answer = put([minimal_message(1, userUuid=None, communicationUid=None)]).json()

    assert warning_codes(answer) == ["MESSAGE_UNCHANGED"]


def test_equal_instants_in_other_offsets_are_the_same_message(put):
    put([minimal_message(1, sentOn="2024-02-01T12:00:00Z")])

    answer = put([minimal_message(1, sentOn="2024-02-01T14:00:00+02:00")]).json()

    assert warning_codes(answer) == ["MESSAGE_UNCHANGED"]


def test_corrected_message_is_locked_against_resend(put):
    put([minimal_message(1)])
    Message.objects.update(body="fixed by staff", corrected_at=timezone.now(), corrected_fields=["body"])

    answer = put([minimal_message(1, receivedOn="2024-02-01T12:00:09Z")]).json()

    assert warning_codes(answer) == ["MESSAGE_LOCKED_BY_CORRECTION"]
    assert answer["succesfullySubmittedSourceUuids"] == ["min-1"]
    assert Message.objects.get().body == "fixed by staff"


def test_same_source_uuid_in_another_department_is_another_message(put, department):
    register_client(CLIENT_NAME, ["other-department"], secret=CLIENT_SECRET)

    put([minimal_message(1)])
    answer = put([minimal_message(1)], path=url(department_uuid="other-department")).json()

    assert answer["succesfullySubmittedSourceUuids"] == ["min-1"]
    assert Message.objects.filter(source_uuid="min-1").count() == 2


class TestConversationCounters:
    def test_counters_count_messages_and_take_the_latest_time(self, put):
        put([minimal_message(1, sentOn="2024-01-01T00:00:00Z"), minimal_message(2, sentOn="2024-03-01T00:00:00Z")])

        conversation = Conversation.objects.get()
        assert conversation.total_message_count == 2
        assert conversation.last_message_at.isoformat() == "2024-03-01T00:00:00+00:00"

    def test_resends_never_double_count(self, put):
        items = [minimal_message(n) for n in range(4)]
        for _ in range(3):
            put(items)
        put([minimal_message(0, receivedOn="2024-02-02T00:00:00Z")])

        assert Conversation.objects.get().total_message_count == 4

    def test_flags_exclude_messages_from_the_counters(self, put):
        quiet = minimal_message(2, sentOn="2030-01-01T00:00:00Z")
        quiet["sentOn"] = "2024-05-01T00:00:00Z"
        quiet["messageAttributes"].update(updateThreadTimestamp=False, updateTotalMessageCount=False)

        put([minimal_message(1, sentOn="2024-01-01T00:00:00Z"), quiet])

        conversation = Conversation.objects.get()
        assert conversation.total_message_count == 1
        assert conversation.last_message_at.isoformat() == "2024-01-01T00:00:00+00:00"

    def test_last_message_time_is_the_later_of_sent_and_received(self, put):
        put([minimal_message(1, sentOn="2024-01-01T00:00:00Z", receivedOn="2024-01-02T00:00:00Z")])

        assert Conversation.objects.get().last_message_at.isoformat() == "2024-01-02T00:00:00+00:00"


def test_resend_of_a_stored_item_changed_since_its_hash_was_read_is_validated_in_full(put, monkeypatch):
    from messages_app.ingest import prepare, service

    put([minimal_message(1)])
    changed = minimal_message(1, receivedOn="2024-02-01T12:00:07Z")
    stale = {"min-1": prepare.StoredIntake(prepare._received_form(changed)[0], [])}
    monkeypatch.setattr(service, "_stored_intake", lambda department, items: stale)

    answer = put([changed]).json()

    assert warning_codes(answer) == ["MESSAGE_UPDATED"]
    assert Message.objects.get().received_on.isoformat() == "2024-02-01T12:00:07+00:00"


def test_identical_resend_keeps_the_warnings_of_the_first_import(put):
    item = minimal_message(1, sentOn="2024-02-01T12:00:00", extra="ignored")
    first = put([item]).json()

    again = put([item]).json()

    assert warning_codes(first) == ["TIMEZONE_ASSUMED_UTC", "UNKNOWN_FIELD"]
    assert warning_codes(again) == ["TIMEZONE_ASSUMED_UTC", "UNKNOWN_FIELD", "MESSAGE_UNCHANGED"]


def test_identical_resend_at_another_position_repeats_each_warning_at_its_new_path(put):
    item = minimal_message(1, sentOn="2024-02-01T12:00:00", extra={"nested": True})
    first = put([item]).json()["saveMessageResponse"][0]["warnings"]

    again = put([minimal_message(2), item]).json()["saveMessageResponse"][1]["warnings"]

    moved = [{**w, "warningDescription": w["warningDescription"].replace("List[0]", "List[1]", 1)} for w in first]
    assert again[:-1] == moved
    assert again[0]["warningDescription"].startswith("saveMessageRequestList[1].sentOn: ")


def test_the_warnings_of_validation_are_kept_with_the_message(put):
    put([minimal_message(1, sentOn="2024-02-01T12:00:00", extra="ignored")])

    assert Message.objects.get().intake_warnings == [
        ["TIMEZONE_ASSUMED_UTC", ".sentOn", "2024-02-01T12:00:00 has no UTC offset; taken as UTC."],
        ["UNKNOWN_FIELD", ".extra", "Not part of the format; ignored."],
    ]


def test_resend_of_a_message_stored_before_warnings_were_kept_is_validated_in_full(put):
    item = minimal_message(1, sentOn="2024-02-01T12:00:00", extra="ignored")
    put([item])
    Message.objects.update(intake_warnings=None)

    again = put([item]).json()

    assert warning_codes(again) == ["TIMEZONE_ASSUMED_UTC", "UNKNOWN_FIELD", "MESSAGE_UNCHANGED"]


def in_other_bytes(items):
    """The same items in a body of other bytes: answered item by item, not as a re-send of
    the request's bytes (tests/api/test_identical_resend.py)."""
    return json.dumps({"saveMessageRequestList": items}, indent=1)


def _hints_read_before_a_correction(monkeypatch):
    """Make phase 1's hints what it would have read before a staff correction that came
    before the write phase's locks: uncorrected, with a row version the rows no longer have."""
    from messages_app.ingest import service

    read = service._stored_intake

    def stale_versions(department, items):
        hints = read(department, items)
        return {
            key: hint._replace(row=hint.row._replace(version="0", corrected_at=None)) for key, hint in hints.items()
        }

    monkeypatch.setattr(service, "_stored_intake", stale_versions)


@pytest.mark.skipif(not is_postgres(), reason="row versions (xmin) are PostgreSQL's; SQLite reads the rows again")
def test_identical_items_confirm_the_stored_rows_by_their_version_instead_of_reading_them_again(put):
    items = [full_message(n) for n in range(3)]
    put(items)

    with CaptureQueriesContext(connection) as queries:
        answer = put(in_other_bytes(items)).json()

    assert [warning_codes(answer, n) for n in range(3)] == [["MESSAGE_UNCHANGED"]] * 3
    assert sum("xmin" in query["sql"] for query in queries) == 2  # the hint and the confirmation
    assert not any('"payload_hash"' in query["sql"] for query in queries)


@pytest.mark.skipif(not is_postgres(), reason="row versions (xmin) are PostgreSQL's; SQLite reads the rows again")
def test_identical_resend_of_a_row_written_since_its_hint_is_classified_from_the_row_read_again(put, monkeypatch):
    put([minimal_message(1)])
    Message.objects.update(corrected_at=timezone.now(), corrected_fields=["body"])
    _hints_read_before_a_correction(monkeypatch)

    answer = put(in_other_bytes([minimal_message(1)])).json()

    assert warning_codes(answer) == ["MESSAGE_LOCKED_BY_CORRECTION"]
