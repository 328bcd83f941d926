"""Which inputs an import reads: files, folders (recursively) and standard input, checked
before anything is imported, and how their bytes are counted and their format told."""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .common import UnusableInput

STDIN = "-"
STDIN_NAME = "<stdin>"
FOLDER_SUFFIXES = (".json", ".jsonl")
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
_BOM = codecs.BOM_UTF8


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


class CountingReader(io.RawIOBase):
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
def opened(source: Source, stdin: BinaryIO) -> Iterator[BinaryIO]:
    if source.path is None:
        yield stdin
        return
    try:
        stream = open(source.path, "rb")  # noqa: SIM115 (closed below)
    except OSError as error:
        raise UnusableInput(f"{source.name}: cannot be read ({error.strerror}).") from error
    with stream:
        yield stream
