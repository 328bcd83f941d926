"""Importing request documents from files: the logic behind ``import_historical``.

Every item goes through ``ingest_messages`` in batches, exactly as an API request would:
same validation, same idempotency, same per-item results, one ImportBatch per call. Each
call commits on its own, so an interrupted run keeps what it committed and a re-run
stores only what is missing. Reading the files is ``reading``'s work.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from .. import wire
from ..enums import ImportSource
from ..errors import ErrorCode, RequestError
from ..identifiers import IDENTIFIER_EXPECTED
from ..ingest import ingest_messages
from ..models import Department
from ..wire import ITEMS_PATH
from .common import DEFAULT_BATCH_SIZE
from .progress import IngestTally, Reporter, describe_failure
from .reading import DETECT_BYTES, PATH_FIELDS, READ_BYTES, Notice, Piece, Refusal, read_json_lines, read_json_stream
from .sources import JSON_LINES_SUFFIXES, CountingReader, Source, looks_like_json_lines, opened


@dataclass
class FileImporter:
    """Feeds documents to the ingest service in batches and counts what happened."""

    tally: IngestTally
    reporter: Reporter
    batch_size: int = DEFAULT_BATCH_SIZE
    dry_run: bool = False
    _departments: dict[str, Department | None] = field(default_factory=dict)

    def import_sources(self, sources: Sequence[Source], stdin: BinaryIO) -> None:
        """Import every document of every source, in order."""
        done_bytes = 0
        for source in sources:
            with opened(source, stdin) as stream:
                head = stream.read(DETECT_BYTES)
                reader = CountingReader(head, stream)
                buffered = io.BufferedReader(reader, READ_BYTES)
                as_lines = source.name.lower().endswith(JSON_LINES_SUFFIXES) or looks_like_json_lines(
                    head, complete=len(head) < DETECT_BYTES
                )
                pieces = read_json_lines(buffered, source.name) if as_lines else read_json_stream(buffered, source.name)
                position = functools.partial(_bytes_read, done_bytes, reader)
                for piece in pieces:
                    self.import_piece(piece, position)
                done_bytes += reader.position

    def import_piece(self, piece: Piece, position: Callable[[], int]) -> None:
        """Import one document (or report a line that is not one)."""
        if isinstance(piece, Notice):
            self.reporter.problem(f"{piece.origin}: warning: {piece.detail}")
            return
        if isinstance(piece, Refusal):
            self.tally.refuse(piece.code)
            self.reporter.problem(f"{piece.origin}: not imported: {piece.code} {piece.detail}")
            self.reporter.advance(0, position())
            return
        refusal = self._target_refusal(piece.fields)
        if refusal is None and piece.items is None:
            refusal = (ErrorCode.INVALID_REQUEST_SHAPE, f"{ITEMS_PATH}: Must be an array of messages.")
        if refusal is not None:
            self.reporter.problem(f"{piece.origin}: not imported: {refusal[0]} {refusal[1]}")
        department = None if refusal is not None else self._departments[piece.fields["departmentUUID"]]
        count = 0
        for chunk in _chunks(piece.items or (), self.batch_size):
            offset, count = count, count + len(chunk)
            request = {key: value for key, value in piece.fields.items() if key not in PATH_FIELDS}
            request[ITEMS_PATH] = chunk
            if refusal is None:
                try:
                    items, callback, warnings = wire.parse_request(request, max_items=self.batch_size)
                except RequestError as error:
                    where = f"{error.path}: " if error.path else ""
                    refusal = (error.error_code, f"{where}{error.detail}")
                    self.reporter.problem(f"{piece.origin}: not imported: {refusal[0]} {refusal[1]}")
            if refusal is not None:
                self.tally.fail_items(len(chunk), refusal[0])
                self.reporter.advance(len(chunk), position())
                continue
            origin = f"{piece.origin} items {offset}-{count - 1}"
            result = ingest_messages(
                department=department,
                customer_uuid=piece.fields["customerUUID"],
                items=items,
                source=ImportSource.COMMAND,
                origin=origin,
                callback_path_url=callback,
                request_warnings=warnings,
                dry_run=self.dry_run,
            )
            for index, item in self.tally.add(result):
                self.reporter.problem(describe_failure(piece.origin, index, item, offset))
            self.reporter.advance(len(chunk), position())
        if refusal is not None:
            self.tally.refuse(refusal[0])
        elif count == 0:
            self.tally.refuse(ErrorCode.EMPTY_REQUEST)
            self.reporter.problem(f"{piece.origin}: not imported: {ErrorCode.EMPTY_REQUEST} {ITEMS_PATH} is empty.")

    def _target_refusal(self, fields: dict[str, Any]) -> tuple[str, str] | None:
        """Why the document's department and customer cannot be used, if they cannot."""
        for name in PATH_FIELDS:
            value = fields.get(name)
            if value is None:
                return ErrorCode.INVALID_REQUEST_SHAPE, f"{name}: Required."
            if not wire.is_identifier(value):
                return ErrorCode.INVALID_PATH_PARAMETER, f"{name}: {IDENTIFIER_EXPECTED}"
        uuid = fields["departmentUUID"]
        if uuid not in self._departments:
            self._departments[uuid] = Department.objects.filter(uuid=uuid).first()
        if self._departments[uuid] is None:
            return (
                ErrorCode.NOT_FOUND,
                f"departmentUUID: Department {uuid} is not registered; register it first "
                "(in the admin, or with create_api_client --department).",
            )
        return None


def _bytes_read(before: int, reader: CountingReader) -> int:
    return before + reader.position


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
