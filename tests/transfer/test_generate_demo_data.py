"""generate_demo_data writes rows that are exactly what the ingest service would store."""

import io

import pytest
from django.core.management import call_command
from django.db.models import F, Max

from messages_app import corrections, wire
from messages_app.models import Attachment, Conversation, Department, ImportBatch, Message, VoiceCallAttributes
from messages_app.selectors import message_record, messages_with_parts

pytestmark = pytest.mark.django_db


def records() -> dict[str, dict]:
    return {m.source_uuid: wire.to_wire(message_record(m)) for m in messages_with_parts(Message.objects.all())}


def test_generated_messages_match_a_revert_through_the_ingest_service():
    out = io.StringIO()
    call_command(
        "generate_demo_data",
        messages=500,
        big_conversation=120,
        per_customer=40,
        departments=2,
        chunk=150,
        stdout=out,
    )

    assert "Generated 500 messages" in out.getvalue()
    assert Message.objects.count() == 500
    assert set(Department.objects.values_list("uuid", flat=True)) == {
        "generated-department-1",
        "generated-department-2",
    }
    assert Message.objects.filter(is_trashed=True).count() == 1
    assert Message.objects.filter(show_in_customer_conversation=False).count() == 1
    assert Attachment.objects.count() == 20
    assert VoiceCallAttributes.objects.count() > 0
    assert sum(ImportBatch.objects.values_list("created_count", flat=True)) == 500
    biggest = Conversation.objects.order_by("-total_message_count").first()
    assert biggest.total_message_count == 120
    for conversation in Conversation.objects.all():
        messages = Message.objects.filter(conversation=conversation)
        assert conversation.total_message_count == messages.count()
        assert conversation.last_message_at == messages.aggregate(last=Max("message_at"))["last"]

    before = records()
    result = corrections.revert_to_import(Message.objects.all(), user=None)

    assert result.reverted == 500, result.failed
    assert records() == before


def test_generated_derived_columns_follow_the_ingest_services_rule():
    """Some generated messages were received before they were sent (clock skew): their
    ``message_at`` is the later time, as the ingest service stores it."""
    call_command("generate_demo_data", messages=200, big_conversation=50, per_customer=50, stdout=io.StringIO())
    columns = ("source_uuid", "message_at", "is_trashed")
    generated = set(Message.objects.values_list(*columns))
    skewed = Message.objects.filter(received_on__lt=F("sent_on"))

    corrections.revert_to_import(Message.objects.all(), user=None)

    assert skewed.exists()
    assert all(message.message_at == message.sent_on for message in skewed)
    assert set(Message.objects.values_list(*columns)) == generated


def test_rejects_a_non_positive_count():
    with pytest.raises(Exception, match="must be positive"):
        call_command("generate_demo_data", messages=0, stdout=io.StringIO())
