"""Importing request documents from files: the logic behind ``import_historical``.

A document is what one PUT carries, plus its path parameters:
``{"departmentUUID", "customerUUID", "saveMessageRequestList": [...], "callBackPathUrl"?}``.
Input is JSON Lines (one document per line) or JSON (one document, or several one after
the other), from files, folders or standard input.

Input is read as a stream so memory stays flat whatever its size: JSON Lines a line at a
time, and a JSON document item by item. Both are decoded by the standard library's
decoder with the API parser's rules (UTF-8, no NaN, Infinity or 1e400), so a lone surrogate
reaches the ingest service as it would over HTTP and fails the item the same way; a C
streaming parser such as ijson's yajl backend silently turns it into ``?``.

Every item goes through ``ingest_messages`` in batches, exactly as an API request would:
same validation, same idempotency, same per-item results, one ImportBatch per call. Each
call commits on its own, so an interrupted run keeps what it committed and a re-run
stores only what is missing.
"""

from __future__ import annotations

import codecs
import functools
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from django.conf import settings

from . import parsers, wire
from .api.exceptions import RequestError
from .enums import ImportSource
from .errors import ErrorCode
from .ingest import ITEMS_PATH, ingest_messages
from .models import Department
from .runs import IngestTally, Reporter, describe_failure

DEFAULT_BATCH_SIZE = 500
STDIN = "-"
STDIN_NAME = "<stdin>"
FOLDER_SUFFIXES = (".json", ".jsonl")
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
# How much of an input is read to tell JSON Lines from a (pretty-printed) JSON document.
DETECT_BYTES = 1 << 20
READ_BYTES = 1 << 20
PATH_FIELDS = ("departmentUUID", "customerUUID")
_KNOWN_FIELDS = frozenset((*PATH_FIELDS, *wire.REQUEST_FIELDS))
_BOM = codecs.BOM_UTF8
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class UnusableInput(Exception):
    """The input cannot be used at all (missing file, unreadable folder): nothing is imported."""


def max_item_chars() -> int:
    """The largest single JSON value the streaming reader holds: one request's worth."""
    return settings.MAX_REQUEST_BYTES


def capped_batch_size(requested: int) -> int:
    """Items per ingest call: never more than an API request may carry."""
    if requested < 1:
        raise UnusableInput("--batch-size must be at least 1.")
    return min(requested, settings.MAX_MESSAGES_PER_REQUEST)


# --- Sources ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One input: a file, or standard input (``path`` None)."""

    name: str
    path: Path | None
    size: int | None


def resolve_sources(arguments: Sequence[str]) -> list[Source]:
    """The files the arguments name, folders expanded (recursively, ``*.json``/``*.jsonl``).

    Every one is checked before anything is imported, so a typo in the last argument
    fails the run (exit 2) instead of after hours of importing the others.
    """
    sources: list[Source] = []
    seen: set[Path] = set()
    for argument in arguments:
        if argument == STDIN:
            if any(source.path is None for source in sources):
                raise UnusableInput("Standard input (-) can be given only once.")
            sources.append(Source(STDIN_NAME, None, None))
            continue
        path = Path(argument)
        if path.is_dir():
            files = _folder_files(path)
            if not files:
                raise UnusableInput(f"{argument}: no *.json or *.jsonl files in this folder.")
        elif path.exists():
            files = [path]
        else:
            raise UnusableInput(f"{argument}: no such file or folder.")
        for file in files:
            key = file.resolve()
            if key in seen:
                continue
            seen.add(key)
            try:
                with open(file, "rb"):
                    pass
                size = file.stat().st_size if file.is_file() else None
            except OSError as error:
                raise UnusableInput(f"{file}: cannot be read ({error.strerror}).") from error
            sources.append(Source(str(file), file, size))
    if not sources:
        raise UnusableInput("Nothing to import: name files, folders, or - for standard input.")
    return sources


def _folder_files(folder: Path) -> list[Path]:
    def unreadable(error: OSError) -> None:
        raise UnusableInput(f"{error.filename}: folder cannot be read ({error.strerror}).")

    found = []
    for root, folders, files in os.walk(folder, onerror=unreadable):
        folders.sort()
        found.extend(Path(root) / name for name in sorted(files) if name.lower().endswith(FOLDER_SUFFIXES))
    return found


# --- Reading documents --------------------------------------------------------------------


@dataclass
class Document:
    """One request document: its top-level fields and its items, possibly read lazily.

    ``items`` is None when ``saveMessageRequestList`` is absent or not an array.
    """

    origin: str
    fields: dict[str, Any]
    items: Iterable[Any] | None


@dataclass(frozen=True)
class Refusal:
    """A line or document that is unusable as a whole (not JSON, not an object)."""

    origin: str
    code: str
    detail: str


@dataclass(frozen=True)
class Notice:
    """Something worth telling about a document that does not fail it."""

    origin: str
    detail: str


Piece = Document | Refusal | Notice


# The API parser's own rules (no NaN/Infinity, no number out of float range), so a file
# is refused exactly where a PUT body would be.
_DECODER = json.JSONDecoder(parse_constant=parsers._reject_constant, parse_float=parsers._finite_float)


def _document(value: Any, origin: str) -> Document | Refusal:
    if not isinstance(value, dict):
        return Refusal(
            origin,
            ErrorCode.INVALID_REQUEST_SHAPE,
            "Not a JSON object with departmentUUID, customerUUID and saveMessageRequestList.",
        )
    items = value.get(ITEMS_PATH)
    fields = {key: item for key, item in value.items() if key != ITEMS_PATH}
    return Document(origin, fields, items if isinstance(items, list) else None)


def read_json_lines(stream: BinaryIO, name: str) -> Iterator[Piece]:
    """Documents of a JSON Lines stream, one line at a time; a bad line is a Refusal and
    reading goes on with the next line."""
    for number, line in enumerate(stream, 1):
        if number == 1:
            line = line.removeprefix(_BOM)
        if not line.strip():
            continue
        origin = f"{name}:{number}"
        try:
            value = _DECODER.decode(line.decode("utf-8"))
        except UnicodeDecodeError as error:
            yield Refusal(origin, ErrorCode.MALFORMED_JSON, f"Not valid UTF-8: {error.reason} at byte {error.start}.")
            continue
        except RecursionError:
            yield Refusal(origin, ErrorCode.MALFORMED_JSON, "Nested too deeply.")
            continue
        except ValueError as error:
            yield Refusal(origin, ErrorCode.MALFORMED_JSON, f"Not valid JSON: {error}.")
            continue
        yield _document(value, origin)


class _TextWindow:
    """A sliding window of decoded text over a byte stream, for reading one JSON value
    at a time with the standard decoder; it holds one chunk plus the value being read."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.text = ""
        self.pos = 0
        self.eof = False
        self.started = False
        self.lines_before = 0

    @property
    def line(self) -> int:
        """The line number of the cursor, from 1."""
        return self.lines_before + self.text.count("\n", 0, self.pos) + 1

    def fill(self) -> bool:
        """Read another chunk after the text still needed; False at end of input."""
        if self.eof:
            return False
        self.lines_before += self.text.count("\n", 0, self.pos)
        data = self.stream.read(READ_BYTES)
        if not self.started:
            self.started, data = True, data.removeprefix(_BOM)
        self.eof = not data
        self.text = self.text[self.pos :] + self.decoder.decode(data, final=self.eof)
        self.pos = 0
        return not self.eof

    def peek(self) -> str | None:
        """The next character that is not whitespace, or None at end of input."""
        while True:
            self.pos = _WHITESPACE.match(self.text, self.pos).end()
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.fill():
                return None

    def take(self, expected: str, what: str) -> None:
        if self.peek() != expected:
            raise self.error(f"Expecting {what}")
        self.pos += 1

    def value(self) -> Any:
        """Decode the JSON value at the cursor, reading more input while it is cut off."""
        if self.peek() is None:
            raise self.error("Expecting value")
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as error:
                if self._cut_off(error) and self.fill():
                    continue
                raise
            if end == len(self.text) and self.fill():
                continue  # a number at the end of the window may go on in the next chunk
            self.pos = end
            return value

    def _cut_off(self, error: json.JSONDecodeError) -> bool:
        """Whether the value may just be incomplete in the window (rather than invalid)."""
        if len(self.text) - self.pos > max_item_chars():
            return False
        return error.pos >= len(self.text) - 6 or error.msg.startswith("Unterminated string")

    def error(self, message: str) -> json.JSONDecodeError:
        return json.JSONDecodeError(message, self.text, self.pos)

    def error_line(self, error: ValueError) -> int:
        if isinstance(error, json.JSONDecodeError) and error.doc is self.text:
            return self.lines_before + error.lineno
        return self.line


def read_json_stream(stream: BinaryIO, name: str) -> Iterator[Piece]:
    """Documents of a JSON stream (one document or several), item by item.

    When ``departmentUUID`` and ``customerUUID`` come before ``saveMessageRequestList``
    (as in exports and the seed's example), items are handed over as they are read.
    Otherwise they are kept in a temporary file until the end of the document. A syntax
    error stops reading this input: JSON cannot be resynchronised.
    """
    window = _TextWindow(stream)
    failure: list[ValueError | RecursionError] = []
    origin = name
    try:
        while window.peek() is not None:
            origin = f"{name}:{window.line}"
            if window.peek() != "{":
                window.value()
                yield Refusal(
                    origin,
                    ErrorCode.INVALID_REQUEST_SHAPE,
                    "Not a JSON object with departmentUUID, customerUUID and saveMessageRequestList.",
                )
                continue
            yield from _stream_document(window, origin, failure)
            if failure:
                raise failure[0]
    except (ValueError, RecursionError) as error:
        yield Refusal(origin, ErrorCode.MALFORMED_JSON, _syntax_detail(error, window))


def _syntax_detail(error: ValueError | RecursionError, window: _TextWindow) -> str:
    if isinstance(error, UnicodeDecodeError):
        reason = f"not valid UTF-8 ({error.reason})"
    elif isinstance(error, RecursionError):
        reason = "nested too deeply"
    elif isinstance(error, json.JSONDecodeError):
        reason = f"not valid JSON ({error.msg})"
    else:
        reason = f"not valid JSON ({error})"
    return f"Line {window.error_line(error)}: {reason}; the rest of this input was skipped."


def _stream_document(window: _TextWindow, origin: str, failure: list) -> Iterator[Piece]:
    window.take("{", "'{'")
    fields: dict[str, Any] = {}
    late: list[str] = []
    document: Document | None = None
    spill: IO[bytes] | None = None
    try:
        more = window.peek() != "}"
        if not more:
            window.pos += 1
        while more:
            key = window.value()
            if not isinstance(key, str):
                raise window.error("Expecting property name enclosed in double quotes")
            window.take(":", "':' delimiter")
            if key == ITEMS_PATH and window.peek() == "[" and document is None and spill is None:
                items = _stream_items(window, failure)
                if all(name in fields for name in PATH_FIELDS):
                    document = Document(origin, dict(fields), items)
                    yield document
                    for _ in items:  # whatever the consumer left unread
                        pass
                else:
                    spill = tempfile.TemporaryFile()  # noqa: SIM115 (closed in finally)
                    for item in items:
                        spill.write(json.dumps(item).encode() + b"\n")
                if failure:
                    return
            else:
                value = window.value()
                if document is not None:
                    late.append(key)
                else:
                    fields[key] = value if key in _KNOWN_FIELDS else None  # unknown: only its name matters
            separator = window.peek()
            if separator not in (",", "}"):
                raise window.error("Expecting ',' delimiter")
            window.pos += 1
            more = separator == ","
        if document is not None:
            if late:
                yield Notice(
                    origin,
                    f"{', '.join(late)} came after {ITEMS_PATH} and did not apply to its items; "
                    "put top-level fields before the list.",
                )
            return
        if spill is not None:
            spill.seek(0)
            fields.pop(ITEMS_PATH, None)
            yield Document(origin, fields, (json.loads(line) for line in spill))
            return
        listed = fields.pop(ITEMS_PATH, None)
        yield Document(origin, fields, listed if isinstance(listed, list) else None)
    finally:
        if spill is not None:
            spill.close()


def _stream_items(window: _TextWindow, failure: list) -> Iterator[Any]:
    """The items of the array at the cursor, one at a time; a syntax error ends them and
    is kept in ``failure`` for the reader to report."""
    try:
        window.take("[", "'['")
        if window.peek() == "]":
            window.pos += 1
            return
        while True:
            yield window.value()
            separator = window.peek()
            if separator not in (",", "]"):
                raise window.error("Expecting ',' delimiter")
            window.pos += 1
            if separator == "]":
                return
    except (ValueError, RecursionError) as error:
        failure.append(error)


class _CountingReader(io.RawIOBase):
    """Replays the bytes read to detect the format, then the rest of the input, and
    counts the bytes read (progress by bytes)."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
        else:
            read = getattr(self._rest, "read1", self._rest.read)
            data = read(len(buffer))
            count = len(data)
            buffer[:count] = data
        self.position += count
        return count


def looks_like_json_lines(head: bytes, *, complete: bool) -> bool:
    """JSON Lines when the first non-blank line is an object on its own (``{…}``).

    A pretty-printed document's first line is not. ``complete`` says ``head`` is the
    whole input; otherwise its last, possibly cut, line is not looked at.
    """
    lines = head.removeprefix(_BOM).split(b"\n")
    if not complete:
        lines = lines[:-1]
    for line in lines:
        stripped = line.strip()
        if stripped:
            return stripped.startswith(b"{") and stripped.endswith(b"}")
    return False


@contextmanager
def _opened(source: Source, stdin: BinaryIO) -> Iterator[BinaryIO]:
    if source.path is None:
        yield stdin
        return
    try:
        stream = open(source.path, "rb")  # noqa: SIM115 (closed below)
    except OSError as error:
        raise UnusableInput(f"{source.name}: cannot be read ({error.strerror}).") from error
    with stream:
        yield stream


# --- Importing ----------------------------------------------------------------------------


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
            with _opened(source, stdin) as stream:
                head = stream.read(DETECT_BYTES)
                reader = _CountingReader(head, stream)
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
                return (
                    ErrorCode.INVALID_PATH_PARAMETER,
                    f"{name}: Expected 1-255 printable characters without whitespace.",
                )
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


def _bytes_read(before: int, reader: _CountingReader) -> int:
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
