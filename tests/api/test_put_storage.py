"""Valid items are stored normalised, exactly once, and read back field for field."""

from datetime import UTC, datetime

import pytest

from messages_app.enums import MessageType, Protocol
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
from tests.builders import CUSTOMER_UUID, full_message, minimal_message, url

pytestmark = pytest.mark.django_db

SEED_TIME = datetime(2025, 3, 28, 11, 34, 43, 227000, tzinfo=UTC)


def test_seed_example_is_accepted(put, seed_example):
    response = put(seed_example)

    assert response.status_code == 200
    body = response.json()
    assert body["succesfullySubmittedSourceUuids"] == ["string"]
    assert body["failedSourceUuids"] == []
    assert body["saveMessageResponse"][0]["messageUuid"] == "string"
    assert body["saveMessageResponse"][0]["errors"] == []


def test_seed_example_reads_back_every_field_exactly(put, seed_example):
    put(seed_example)

    message = Message.objects.get()
    assert message.source_uuid == "string"
    assert message.message_uuid == "string"
    assert message.callback_path_url == "string"
    assert message.sent_on == SEED_TIME
    assert message.received_on == SEED_TIME
    assert message.message_at == SEED_TIME
    assert message.user_uuid == "string"
    assert message.communication_uid == "string"
    assert message.body == "string"
    assert message.type == "DRAFT"
    assert message.protocol == "TEXT"
    assert message.purpose == "F"
    assert message.is_manual is True
    assert message.subject == "string"
    assert message.meta_data == {}
    assert message.tags == ["TRASH"]
    assert message.is_trashed is True
    assert message.default_reply_action == "string"
    assert message.update_thread_timestamp is True
    assert message.update_total_message_count is True
    assert message.show_in_customer_conversation is True
    assert message.source_payload == seed_example["saveMessageRequestList"][0]
    assert len(message.payload_hash) == 64

    draft = DraftAttributes.objects.get(message=message)
    assert (draft.draft_status, draft.scheduled_on, draft.draft_failure_reason) == (
        "SCHEDULED",
        "string",
        "MDL_EVENT_UNDER_TIME_LIMIT_REASON",
    )
    attachment = Attachment.objects.get(message=message)
    assert [
        attachment.file_url,
        attachment.attachment_extension,
        attachment.mime_type,
        attachment.original_file_name,
        attachment.doc_size,
        attachment.thumbnail_url,
        attachment.media_preview_url,
    ] == ["string"] * 7
    tag = MessageTag.objects.get(message=message)
    assert (tag.tag_type_uuid, tag.reference_identifier, tag.value, tag.primary_attribute_value) == (
        "string",
        "string",
        {},
        "string",
    )
    assert list(MessageTagSecondaryAttribute.objects.filter(tag=tag).values_list("value", flat=True)) == ["string"]
    parent = MessageTagParent.objects.get(tag=tag)
    assert (parent.tag_type_uuid, parent.reference_identifier) == ("string", "string")

    notification = NotificationAttributes.objects.get(message=message)
    assert notification.internal_subscribers_notifier_pop is True
    assert notification.external_subscribers_notifier_pop is True
    assert notification.thread_owner_notifier_pop is True
    assert notification.send_phone_notification is True
    assert list(NotificationNotifier.objects.filter(message=message).values_list("da_uuid", flat=True)) == ["string"]
    button = NotificationButton.objects.get(message=message)
    assert (
        button.button_text_translation_widget_key,
        button.button_text_translation_key,
        button.button_default_text,
        button.button_theme,
        button.button_action_event_data,
        button.is_primary_button,
    ) == ("string", "string", "string", "PRIMARY", {}, True)

    voice = VoiceCallAttributes.objects.get(message=message)
    assert voice.calling_party == voice.party2 == voice.party1_prompt == voice.party2_prompt == "string"
    assert voice.call_status == 0
    assert voice.call_identifier == voice.call_broker == voice.recording_url == voice.transcribe_text == "string"
    assert voice.call_date_time == SEED_TIME
    assert voice.record_call is True
    assert voice.transcribe_call is True


def test_fifty_message_batch_covers_every_type_protocol_and_mixed_case_purposes(put):
    purposes = ["FinInviteM", "CIWNotOp", "CardSave_RCPT", "F", "VOICEBOT_CALL_SUMMARY", "APPT_ESTIMATE_SIGN_REQUEST"]
    items = []
    for n in range(50):
        item = full_message(n)
        item["messageAttributes"]["type"] = MessageType.values[n % len(MessageType.values)]
        item["messageAttributes"]["protocol"] = Protocol.values[n % len(Protocol.values)]
        item["messageAttributes"]["purpose"] = purposes[n % len(purposes)]
        items.append(item)

    response = put(items)

    body = response.json()
    assert response.status_code == 200
    assert body["failedSourceUuids"] == []
    assert body["succesfullySubmittedSourceUuids"] == [item["sourceUuid"] for item in items]
    assert Message.objects.count() == 50
    assert set(Message.objects.values_list("type", flat=True)) == set(MessageType.values)
    assert set(Message.objects.values_list("protocol", flat=True)) == set(Protocol.values)
    assert set(Message.objects.values_list("purpose", flat=True)) == set(purposes)
    assert Attachment.objects.count() == 100
    assert MessageTag.objects.count() == 100
    assert MessageTagSecondaryAttribute.objects.count() == 200
    assert MessageTagParent.objects.count() == 100
    assert NotificationButton.objects.count() == 100
    assert NotificationNotifier.objects.count() == 100
    assert VoiceCallAttributes.objects.count() == 50
    assert DraftAttributes.objects.count() == 50


def test_response_entries_follow_request_order(put):
    items = [minimal_message(n) for n in (3, 1, 2)]

    body = put(items).json()

    assert [entry["sourceUuid"] for entry in body["saveMessageResponse"]] == ["min-3", "min-1", "min-2"]


def test_customer_and_conversation_are_created_on_first_import(put, department):
    put([minimal_message(1)])

    customer = Customer.objects.get(department=department, uuid=CUSTOMER_UUID)
    assert Conversation.objects.get(customer=customer).total_message_count == 1


def test_generated_message_uuid_is_returned_and_stored(put):
    body = put([minimal_message(1)]).json()

    generated = body["saveMessageResponse"][0]["messageUuid"]
    assert generated
    assert Message.objects.get().message_uuid == generated


@pytest.mark.parametrize(
    "identifier",
    [
        "0123456789abcdef" * 4,
        "Zm9vYmFyYmF6cXV4LWN1c3RvbWVyLXRva2VuLTAxMjM",
        "string",
    ],
    ids=["64-hex", "43-base64-like", "seed-literal"],
)
def test_opaque_identifiers_are_stored_as_given(put, department, identifier):
    item = minimal_message(1, sourceUuid=identifier, messageUuid=identifier, userUuid=identifier)

    response = put([item], path=url(customer_uuid=identifier))

    assert response.json()["succesfullySubmittedSourceUuids"] == [identifier]
    message = Message.objects.get()
    assert (message.source_uuid, message.message_uuid, message.user_uuid, message.customer.uuid) == (identifier,) * 4


def test_strings_are_kept_exactly_without_trimming(put):
    item = minimal_message(1)
    item["messageAttributes"]["body"] = "  spaced\n\ttext  "
    item["messageAttributes"]["subject"] = ""

    put([item])

    message = Message.objects.get()
    assert (message.body, message.subject) == ("  spaced\n\ttext  ", "")


def test_absent_booleans_default_to_true(put):
    put([minimal_message(1)])

    message = Message.objects.get()
    assert message.update_thread_timestamp and message.update_total_message_count
    assert message.show_in_customer_conversation


def test_offset_timestamps_are_stored_in_utc(put):
    put([minimal_message(1, sentOn="2024-02-01T14:00:00+02:00")])

    assert Message.objects.get().sent_on == datetime(2024, 2, 1, 12, 0, tzinfo=UTC)


def test_each_request_records_an_import_batch(put, api_client_record):
    put([minimal_message(1), {"messageAttributes": {}}])

    batch = ImportBatch.objects.get()
    assert (batch.item_count, batch.created_count, batch.failed_count) == (2, 1, 1)
    assert batch.client == api_client_record
    assert batch.response["succesfullySubmittedSourceUuids"] == ["min-1"]
    assert Message.objects.get().created_batch == batch
