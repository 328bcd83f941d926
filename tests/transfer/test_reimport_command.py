"""`reimport_historical`: normalised rows rebuilt from stored payloads through the ingest
service; staff corrections kept unless overwritten."""

import pytest
from django.utils import timezone

from messages_app.enums import ImportSource
from messages_app.ingest import write as ingest_write
from messages_app.models import (
    Attachment,
    ImportBatch,
    Message,
    MessageTag,
    NotificationButton,
    VoiceCallAttributes,
)
from tests.builders import CUSTOMER_UUID, full_message, minimal_message
from tests.transfer.helpers import document, run, wire_snapshot, write_jsonl

pytestmark = pytest.mark.django_db

OTHER_CUSTOMER = "customer-2"


def reimport(*args):
    return run("reimport_historical", *args)


@pytest.fixture
def stored(department, tmp_path):
    """Four full messages of one customer and two of another, imported by the command."""
    path = write_jsonl(
        tmp_path / "seed.jsonl",
        [
            document([full_message(n) for n in range(4)]),
            document([full_message(10), full_message(11)], customer=OTHER_CUSTOMER),
        ],
    )
    result = run("import_historical", str(path))
    assert result.code == 0, result.stderr
    return wire_snapshot()


def correct(source_uuid: str, body: str) -> Message:
    """What the admin does: edit the rows and mark the message corrected."""
    message = Message.objects.get(source_uuid=source_uuid)
    message.body, message.corrected_at, message.corrected_fields = body, timezone.now(), ["body"]
    message.save()
    return message


def test_reimport_rebuilds_rows_lost_or_changed_since_the_import(stored):
    Attachment.objects.filter(message__source_uuid="src-000001", position=0).delete()
    NotificationButton.objects.filter(message__source_uuid="src-000002").delete()
    VoiceCallAttributes.objects.filter(message__source_uuid="src-000010").delete()
    MessageTag.objects.filter(message__source_uuid="src-000003").update(value={"drifted": True})
    Message.objects.filter(source_uuid="src-000011").update(subject="drifted")
    assert wire_snapshot() != stored
    batches_before = ImportBatch.objects.count()

    result = reimport()

    assert result.code == 0, result.stderr
    assert wire_snapshot() == stored
    assert Attachment.objects.filter(message__source_uuid="src-000001").count() == 2
    assert "6 items in 2 batches" in result.stdout
    assert "stored 0, updated 6, unchanged 0, kept as corrected 0, failed 0" in result.stdout
    new_batches = ImportBatch.objects.order_by("id")[batches_before:]
    assert {(b.source, b.origin) for b in new_batches} == {(ImportSource.REIMPORT, "reimport_historical")}
    assert set(Message.objects.values_list("updated_batch__source", flat=True)) == {ImportSource.REIMPORT}


def test_corrected_messages_are_left_alone_unless_overwritten(stored):
    corrected = correct("src-000001", "Corrected by staff")
    Attachment.objects.filter(message=corrected).delete()
    Attachment.objects.filter(message__source_uuid="src-000002").delete()

    result = reimport()

    assert result.code == 0, result.stderr
    assert "updated 5" in result.stdout
    assert "skipped, corrected by staff: 1" in result.stdout
    corrected.refresh_from_db()
    assert corrected.body == "Corrected by staff"
    assert corrected.corrected_at is not None
    assert not corrected.attachments.exists()
    assert Attachment.objects.filter(message__source_uuid="src-000002").count() == 2

    result = reimport("--overwrite-corrections")

    assert result.code == 0, result.stderr
    assert "updated 6" in result.stdout
    corrected.refresh_from_db()
    assert corrected.body == full_message(1)["messageAttributes"]["body"]
    assert corrected.corrected_at is None
    assert corrected.attachments.count() == 2
    assert wire_snapshot() == stored


def test_filters_by_department_customer_and_batch(stored, tmp_path):
    later = write_jsonl(tmp_path / "later.jsonl", [document([minimal_message(1)])])
    assert run("import_historical", str(later)).code == 0
    first_batch = ImportBatch.objects.order_by("id").first()
    Attachment.objects.all().delete()

    result = reimport("--customer", OTHER_CUSTOMER)

    assert result.code == 0, result.stderr
    assert "updated 2" in result.stdout
    assert set(Attachment.objects.values_list("message__customer__uuid", flat=True)) == {OTHER_CUSTOMER}

    result = reimport("--batch", str(first_batch.pk))

    assert result.code == 0, result.stderr
    assert "updated 4" in result.stdout  # the first document's messages only
    assert Message.objects.get(source_uuid="min-1").updated_batch.source == ImportSource.COMMAND

    result = reimport("--department", first_batch.department.uuid, "--customer", CUSTOMER_UUID)

    assert "updated 5" in result.stdout
    assert {key: item for key, item in wire_snapshot().items() if key in stored} == stored


def test_dry_run_rebuilds_nothing(stored):
    Attachment.objects.filter(message__source_uuid="src-000001").delete()
    batches = ImportBatch.objects.count()

    result = reimport("--dry-run")

    assert result.code == 0, result.stderr
    assert "updated 6" in result.stdout
    assert "Dry run: nothing was written." in result.stdout
    assert not Attachment.objects.filter(message__source_uuid="src-000001").exists()
    assert ImportBatch.objects.count() == batches


def test_a_payload_the_service_now_refuses_fails_and_leaves_its_rows(stored):
    message = Message.objects.get(source_uuid="src-000002")
    payload = message.source_payload
    payload["messageAttributes"]["purpose"] = "RETIRED_VALUE"
    Message.objects.filter(pk=message.pk).update(source_payload=payload)

    result = reimport()

    assert result.code == 1
    assert "updated 5" in result.stdout
    assert "failed items by code: INVALID_ENUM_VALUE 1" in result.stdout
    assert "(sourceUuid src-000002): INVALID_ENUM_VALUE" in result.stderr
    assert wire_snapshot() == stored


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--department", "nope"], "No department 'nope'"),
        (["--customer", "nope"], "No customer 'nope'"),
        (["--batch", "999999"], "No import batch 999999"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
    ],
)
def test_unusable_arguments_exit_2(stored, args, message):
    result = reimport(*args)

    assert result.code == 2
    assert message in result.stderr


def test_an_interrupted_reimport_keeps_committed_batches(stored, monkeypatch):
    Attachment.objects.all().delete()
    real_recount, calls = ingest_write.recount_conversations, []

    def interrupt_second_batch(conversation, **_options):
        calls.append(conversation)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_recount(conversation)

    monkeypatch.setattr(ingest_write, "recount_conversations", interrupt_second_batch)

    result = reimport("--batch-size", "3")

    assert result.code == 130
    assert "(INTERRUPTED)" in result.stdout
    assert Attachment.objects.count() == 6  # the first batch of three messages

    monkeypatch.setattr(ingest_write, "recount_conversations", real_recount)
    assert reimport("--batch-size", "3").code == 0
    assert wire_snapshot() == stored
