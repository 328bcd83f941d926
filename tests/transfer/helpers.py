"""Helpers shared by the import, export and re-import command tests."""

import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError

from messages_app import wire
from messages_app.models import Customer, ImportBatch
from messages_app.selectors import message_record, messages_with_parts
from tests.builders import CUSTOMER_UUID, DEPARTMENT_UUID


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def run(name: str, *args: str, stdin: bytes | None = None, monkeypatch: Any = None) -> Run:
    """Run a management command in-process; its exit status is 0 or CommandError.returncode."""
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err)
        code = 0
    except CommandError as error:
        code = error.returncode
        err.write(f"CommandError: {error}\n")
    return Run(code, out.getvalue(), err.getvalue())


def document(
    items: list[Any], department: str = DEPARTMENT_UUID, customer: str = CUSTOMER_UUID, **extra: Any
) -> dict[str, Any]:
    return {"departmentUUID": department, "customerUUID": customer, "saveMessageRequestList": items, **extra}


def write_jsonl(path: Path, documents: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(d) + "\n" for d in documents))
    return path


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2))
    return path


def wire_snapshot() -> dict[str, dict[str, Any]]:
    """Every stored message as the wire item its rows make, by messageUuid."""
    return {m.message_uuid: wire.to_wire(message_record(m)) for m in messages_with_parts()}


def flush_messages() -> None:
    """Back to an empty store (departments and clients stay): customers take their
    conversations, messages and every part with them."""
    Customer.objects.all().delete()
    ImportBatch.objects.all().delete()
