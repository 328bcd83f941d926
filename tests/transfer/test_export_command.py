"""`export_historical`: JSON Lines in the import format, streamed in keyset pages, that
imports back into an empty store field for field."""

import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messages_app.clients import register_client
from messages_app.models import Conversation, Customer, Department, Message
from messages_app.transfer import common, exporting
from tests.builders import DEPARTMENT_UUID, full_message, minimal_message, with_attrs
from tests.transfer.helpers import document, flush_messages, run, wire_snapshot, write_jsonl

pytestmark = pytest.mark.django_db

OTHER_DEPARTMENT = "Zm9vYmFyYmF6cXV4LWRlcGFydG1lbnQtdG9rZW4tMDI"


def export(*args):
    return run("export_historical", *args)


def exported(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def sent(n: int, day: int, customer: str = "c-1", **overrides) -> tuple[str, dict]:
    """A minimal message of customer ``customer`` at a given day of January 2024."""
    return customer, minimal_message(n, sentOn=f"2024-01-{day:02d}T08:00:00Z", **overrides)


def store(tmp_path, pairs, department: str = DEPARTMENT_UUID) -> None:
    documents = [document([item], department=department, customer=customer) for customer, item in pairs]
    result = run("import_historical", str(write_jsonl(tmp_path / "seed.jsonl", documents)))
    assert result.code == 0, result.stderr


def every_kind_of_message() -> list[dict]:
    """Full messages (draft, attachments, tags, notification and voice-call attributes) and
    the shapes that differ from them: absent, null, empty, false, trashed, hidden, notes."""
    return [
        full_message(1),
        full_message(2, callBackPathUrl="/callbacks/2", messageUuid="client-chosen-uuid-2"),
        with_attrs(full_message(3), type="DISCARDED_DRAFT", tags=["TRASH"], showInCustomerConversation=False),
        with_attrs(
            full_message(4),
            type="OUTGOING",
            protocol="EMAIL",
            draftAttributes=None,
            attachments=[],
            messageTags=[{"tagTypeUuid": "t", "value": {"a": None, "b": []}}],
            metaData={},
            updateThreadTimestamp=False,
            updateTotalMessageCount=False,
        ),
        minimal_message(5),
        minimal_message(6, receivedOn="2024-02-02T12:00:00.000001+02:00", sentOn=None),
        minimal_message(7, messageAttributes={"type": "NOTE", "protocol": "NONE", "body": "", "isManual": False}),
        minimal_message(8, notificationAttributes={"sendPhoneNotification": False}, voiceCallAttributes={}),
        minimal_message(9, messageAttributes=None),
    ]


def test_an_export_imported_into_an_empty_store_reproduces_every_message(department, tmp_path):
    register_client("other-client", [OTHER_DEPARTMENT])
    items = every_kind_of_message()
    store(tmp_path, [("c-1", item) for item in items[:6]] + [("c-2", item) for item in items[6:]])
    store(tmp_path, [("c-9", full_message(20)), ("c-9", minimal_message(21))], department=OTHER_DEPARTMENT)
    corrected = Message.objects.get(source_uuid="src-000001")
    corrected.body, corrected.corrected_at = "Corrected by staff", timezone.now()
    corrected.save()
    corrected.attachments.filter(position=1).delete()
    before = wire_snapshot()
    counters = set(Conversation.objects.values_list("customer__uuid", "total_message_count", "last_message_at"))
    output = tmp_path / "export.jsonl"

    result = export("--output", str(output))

    assert result.code == 0, result.stderr
    assert "Exported 11 messages in 3 documents" in result.stderr
    flush_messages()
    assert not Message.objects.exists()

    result = run("import_historical", str(output))

    assert result.code == 0, result.stderr
    after = wire_snapshot()
    assert len(after) == 11
    assert after == before
    assert after[corrected.message_uuid]["messageAttributes"]["body"] == "Corrected by staff"
    assert len(after[corrected.message_uuid]["messageAttributes"]["attachments"]) == 1
    assert set(Conversation.objects.values_list("customer__uuid", "total_message_count", "last_message_at")) == counters


def test_documents_are_per_customer_chunks_in_time_order(department, tmp_path):
    days = [9, 3, 7, 1, 5, 2, 8]
    store(tmp_path, [sent(n, day) for n, day in enumerate(days)] + [sent(10, 4, "c-2"), sent(11, 1, "c-2")])

    result = export("--chunk-size", "3")

    assert result.code == 0, result.stderr
    documents = exported(result)
    assert [(d["customerUUID"], len(d["saveMessageRequestList"])) for d in documents] == [
        ("c-1", 3),
        ("c-1", 3),
        ("c-1", 1),
        ("c-2", 2),
    ]
    assert all(
        d["departmentUUID"] == DEPARTMENT_UUID
        and set(d) == {"departmentUUID", "customerUUID", "saveMessageRequestList"}
        for d in documents
    )
    times = [item["sentOn"] for d in documents[:3] for item in d["saveMessageRequestList"]]
    assert times == sorted(times)
    assert len(times) == 7


@pytest.mark.parametrize("by_time", [True, False])
def test_keyset_pages_give_every_message_once_in_order(department, tmp_path, by_time):
    same_time = [sent(n, 1, f"c-{n % 3}") for n in range(10)]
    store(tmp_path, same_time + [sent(20 + n, 2 + n % 2, f"c-{n % 3}") for n in range(7)])
    expected = list(
        Message.objects.order_by("customer_id", *(["message_at"] if by_time else []), "id").values_list("id", flat=True)
    )

    pages = list(common.keyset_pages(Message.objects.all(), 4, by_time=by_time))

    assert [len(page) for page in pages] == [4, 4, 4, 4, 1]
    assert [message_id for page in pages for message_id in page] == expected


def test_queries_are_bounded_per_page_not_per_message(department, tmp_path):
    store(tmp_path, [(f"c-{n % 3}", full_message(n)) for n in range(24)])
    # Per page: at most 2 keyset queries, the messages, 6 prefetches; 2 more to find the end.
    per_page, at_the_end = 9, 2

    def queries(chunk_size: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            documents = list(exporting.export_documents(Message.objects.all(), chunk_size=chunk_size))
        assert sum(len(d["saveMessageRequestList"]) for d in documents) == 24
        return len(captured)

    assert queries(24) <= per_page + at_the_end
    assert queries(4) <= 6 * per_page + at_the_end


def test_filters_by_department_customer_and_time(department, tmp_path):
    register_client("other-client", [OTHER_DEPARTMENT])
    store(tmp_path, [sent(1, 1, "c-1"), sent(2, 5, "c-1"), sent(3, 9, "c-2")])
    store(tmp_path, [sent(4, 9, "c-1")], department=OTHER_DEPARTMENT)

    def sources(*args):
        result = export(*args)
        assert result.code == 0, result.stderr
        return sorted(item["sourceUuid"] for d in exported(result) for item in d["saveMessageRequestList"])

    assert sources() == ["min-1", "min-2", "min-3", "min-4"]
    assert sources("--department", DEPARTMENT_UUID) == ["min-1", "min-2", "min-3"]
    assert sources("--customer", "c-1") == ["min-1", "min-2", "min-4"]
    assert sources("--department", DEPARTMENT_UUID, "--customer", "c-1") == ["min-1", "min-2"]
    assert sources("--since", "2024-01-05") == ["min-2", "min-3", "min-4"]
    assert sources("--since", "2024-01-05T08:00:01+00:00") == ["min-3", "min-4"]
    assert sources("--since", "2024-01-05T09:00:00+02:00", "--customer", "c-1") == ["min-2", "min-4"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--department", "nope"], "No department 'nope'"),
        (["--customer", "nope"], "No customer 'nope'"),
        (["--since", "yesterday"], "not an ISO 8601 date"),
        (["--chunk-size", "0"], "--chunk-size must be at least 1"),
        (["--output", "/nonexistent-folder/export.jsonl"], "Cannot write the export"),
    ],
)
def test_unusable_arguments_exit_2(department, args, message):
    result = export(*args)

    assert result.code == 2
    assert message in result.stderr


def test_standard_output_carries_only_the_documents(department, tmp_path):
    store(tmp_path, [sent(1, 1), sent(2, 2)])

    result = export()

    assert result.code == 0
    assert [len(d["saveMessageRequestList"]) for d in exported(result)] == [2]
    assert "Exported 2 messages in 1 document to standard output." in result.stderr


def test_an_interrupted_export_leaves_no_file(department, tmp_path, monkeypatch):
    store(tmp_path, [sent(n, 1 + n) for n in range(5)])
    output = tmp_path / "export.jsonl"
    output.write_text("the previous export\n")
    real = exporting.export_documents

    def interrupted(*args, **kwargs):
        yield from list(real(*args, **kwargs))[:1]
        raise KeyboardInterrupt

    monkeypatch.setattr("messages_app.transfer.exporting.export_documents", interrupted)

    result = export("--output", str(output), "--chunk-size", "2")

    assert result.code == 130
    assert "Interrupted after 2 messages; the output file was not written." in result.stderr
    assert output.read_text() == "the previous export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


class ClosedPipe(io.StringIO):
    """Standard output whose reader went away after the first line (``| head -n 1``)."""

    def write(self, text: str) -> int:
        if self.getvalue():
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)


def test_a_reader_closing_standard_output_ends_the_export_with_141(department, tmp_path):
    store(tmp_path, [sent(n, 1 + n, customer=f"c-{n}") for n in range(3)])
    out, err = ClosedPipe(), io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("export_historical", stdout=out, stderr=err)

    assert raised.value.returncode == 141
    assert "closed by its reader after 1 messages" in str(raised.value)
    assert len(out.getvalue().splitlines()) == 1


def test_since_parses_dates_and_date_times():
    assert exporting.parse_since("2024-03-01") == datetime(2024, 3, 1, tzinfo=UTC)
    assert exporting.parse_since("2024-03-01T10:00:00+01:00") == datetime(2024, 3, 1, 9, tzinfo=UTC)
    assert Department.objects.count() == 0
    assert Customer.objects.count() == 0
