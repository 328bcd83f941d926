"""What every log line of a request carries: the request's context, a filter and two formatters.

The request middleware opens a context (``request_context``) with the request id and the
client's address; the view adds what only it knows (``bind(client=…, department=…)``);
the middleware adds the status and duration at the end. ``ContextFilter``, on the root
handler, copies the context onto every record, so any logger used during the request
(Django's, the ingest service's, a library's) gets the fields without being passed them.
A ``contextvars`` variable rather than a thread-local: each thread and each task sees its
own request.

No Django imports here: gunicorn's master process loads the JSON formatter for its own
access log before any Django setting exists.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

_context: ContextVar[dict[str, Any] | None] = ContextVar("log_context", default=None)

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Field names of the JSON lines for the standard record attributes.
JSON_FIELDS = {"asctime": "time", "levelname": "level", "name": "logger"}


@contextmanager
def request_context(**fields: Any) -> Iterator[dict[str, Any]]:
    """Log context of one request (or any unit of work) for the duration of the block."""
    token = _context.set(dict(fields))
    try:
        yield _context.get() or {}
    finally:
        _context.reset(token)


def bind(**fields: Any) -> None:
    """Add fields to the current context; a no-op outside one (commands, the task worker)."""
    current = _context.get()
    if current is not None:
        current.update(fields)


def current_context() -> dict[str, Any]:
    """A copy of the current context (empty outside one)."""
    return dict(_context.get() or {})


class ContextFilter(logging.Filter):
    """Copies the current context onto each record; fields the caller passed win."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = _context.get()
        if current:
            for key, value in current.items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


class PlainFormatter(logging.Formatter):
    """The plain line, with ``[request_id]`` before the message when the record has one."""

    def __init__(self, fmt: str = PLAIN_FORMAT, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)
        self._with_id = logging.Formatter(fmt.replace("%(message)s", "[%(request_id)s] %(message)s"), datefmt)

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None):
            return self._with_id.format(record)
        return super().format(record)


class JsonFormatter(_BaseJsonFormatter):
    """One JSON object per line: time, level, logger, message and every extra field
    (the request context, ``error_uids``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", PLAIN_FORMAT)
        kwargs.setdefault("rename_fields", JSON_FIELDS)
        super().__init__(**kwargs)
