"""Corrections in the admin: marking, the lock it creates, parts, actions and revert."""

import copy
import json

import pytest
from django.db import connection

from messages_app import corrections
from messages_app.models import (
    Attachment,
    Conversation,
    ImportBatch,
    Message,
    MessageTag,
    MessageTagParent,
    MessageTagSecondaryAttribute,
)
from tests.admin.support import (
    change_url,
    changelist,
    client_for,
    form_data,
    staff_user,
)
from tests.builders import full_message, minimal_message, with_attrs

# Fixtures shared by the admin tests.

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(department):
    return staff_user("carla", department)


@pytest.fixture
def staff_client(staff):
    return client_for(staff)


def open_form(client, message):
    response = client.get(change_url("message", message.pk))
    assert response.status_code == 200
    return form_data(response, "message_form")


def save(client, message, data):
    response = client.post(change_url("message", message.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    message.refresh_from_db()
    return response


def item_warnings(response):
    return [warning["warningCode"] for warning in response.json()["saveMessageResponse"][0]["warnings"]]


def test_correcting_the_body_marks_it_keeps_the_payload_and_locks_it(put, seed_example, staff, staff_client):
    assert put(seed_example).status_code == 200
    message = Message.objects.get(source_uuid="string")
    imported_payload = copy.deepcopy(message.source_payload)

    data = open_form(staff_client, message)
    data["body"] = "The customer wrote: call me after 5"
    save(staff_client, message, data)

    assert message.body == "The customer wrote: call me after 5"
    assert message.corrected_at is not None
    assert message.corrected_by == staff
    assert message.corrected_fields == ["body"]
    assert message.source_payload == imported_payload == seed_example["saveMessageRequestList"][0]
    page = staff_client.get(change_url("message", message.pk)).content.decode()
    assert "source_payload" not in form_data(staff_client.get(change_url("message", message.pk)), "message_form")
    assert "&quot;sourceUuid&quot;: &quot;string&quot;" in page

    resend = put(seed_example)
    assert resend.status_code == 200
    assert item_warnings(resend) == ["MESSAGE_LOCKED_BY_CORRECTION"] or "MESSAGE_LOCKED_BY_CORRECTION" in item_warnings(
        resend
    )
    changed = copy.deepcopy(seed_example)
    changed["saveMessageRequestList"][0]["messageAttributes"]["body"] = "imported again"
    assert "MESSAGE_LOCKED_BY_CORRECTION" in item_warnings(put(changed))
    message.refresh_from_db()
    assert message.body == "The customer wrote: call me after 5"
    assert message.source_payload == imported_payload


def test_saving_an_untouched_form_changes_nothing(put, staff_client):
    item = with_attrs(full_message(3), body="  Two lines,\nand trailing spaces  \n")
    item["sentOn"] = "2024-01-04T10:03:00.123456Z"
    put([item])
    message = Message.objects.get(source_uuid="src-000003")
    before = {field.attname: getattr(message, field.attname) for field in Message._meta.concrete_fields}
    data = open_form(staff_client, message)
    # A browser sends textarea line breaks as CRLF.
    data["body"] = data["body"].replace("\n", "\r\n")

    save(staff_client, message, data)

    after = {field.attname: getattr(message, field.attname) for field in Message._meta.concrete_fields}
    assert after == before
    assert message.sent_on.microsecond == 123456
    assert message.corrected_at is None


def test_a_changed_body_keeps_line_breaks_as_imported(put, staff_client):
    put([with_attrs(minimal_message(1), body="line one\nline two")])
    message = Message.objects.get(source_uuid="min-1")
    data = open_form(staff_client, message)
    data["body"] = "line one\r\nline 2"
    save(staff_client, message, data)
    assert message.body == "line one\nline 2"


def test_parts_are_corrected_inline_and_marked(put, staff_client):
    put([full_message(4)])
    message = Message.objects.get(source_uuid="src-000004")
    data = open_form(staff_client, message)
    data["attachments-0-original_file_name"] = "signed-invoice.pdf"
    data["draft_attributes-0-draft_status"] = "SENT"
    data["voice_call_attributes-0-transcribe_text"] = "Corrected transcript"
    data["notification_buttons-1-button_default_text"] = "Open the invoice"
    data["attachments-TOTAL_FORMS"] = "3"
    data["attachments-2-original_file_name"] = "added.pdf"
    data["attachments-2-file_url"] = "https://files.example/added.pdf"
    data["message_tags-1-DELETE"] = "on"

    save(staff_client, message, data)

    assert message.corrected_fields == [
        "attachments",
        "attachments.original_file_name",
        "draft_attributes.draft_status",
        "message_tags",
        "notification_buttons.button_default_text",
        "voice_call_attributes.transcribe_text",
    ]
    assert list(message.attachments.values_list("position", "original_file_name")) == [
        (0, "signed-invoice.pdf"),
        (1, "invoice-1.pdf"),
        (2, "added.pdf"),
    ]
    assert Attachment.objects.get(original_file_name="added.pdf").department_id == message.department_id
    assert message.draft_attributes.draft_status == "SENT"
    assert message.voice_call_attributes.transcribe_text == "Corrected transcript"
    assert list(message.message_tags.values_list("position", flat=True)) == [0]
    assert MessageTagSecondaryAttribute.objects.filter(message=message).count() == 2
    assert MessageTagParent.objects.filter(message=message).count() == 1
    assert message.source_payload == full_message(4)


def test_a_tags_secondary_attributes_are_two_clicks_away(put, staff_client):
    put([full_message(5)])
    message = Message.objects.get(source_uuid="src-000005")
    tag = message.message_tags.get(position=0)
    page = staff_client.get(change_url("message", message.pk)).content.decode()
    assert change_url("messagetag", tag.pk) in page

    response = staff_client.get(change_url("messagetag", tag.pk))
    assert change_url("message", message.pk) in response.content.decode()
    data = form_data(response, "messagetag_form")
    data["secondary_attributes-1-value"] = "corrected secondary"
    data["parent_tags-0-reference_identifier"] = "parent-fixed"
    posted = staff_client.post(change_url("messagetag", tag.pk), data)

    assert posted.status_code == 302
    assert posted["Location"] == change_url("message", message.pk)
    message.refresh_from_db()
    assert message.corrected_fields == [
        "message_tags.parent_tags.reference_identifier",
        "message_tags.secondary_attributes.value",
    ]
    assert list(tag.secondary_attributes.values_list("value", flat=True)) == ["secondary-0-0", "corrected secondary"]
    assert tag.parent_tags.get().reference_identifier == "parent-fixed"


def test_changing_a_counted_field_recounts_the_conversation(put, staff_client):
    put([minimal_message(1), minimal_message(2, sentOn="2024-02-02T12:00:00Z")])
    conversation = Conversation.objects.get()
    assert conversation.total_message_count == 2
    message = Message.objects.get(source_uuid="min-2")
    data = open_form(staff_client, message)
    data.pop("update_total_message_count")
    data["sent_on"] = "2023-12-31 08:00:00.000000"
    save(staff_client, message, data)

    conversation.refresh_from_db()
    assert conversation.total_message_count == 1
    assert conversation.last_message_at.isoformat() == "2024-02-01T12:00:00+00:00"
    assert message.message_at.isoformat() == "2023-12-31T08:00:00+00:00"
    assert message.corrected_fields == ["sent_on", "update_total_message_count"]


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("meta_data", json.dumps({"k": "nul\u0000here"}), "NUL"),
        ("meta_data", json.dumps({"k": 1}), "JSON object of strings"),
        ("user_uuid", "has space", "printable characters"),
        ("tags", json.dumps(["TRASH", "SPAM"]), "JSON list of TRASH"),
        ("type", "SHOUT", "Select a valid choice"),
    ],
)
def test_invalid_corrections_are_form_errors_not_500s(put, staff_client, field, value, error):
    put([minimal_message(1)])
    message = Message.objects.get()
    data = open_form(staff_client, message)
    data[field] = value
    response = staff_client.post(change_url("message", message.pk), data)
    assert response.status_code == 200
    assert error in response.content.decode()
    message.refresh_from_db()
    assert message.corrected_at is None


def test_both_times_cannot_be_removed(put, staff_client):
    put([minimal_message(1)])
    message = Message.objects.get()
    data = open_form(staff_client, message)
    data["sent_on"] = data["received_on"] = ""
    response = staff_client.post(change_url("message", message.pk), data)
    assert response.status_code == 200
    assert "At least one of sent on and received on is required" in response.content.decode()


def test_a_form_opened_before_an_import_changed_the_message_is_refused(put, staff_client):
    put([minimal_message(1)])
    message = Message.objects.get()
    data = open_form(staff_client, message)
    put([with_attrs(minimal_message(1), body="newer import")])
    data["body"] = "stale correction"
    response = staff_client.post(change_url("message", message.pk), data)
    assert response.status_code == 200
    assert "changed (by an import or another person) after you opened it" in response.content.decode()
    message.refresh_from_db()
    assert message.body == "newer import"


def act(client, action, *messages, **extra):
    response = client.post(
        changelist("message"), {"action": action, "_selected_action": [m.pk for m in messages], "index": 0, **extra}
    )
    assert response.status_code == 302
    for message in messages:
        message.refresh_from_db()


def test_trash_and_restore_keep_tags_and_flag_consistent(put, staff, staff_client):
    put([minimal_message(1), with_attrs(minimal_message(2), tags=[])])
    plain, tagged = Message.objects.order_by("source_uuid")

    act(staff_client, "move_to_trash", plain, tagged)
    assert (plain.tags, plain.is_trashed) == (["TRASH"], True)
    assert (tagged.tags, tagged.is_trashed) == (["TRASH"], True)
    assert plain.corrected_fields == ["tags"]
    assert plain.corrected_by == staff

    act(staff_client, "restore_from_trash", plain, tagged)
    assert (plain.tags, plain.is_trashed) == (None, False)
    assert (tagged.tags, tagged.is_trashed) == ([], False)

    # A trashed message is a correction: the API re-send keeps it in the trash.
    act(staff_client, "move_to_trash", plain)
    put([with_attrs(minimal_message(1), body="re-sent")])
    plain.refresh_from_db()
    assert plain.is_trashed
    assert plain.body == "hello 1"


def test_hide_and_show(put, staff_client):
    put([minimal_message(1)])
    message = Message.objects.get()
    act(staff_client, "hide_from_customer", message)
    assert message.show_in_customer_conversation is False
    assert message.corrected_fields == ["show_in_customer_conversation"]
    act(staff_client, "show_to_customer", message)
    assert message.show_in_customer_conversation is True


def test_revert_rebuilds_the_imported_state_through_the_ingest_service(put, staff, staff_client):
    put([full_message(6)])
    message = Message.objects.get()
    data = open_form(staff_client, message)
    data["body"] = "staff text"
    data["attachments-0-DELETE"] = "on"
    save(staff_client, message, data)
    act(staff_client, "move_to_trash", message)
    assert message.is_corrected

    act(staff_client, "revert", message)

    assert message.body == full_message(6)["messageAttributes"]["body"]
    assert message.corrected_at is None
    assert message.corrected_fields == []
    assert not message.is_trashed
    assert message.attachments.count() == 2
    batch = ImportBatch.objects.order_by("-id").first()
    assert (batch.source, batch.user, batch.updated_count) == ("admin", staff, 1)
    assert message.updated_batch == batch
    # The revert stored the canonical form: an identical re-send is unchanged.
    assert item_warnings(put([full_message(6)])) == ["MESSAGE_UNCHANGED"]


def test_revert_button_on_the_message_page(put, staff_client):
    put([minimal_message(1)])
    message = Message.objects.get()
    data = open_form(staff_client, message)
    data["body"] = "wrong"
    save(staff_client, message, data)
    assert staff_client.get(f"/admin/messages_app/message/{message.pk}/revert/").status_code == 405
    response = staff_client.post(f"/admin/messages_app/message/{message.pk}/revert/")
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.body, message.corrected_at) == ("hello 1", None)


def test_message_page_shows_every_part_and_the_way_back(put, staff_client):
    put([full_message(8)])
    message = Message.objects.get()
    page = staff_client.get(change_url("message", message.pk)).content.decode()
    for prefix in (
        "draft_attributes-0-",
        "attachments-1-",
        "message_tags-1-",
        "notification_attributes-0-",
        "notification_notifiers-1-",
        "notification_buttons-1-",
        "voice_call_attributes-0-",
    ):
        assert prefix in page, prefix
    assert f"/admin/messages_app/conversation/{message.conversation_id}/transcript/?message={message.pk}" in page
    assert f"/admin/messages_app/conversation/{message.conversation_id}/change/" in page
    assert MessageTag.objects.filter(message=message).count() == 2


@pytest.mark.django_db(transaction=True)
def test_revert_holds_no_cursor_outside_a_transaction(put, monkeypatch):
    """Behind pgbouncer in transaction pooling a cursor held between transactions (what
    ``QuerySet.iterator()`` opens on PostgreSQL outside ``atomic()``) may be gone by the
    next fetch: revert reads its messages in pages, one query each."""
    put([full_message(1), full_message(2), minimal_message(3)])
    opened_outside_a_transaction = []
    chunked_cursor = connection.chunked_cursor

    def spy():
        opened_outside_a_transaction.append(not connection.in_atomic_block)
        return chunked_cursor()

    monkeypatch.setattr(connection, "chunked_cursor", spy)
    monkeypatch.setattr(corrections, "CHUNK", 2)

    result = corrections.revert_to_import(Message.objects.all(), user=None)

    assert (result.reverted, result.failed) == (3, [])
    assert not any(opened_outside_a_transaction)
