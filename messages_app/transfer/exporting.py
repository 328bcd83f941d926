"""Exporting stored messages as request documents: the logic behind ``export_historical``.

The output is JSON Lines in the import format, one document per customer and chunk of at
most ``chunk_size`` items, so ``import_historical`` reads it back unchanged. Items are
built from the normalised rows (``message_record`` + ``wire.to_wire``), not from the
stored payloads, so staff corrections are exported. Messages are read in keyset pages
ordered by customer, time and id: each page is an index range scan of a bounded size,
so memory and the cost of a page stay flat however large the table.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db.models import F, QuerySet

from .. import wire
from ..models import Message
from ..selectors import message_record, messages_with_parts
from ..wire import ITEMS_PATH
from .common import UnusableInput, department_pages
from .progress import Reporter

DEFAULT_CHUNK_SIZE = 500


def parse_since(value: str) -> datetime:
    """``--since``: an ISO 8601 date (midnight UTC) or date-time (UTC when no offset)."""
    parsed = wire.parse_datetime(value if len(value) > 10 else f"{value}T00:00:00Z")
    if parsed is None:
        raise UnusableInput(f"--since {value!r} is not an ISO 8601 date or date-time (e.g. 2024-01-31).")
    return parsed[0]


def export_documents(messages: QuerySet[Message], *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[dict[str, Any]]:
    """Import documents for ``messages``: per customer, in time order, at most ``chunk_size``
    items each; every message appears exactly once."""
    current: dict[str, Any] | None = None
    for page in department_pages(messages, chunk_size):
        for message in _page_messages(page):
            key = (message.export_department, message.export_customer)
            if current is None or (current["departmentUUID"], current["customerUUID"]) != key:
                if current is not None:
                    yield current
                current = {"departmentUUID": key[0], "customerUUID": key[1], ITEMS_PATH: []}
            current[ITEMS_PATH].append(wire.to_wire(message_record(message)))
            if len(current[ITEMS_PATH]) == chunk_size:
                yield current
                current = None
    if current is not None:
        yield current


def _page_messages(page: dict[int, list[int]]) -> list[Message]:
    """A page's messages with their parts, in keyset order: read department by department,
    each query naming its department (one partition of each table, models/partitioning.py)."""
    messages = [
        message
        for department_id, ids in page.items()
        for message in messages_with_parts(
            Message.objects.filter(department_id=department_id, id__in=ids), department_id=department_id
        ).annotate(export_department=F("department__uuid"), export_customer=F("customer__uuid"))
    ]
    messages.sort(key=lambda message: (message.customer_id, message.message_at, message.pk))
    return messages


@dataclass
class ExportCount:
    """What an export wrote, kept up to date so an interrupted export can say how far it got."""

    documents: int = 0
    messages: int = 0


def write_export(
    messages: QuerySet[Message],
    write: Callable[[str], Any],
    reporter: Reporter,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    count: ExportCount | None = None,
) -> ExportCount:
    """Write ``messages`` as JSON Lines through ``write`` (one call per line)."""
    count = count if count is not None else ExportCount()
    for document in export_documents(messages, chunk_size=chunk_size):
        write(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n")
        items = len(document[ITEMS_PATH])
        count.documents += 1
        count.messages += items
        reporter.advance(items)
    return count


@contextmanager
def output_file(path: str) -> Iterator[Callable[[str], Any]]:
    """A writer to ``path`` that only replaces it once the export is complete, so an
    interrupted export never leaves a truncated file that looks like a whole one."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            yield stream.write
        os.chmod(temporary, 0o666 & ~_umask())  # as a plain open() would, not mkstemp's 0600
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
