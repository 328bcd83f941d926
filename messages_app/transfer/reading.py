"""Reading request documents from files, folders or standard input, as a stream.

A document is what one PUT carries, plus its path parameters:
``{"departmentUUID", "customerUUID", "saveMessageRequestList": [...], "callBackPathUrl"?}``.
Input is JSON Lines (one document per line) or JSON (one document, or several one after
the other).

Input is read as a stream so memory stays flat whatever its size: JSON Lines a line at a
time, and a JSON document item by item. Both are decoded by the standard library's
decoder with the API's rules (``wire.decoding``: UTF-8, no NaN, Infinity or 1e400), so a
lone surrogate reaches the ingest service as it would over HTTP and fails the item the
same way; a C streaming parser such as ijson's yajl backend silently turns it into ``?``.
"""

from __future__ import annotations

import codecs
import json
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

from django.conf import settings

from ..errors import ErrorCode
from ..wire import ITEMS_PATH, REQUEST_FIELDS
from ..wire.decoding import STRICT_DECODER

# How much of an input is read to tell JSON Lines from a (pretty-printed) JSON document.
DETECT_BYTES = 1 << 20
READ_BYTES = 1 << 20
PATH_FIELDS = ("departmentUUID", "customerUUID")
_KNOWN_FIELDS = frozenset((*PATH_FIELDS, *REQUEST_FIELDS))
_BOM = codecs.BOM_UTF8
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def max_item_chars() -> int:
    """The largest single JSON value the streaming reader holds: one request's worth."""
    return settings.MAX_REQUEST_BYTES


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
            value = STRICT_DECODER.decode(line.decode("utf-8"))
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
                value, end = STRICT_DECODER.raw_decode(self.text, self.pos)
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
