"""`import_historical PATH… | -`: files, folders and stdin through the one ingest service."""

import io
import json
import logging
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from messages_app.enums import ImportSource
from messages_app.ingest import write as ingest_write
from messages_app.models import (
    Attachment,
    Conversation,
    Customer,
    Department,
    ImportBatch,
    Message,
    MessageTag,
    NotificationButton,
    VoiceCallAttributes,
)
from messages_app.transfer import progress as runs
from messages_app.transfer import reading as importing
from tests.builders import (
    CUSTOMER_UUID,
    DEPARTMENT_UUID,
    database_url_of_the_test_database,
    full_message,
    minimal_message,
    with_attrs,
)
from tests.transfer.helpers import document, flush_messages, run, wire_snapshot, write_json, write_jsonl

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
OTHER_CUSTOMER = "customer-2"


def import_(*args, **kwargs):
    return run("import_historical", *args, **kwargs)


def without_ids(response: dict) -> dict:
    """A response envelope without what is fresh on every call (messageUuid, errorUID)."""
    response = json.loads(json.dumps(response))
    for entry in response["saveMessageResponse"]:
        entry.pop("messageUuid")
        for error in entry["errors"]:
            error.pop("errorUID")
    return response


# --- Same service, same results as the API -------------------------------------------------


def test_a_json_document_is_stored_exactly_as_the_api_stores_it(department, put, tmp_path):
    items = [full_message(1), full_message(2), minimal_message(3), with_attrs(minimal_message(4), purpose="nope")]
    path = write_json(tmp_path / "dump.json", document(items))

    result = import_("--", str(path))

    assert result.code == 1  # the invalid item fails; the others are stored
    assert Message.objects.count() == 3
    batch = ImportBatch.objects.get()
    assert batch.source == ImportSource.COMMAND
    assert batch.origin == f"{path}:1 items 0-3"
    by_command = ({w["sourceUuid"]: w for w in wire_snapshot().values()}, without_ids(batch.response))

    flush_messages()
    response = put(items)

    assert response.status_code == 200
    by_api = ({w["sourceUuid"]: w for w in wire_snapshot().values()}, without_ids(response.json()))
    for snapshot in (by_command[0], by_api[0]):
        for item in snapshot.values():
            item.pop("messageUuid")
    assert by_command == by_api


def test_json_lines_with_several_documents_and_customers(department, tmp_path):
    path = write_jsonl(
        tmp_path / "dump.jsonl",
        [
            document([full_message(1), full_message(2)]),
            document([minimal_message(3)], customer=OTHER_CUSTOMER),
            document([minimal_message(4)]),
        ],
    )

    result = import_(str(path))

    assert result.code == 0, result.stderr
    assert Customer.objects.count() == 2
    assert Message.objects.filter(customer__uuid=CUSTOMER_UUID).count() == 3
    assert Message.objects.filter(customer__uuid=OTHER_CUSTOMER).count() == 1
    assert sorted(ImportBatch.objects.values_list("origin", flat=True)) == [
        f"{path}:1 items 0-1",
        f"{path}:2 items 0-0",
        f"{path}:3 items 0-0",
    ]
    assert Conversation.objects.get(customer__uuid=CUSTOMER_UUID).total_message_count == 3
    assert "stored 4, updated 0, unchanged 0, kept as corrected 0, failed 0" in result.stdout


def test_a_folder_is_read_recursively_json_and_jsonl_only(department, tmp_path):
    write_json(tmp_path / "a.json", document([minimal_message(1)]))
    write_jsonl(tmp_path / "deeper" / "still" / "b.jsonl", [document([minimal_message(2)])])
    write_jsonl(tmp_path / "deeper" / "c.JSONL", [document([minimal_message(3)])])
    (tmp_path / "notes.txt").write_text("not an import file")
    (tmp_path / "deeper" / "d.json.bak").write_text("{broken")

    result = import_(str(tmp_path))

    assert result.code == 0, result.stderr
    assert set(Message.objects.values_list("source_uuid", flat=True)) == {"min-1", "min-2", "min-3"}
    origins = set(ImportBatch.objects.values_list("origin", flat=True))
    assert origins == {
        f"{tmp_path / 'a.json'}:1 items 0-0",
        f"{tmp_path / 'deeper' / 'c.JSONL'}:1 items 0-0",
        f"{tmp_path / 'deeper' / 'still' / 'b.jsonl'}:1 items 0-0",
    }


def test_standard_input_json_lines(department, monkeypatch):
    data = "".join(json.dumps(document([minimal_message(n)])) + "\n" for n in range(3)).encode()

    result = import_("-", stdin=data, monkeypatch=monkeypatch)

    assert result.code == 0, result.stderr
    assert Message.objects.count() == 3
    assert sorted(ImportBatch.objects.values_list("origin", flat=True)) == [
        "<stdin>:1 items 0-0",
        "<stdin>:2 items 0-0",
        "<stdin>:3 items 0-0",
    ]


def test_standard_input_pretty_printed_document(department, monkeypatch):
    data = json.dumps(document([full_message(n) for n in range(3)]), indent=4).encode()

    result = import_("-", stdin=data, monkeypatch=monkeypatch)

    assert result.code == 0, result.stderr
    assert Message.objects.count() == 3
    assert ImportBatch.objects.get().origin == "<stdin>:1 items 0-2"


def test_a_large_document_goes_in_batches(department, tmp_path):
    path = write_json(tmp_path / "big.json", document([minimal_message(n) for n in range(7)]))

    result = import_(str(path), "--batch-size", "3")

    assert result.code == 0, result.stderr
    assert Message.objects.count() == 7
    assert sorted(ImportBatch.objects.values_list("origin", "item_count")) == [
        (f"{path}:1 items 0-2", 3),
        (f"{path}:1 items 3-5", 3),
        (f"{path}:1 items 6-6", 1),
    ]
    assert "7 items in 3 batches" in result.stdout


def test_several_documents_in_one_json_file(department, tmp_path):
    path = tmp_path / "two.json"
    path.write_text(
        json.dumps(document([minimal_message(1)]), indent=2)
        + "\n"
        + json.dumps(document([minimal_message(2)], customer=OTHER_CUSTOMER), indent=2)
    )

    result = import_(str(path))

    assert result.code == 0, result.stderr
    assert Message.objects.count() == 2
    lines_of_second = 1 + json.dumps(document([minimal_message(1)]), indent=2).count("\n") + 1
    assert set(ImportBatch.objects.values_list("origin", flat=True)) == {
        f"{path}:1 items 0-0",
        f"{path}:{lines_of_second} items 0-0",
    }


def test_ids_after_the_list_still_apply_to_every_item(department, tmp_path):
    path = tmp_path / "late.json"
    body = {
        "saveMessageRequestList": [minimal_message(n) for n in range(5)],
        "callBackPathUrl": "/done",
        "customerUUID": OTHER_CUSTOMER,
        "departmentUUID": DEPARTMENT_UUID,
    }
    path.write_text(json.dumps(body, indent=2))

    result = import_(str(path), "--batch-size", "2")

    assert result.code == 0, result.stderr
    assert Message.objects.filter(customer__uuid=OTHER_CUSTOMER).count() == 5
    assert set(ImportBatch.objects.values_list("callback_path_url", flat=True)) == {"/done"}


def test_the_request_level_fields_work_as_in_the_api(department, tmp_path):
    path = write_jsonl(
        tmp_path / "dump.jsonl", [document([minimal_message(1)], callBackPathUrl="/hook", surprise={"x": 1})]
    )

    result = import_(str(path))

    assert result.code == 0, result.stderr
    batch = ImportBatch.objects.get()
    assert batch.callback_path_url == "/hook"
    assert {w["warningCode"] for w in batch.response["warnings"]} == {"UNKNOWN_FIELD", "CALLBACK_REFUSED"}


def test_a_document_is_read_item_by_item_not_whole(monkeypatch):
    """A JSON document is decoded one item at a time: after the first item only a
    window of the input has been read, however large the document."""
    monkeypatch.setattr(importing, "READ_BYTES", 4096)
    body = json.dumps(document([full_message(n) for n in range(300)])).encode()

    class CountingStream(io.BytesIO):
        read_so_far = 0

        def read(self, size=-1):
            data = super().read(size)
            self.read_so_far += len(data)
            return data

    stream = CountingStream(body)
    piece = next(importing.read_json_stream(stream, "big.json"))
    first = next(iter(piece.items))

    assert first["sourceUuid"] == "src-000000"
    assert len(body) > 100 * 4096
    assert stream.read_so_far <= 2 * 4096


# --- Problems in the input --------------------------------------------------------------------


def test_a_bad_line_in_the_middle_is_reported_and_the_rest_imported(department, tmp_path):
    path = tmp_path / "dump.jsonl"
    path.write_text(
        json.dumps(document([minimal_message(1)]))
        + "\n"
        + '{"departmentUUID": "x", "saveMessageRequestList": [\n'
        + "\n"
        + json.dumps(document([minimal_message(2)]))
        + "\n"
    )

    result = import_(str(path))

    assert result.code == 1
    assert f"{path}:2: not imported: MALFORMED_JSON" in result.stderr
    assert set(Message.objects.values_list("source_uuid", flat=True)) == {"min-1", "min-2"}
    assert "documents or lines not imported: 1 (MALFORMED_JSON 1)" in result.stdout


def test_a_syntax_error_in_a_document_stops_that_input_only(department, tmp_path):
    broken = tmp_path / "a-broken.json"
    text = json.dumps(document([minimal_message(n) for n in range(4)]), indent=2)
    cut = text.index('"min-3"')
    broken.write_text(text[:cut] + "oops" + text[cut:])
    fine = write_json(tmp_path / "b-fine.json", document([minimal_message(9)]))

    result = import_(str(broken), str(fine), "--batch-size", "2")

    assert result.code == 1
    line = text[:cut].count("\n") + 1
    assert f"{broken}:1: not imported: MALFORMED_JSON Line {line}: not valid JSON" in result.stderr
    # The items before the error were read and imported; the other file is complete.
    assert set(Message.objects.values_list("source_uuid", flat=True)) == {"min-0", "min-1", "min-2", "min-9"}


@pytest.mark.parametrize("mode", ["jsonl", "json"])
def test_a_lone_surrogate_fails_its_item_as_over_the_api(department, tmp_path, mode):
    body = json.dumps(document([minimal_message(1, communicationUid="ok"), minimal_message(2, userUuid="\ud800")]))
    assert "\\ud800" in body
    path = tmp_path / f"dump.{mode}"
    path.write_text(body + "\n" if mode == "jsonl" else body.replace(", ", ",\n"))

    result = import_(str(path))

    assert result.code == 1
    assert list(Message.objects.values_list("source_uuid", flat=True)) == ["min-1"]
    assert "item 1 (sourceUuid min-2): UNSTORABLE_STRING saveMessageRequestList[1].userUuid" in result.stderr


@pytest.mark.parametrize("mode", ["jsonl", "json"])
@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e400"])
def test_json_the_api_refuses_is_refused_in_files_too(department, tmp_path, mode, number):
    path = tmp_path / f"dump.{mode}"
    good, bad = document([minimal_message(1)]), document([minimal_message(2, callStatus=0)])
    text = json.dumps(bad).replace('"callStatus": 0', f'"callStatus": {number}')
    path.write_text(f"{json.dumps(good)}\n{text}\n" if mode == "jsonl" else f"{json.dumps(good, indent=2)}\n{text}")

    result = import_(str(path))

    assert result.code == 1
    if mode == "jsonl":
        assert f"{path}:2: not imported: MALFORMED_JSON Not valid JSON" in result.stderr
    else:
        line = json.dumps(good, indent=2).count("\n") + 2
        assert f"{path}:{line}: not imported: MALFORMED_JSON Line {line}: not valid JSON" in result.stderr
    assert list(Message.objects.values_list("source_uuid", flat=True)) == ["min-1"]


def test_documents_of_the_wrong_shape_are_refused_and_counted(department, tmp_path):
    path = write_jsonl(
        tmp_path / "dump.jsonl",
        [
            [minimal_message(1)],
            {"departmentUUID": DEPARTMENT_UUID, "saveMessageRequestList": [minimal_message(2)]},
            document("not a list"),
            document([]),
            document([minimal_message(3)], customer="has space"),
            document([minimal_message(4)], callBackPathUrl=5),
            document([minimal_message(5)]),
        ],
    )

    result = import_(str(path))

    assert result.code == 1
    assert list(Message.objects.values_list("source_uuid", flat=True)) == ["min-5"]
    for line, code in (
        (1, "INVALID_REQUEST_SHAPE"),
        (2, "INVALID_REQUEST_SHAPE customerUUID: Required."),
        (3, "INVALID_REQUEST_SHAPE saveMessageRequestList"),
        (4, "EMPTY_REQUEST"),
        (5, "INVALID_PATH_PARAMETER customerUUID"),
        (6, "INVALID_REQUEST_SHAPE callBackPathUrl: Must be a string."),
    ):
        assert f"{path}:{line}: not imported: {code}" in result.stderr
    assert "failed items by code: INVALID_PATH_PARAMETER 1, INVALID_REQUEST_SHAPE 2" in result.stdout
    assert (
        "documents or lines not imported: 6 (EMPTY_REQUEST 1, INVALID_PATH_PARAMETER 1, INVALID_REQUEST_SHAPE 4)"
        in (result.stdout)
    )


def test_failed_items_exit_1_with_a_summary_by_code(department, tmp_path):
    items = [
        minimal_message(1),
        with_attrs(minimal_message(2), purpose="nope"),
        with_attrs(minimal_message(3), type="nope"),
        minimal_message(4, sentOn=None),
        minimal_message(5),
        minimal_message(5),
    ]
    path = write_jsonl(tmp_path / "dump.jsonl", [document(items)])

    result = import_(str(path))

    assert result.code == 1
    assert "stored 2, updated 0, unchanged 0, kept as corrected 0, failed 4" in result.stdout
    assert "failed items by code: DUPLICATE_SOURCE_UUID 1, INVALID_ENUM_VALUE 2, MISSING_TIMESTAMP 1" in result.stdout
    assert f"{path}:1 item 2 (sourceUuid min-3): INVALID_ENUM_VALUE saveMessageRequestList[2]" in result.stderr
    assert "CommandError: Some items or documents were not imported" in result.stderr


def test_paths_of_failed_items_count_from_the_start_of_their_document(department, tmp_path):
    items = [minimal_message(n) for n in range(5)] + [with_attrs(minimal_message(5), purpose="nope")]
    path = write_jsonl(tmp_path / "dump.jsonl", [document(items)])

    result = import_(str(path), "--batch-size", "4")

    assert f"{path}:1 item 5 (sourceUuid min-5): INVALID_ENUM_VALUE saveMessageRequestList[5]" in result.stderr


def test_an_unknown_department_fails_its_items_and_is_not_created(department, tmp_path):
    path = write_jsonl(
        tmp_path / "dump.jsonl",
        [
            document([minimal_message(1), minimal_message(2)], department="not-registered"),
            document([minimal_message(3)]),
        ],
    )

    result = import_(str(path))

    assert result.code == 1
    assert not Department.objects.filter(uuid="not-registered").exists()
    assert list(Message.objects.values_list("source_uuid", flat=True)) == ["min-3"]
    assert "Department not-registered is not registered" in result.stderr
    assert "stored 1, updated 0, unchanged 0, kept as corrected 0, failed 2" in result.stdout
    assert "failed items by code: NOT_FOUND 2" in result.stdout


def test_dry_run_writes_nothing_and_reports_what_would_happen(department, tmp_path):
    path = write_jsonl(tmp_path / "dump.jsonl", [document([full_message(n) for n in range(3)])])

    result = import_(str(path), "--dry-run")

    assert result.code == 0, result.stderr
    assert "stored 3, updated 0" in result.stdout
    assert "Dry run: nothing was written." in result.stdout
    for model in (Customer, Conversation, ImportBatch, Message, Attachment, MessageTag, NotificationButton):
        assert not model.objects.exists(), model

    import_(str(path))
    write_jsonl(path, [document([full_message(0), with_attrs(full_message(1), body="changed"), minimal_message(9)])])
    before = wire_snapshot()

    result = import_(str(path), "--dry-run")

    assert "stored 1, updated 1, unchanged 1" in result.stdout
    assert wire_snapshot() == before
    assert ImportBatch.objects.count() == 1


def test_missing_input_is_unusable_exit_2_and_nothing_is_imported(department, tmp_path):
    fine = write_jsonl(tmp_path / "fine.jsonl", [document([minimal_message(1)])])

    result = import_(str(fine), str(tmp_path / "missing.jsonl"))

    assert result.code == 2
    assert "missing.jsonl: no such file or folder" in result.stderr
    assert not Message.objects.exists()


def test_a_folder_without_import_files_is_unusable_exit_2(department, tmp_path):
    (tmp_path / "readme.txt").write_text("nothing here")

    result = import_(str(tmp_path))

    assert result.code == 2
    assert "no *.json or *.jsonl files" in result.stderr


def test_batch_size_is_capped_at_the_request_limit(department, tmp_path, settings):
    settings.MAX_MESSAGES_PER_REQUEST = 2
    path = write_jsonl(tmp_path / "dump.jsonl", [document([minimal_message(n) for n in range(5)])])

    result = import_(str(path), "--batch-size", "500")

    assert result.code == 0, result.stderr
    assert "--batch-size capped at MAX_MESSAGES_PER_REQUEST (2)" in result.stderr
    assert sorted(ImportBatch.objects.values_list("item_count", flat=True)) == [1, 2, 2]
    assert import_(str(path), "--batch-size", "0").code == 2


# --- Idempotency, interruption ------------------------------------------------------------------


def test_running_the_same_import_twice_changes_nothing(department, tmp_path):
    path = write_jsonl(tmp_path / "dump.jsonl", [document([full_message(n) for n in range(4)])])
    import_(str(path))
    before = wire_snapshot()

    result = import_(str(path))

    assert result.code == 0
    assert "stored 0, updated 0, unchanged 4" in result.stdout
    assert wire_snapshot() == before
    assert VoiceCallAttributes.objects.count() == 4


def test_an_interrupted_import_keeps_committed_batches_and_a_rerun_completes_it(department, tmp_path, monkeypatch):
    path = write_jsonl(tmp_path / "dump.jsonl", [document([full_message(n) for n in range(10)])])
    real_recount, calls = ingest_write.recount_conversations, []

    def interrupt_second_batch(conversation, **_options):
        calls.append(conversation)
        if len(calls) == 2:  # in the middle of writing the second batch: rows inserted, not committed
            raise KeyboardInterrupt
        real_recount(conversation)

    monkeypatch.setattr(ingest_write, "recount_conversations", interrupt_second_batch)

    result = import_(str(path), "--batch-size", "3")

    assert result.code == 130
    assert "(INTERRUPTED)" in result.stdout
    assert "run the same command again" in result.stderr
    assert Message.objects.count() == 3
    assert Attachment.objects.count() == 6
    assert ImportBatch.objects.count() == 1

    monkeypatch.setattr(ingest_write, "recount_conversations", real_recount)
    result = import_(str(path), "--batch-size", "3")

    assert result.code == 0, result.stderr
    assert "stored 7, updated 0, unchanged 3" in result.stdout
    counts = Counter(Message.objects.values_list("source_uuid", flat=True))
    assert counts == {f"src-{n:06d}": 1 for n in range(10)}
    assert Attachment.objects.count() == 20
    assert Conversation.objects.get().total_message_count == 10


# --- Progress output ------------------------------------------------------------------------------


def test_plain_progress_lines_when_not_on_a_terminal(department, tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "LOG_INTERVAL", 0)
    path = write_jsonl(tmp_path / "dump.jsonl", [document([minimal_message(n)]) for n in range(3)])

    result = import_(str(path))

    progress = [line for line in result.stderr.splitlines() if line.startswith("progress: ")]
    assert progress[-1].startswith("progress: 3 items, ")
    assert "of the input" in progress[-1]
    assert "\r" not in result.stderr


def test_a_progress_bar_on_a_terminal():
    stream = io.StringIO()
    reporter = runs.Reporter(stream, total=1000, by_bytes=True, interactive=True)
    reporter.advance(10, position=500)
    reporter.problem("dump.jsonl:3: not imported")
    reporter.close()

    output = stream.getvalue()
    assert "50%" in output
    assert "10 items" in output
    assert "dump.jsonl:3: not imported" in output


# --- The real process: exit statuses and standard input ----------------------------------------


@pytest.mark.django_db(transaction=True)
def test_exit_statuses_of_the_real_command(tmp_path):
    Department.objects.create(uuid=DEPARTMENT_UUID)
    env = {**os.environ, "DATABASE_URL": database_url_of_the_test_database(), "LOG_LEVEL": "WARNING"}

    def manage(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 (our own manage.py)
            [sys.executable, "manage.py", "import_historical", *args],
            input=stdin,
            capture_output=True,
            cwd=ROOT,
            env=env,
            timeout=120,
            check=False,
        )

    good = json.dumps(document([minimal_message(1), minimal_message(2)])).encode()
    bad = json.dumps(document([with_attrs(minimal_message(3), purpose="nope")])).encode()

    stored = manage("-", stdin=good)
    failed = manage("-", stdin=bad)
    unusable = manage(str(tmp_path / "missing.json"))

    assert stored.returncode == 0, stored.stderr
    assert b"stored 2" in stored.stdout
    assert failed.returncode == 1
    assert b"INVALID_ENUM_VALUE" in failed.stderr
    assert unusable.returncode == 2
    assert b"no such file or folder" in unusable.stderr
    assert Message.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_standard_error_of_a_run_with_300_bad_items_stays_within_the_problem_cap(tmp_path):
    """Log lines at INFO (the ingest service's error summaries) count against the same cap
    as the problem lines: 300 bad items in 3 batches, at most MAX_PROBLEM_LINES of either,
    one "... and N more" line and the closing error."""
    Department.objects.create(uuid=DEPARTMENT_UUID)
    bad = [with_attrs(minimal_message(n), purpose="nope") for n in range(300)]
    path = write_jsonl(tmp_path / "bad.jsonl", [document(bad)])
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of_the_test_database(),
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "plain",
    }

    result = subprocess.run(  # noqa: S603 (our own manage.py)
        [sys.executable, "manage.py", "import_historical", str(path), "--batch-size", "100"],
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
        text=True,
    )

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == runs.MAX_PROBLEM_LINES + 2, result.stderr
    assert lines[-2] == "... and 203 more problems not shown (run with -v 2 to list them all)."
    assert lines[-1] == "CommandError: Some items or documents were not imported (see above)."
    assert sum("ingest: 100 items failed (INVALID_ENUM_VALUE 100) errorUIDs=" in line for line in lines) == 1
    assert "failed 300" in result.stdout


def test_log_lines_of_a_run_are_written_above_the_bar_not_to_the_console(capsys):
    stream = io.StringIO()
    reporter = runs.Reporter(stream, total=10, interactive=True, verbosity=1)
    console = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.addHandler(console)
    try:
        with reporter.routed_logging():
            logging.getLogger("messages_app.ingest").warning("something to tell")
        restored = console in root.handlers
    finally:
        root.removeHandler(console)
    reporter.close()

    assert "something to tell\n" in stream.getvalue()
    assert "something to tell" not in capsys.readouterr().err
    assert restored
