"""The demo history `setup_demo` imports: every kind of message, through the ingest service, once."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Max

from messages_app.enums import ImportSource, MessageType, Protocol
from messages_app.models import Attachment, Conversation, ImportBatch, Message, MessageTag, VoiceCallAttributes
from messages_app.transfer.demo_history import CORRECTED_BODY, CORRECTED_SOURCE_UUID, HISTORY, ORIGIN

pytestmark = pytest.mark.django_db

DEMO_MESSAGES = Message.objects.filter(department__uuid="demo-department")


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """setup_demo sets two passwords per run; the history is what these tests are about."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def setup_demo(*args: str) -> None:
    call_command("setup_demo", *args, stdout=io.StringIO())


def counts() -> dict[str, int]:
    return {
        "messages": DEMO_MESSAGES.count(),
        "customers": DEMO_MESSAGES.values("customer").distinct().count(),
        "attachments": Attachment.objects.count(),
        "message tags": MessageTag.objects.count(),
        "voice calls": VoiceCallAttributes.objects.count(),
    }


def test_running_setup_demo_twice_keeps_the_same_messages():
    setup_demo()
    first = (counts(), set(DEMO_MESSAGES.values_list("source_uuid", "message_uuid")))

    setup_demo()

    assert (counts(), set(DEMO_MESSAGES.values_list("source_uuid", "message_uuid"))) == first
    assert first[0]["messages"] == sum(len(items) for items in HISTORY.values())
    assert 3 <= first[0]["customers"] <= 5


def test_the_second_run_goes_through_the_ingest_service_and_finds_every_message_stored():
    setup_demo()
    setup_demo()

    batches = ImportBatch.objects.filter(origin=ORIGIN, source=ImportSource.COMMAND).order_by("id")
    second_run = batches[len(HISTORY) :]

    assert batches.count() == 2 * len(HISTORY)
    assert all(b.created_count == b.updated_count == b.failed_count == 0 for b in second_run)
    assert sum(b.unchanged_count for b in second_run) == DEMO_MESSAGES.count()


def test_every_message_type_and_protocol_is_present():
    setup_demo()

    assert set(DEMO_MESSAGES.values_list("type", flat=True)) == set(MessageType.values)
    assert set(DEMO_MESSAGES.values_list("protocol", flat=True)) == set(Protocol.values)


def test_the_parts_of_each_kind_are_present():
    setup_demo()

    email = DEMO_MESSAGES.filter(protocol=Protocol.EMAIL, attachments__isnull=False).get()
    assert email.subject and email.attachments.get().original_file_name.endswith(".pdf")
    assert VoiceCallAttributes.objects.filter(message__protocol=Protocol.VOICE_CALL).count() == 2
    drafts = DEMO_MESSAGES.filter(type__in=[MessageType.DRAFT, MessageType.DISCARDED_DRAFT])
    assert sorted(drafts.values_list("draft_attributes__draft_status", flat=True)) == ["DISCARDED", "SCHEDULED"]
    assert MessageTag.objects.filter(message__in=DEMO_MESSAGES).count() >= 3


def test_one_message_is_trashed():
    setup_demo()

    trashed = DEMO_MESSAGES.get(is_trashed=True)

    assert trashed.tags == ["TRASH"]


def test_one_message_is_corrected_by_the_demo_staff_member_once():
    setup_demo()
    setup_demo()

    corrected = DEMO_MESSAGES.get(corrected_at__isnull=False)

    assert corrected.source_uuid == CORRECTED_SOURCE_UUID
    assert corrected.body == CORRECTED_BODY
    assert corrected.corrected_by.username == "demo-staff" and corrected.corrected_fields == ["body"]
    assert corrected.source_payload["messageAttributes"]["body"] != CORRECTED_BODY


def test_conversation_counters_match_the_rows():
    setup_demo()
    setup_demo()

    for conversation in Conversation.objects.filter(department__uuid="demo-department"):
        messages = DEMO_MESSAGES.filter(customer=conversation.customer_id)
        assert conversation.total_message_count == messages.filter(update_total_message_count=True).count()
        latest = messages.filter(update_thread_timestamp=True).aggregate(latest=Max("message_at"))["latest"]
        assert conversation.last_message_at == latest


def test_a_message_that_does_not_update_the_thread_is_left_out_of_its_counters():
    setup_demo()

    conversation = Conversation.objects.get(customer__uuid="li-wei")

    assert DEMO_MESSAGES.filter(customer=conversation.customer_id).count() == 3
    assert conversation.total_message_count == 2
    assert conversation.last_message_at.isoformat() == "2024-11-05T08:10:00+00:00"


def test_no_history_skips_it():
    setup_demo("--no-history")

    assert not DEMO_MESSAGES.exists()
