"""What an ingest call did, item by item: the results the response envelope is built from."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Any

from ..errors import Problem, WarningCode, log_errors
from ..models import ImportBatch
from ..wire import encode_envelope, item_response, response_envelope

logger = logging.getLogger("messages_app.ingest")


class Outcome(enum.Enum):
    """What the ingest service did with one item."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    LOCKED = "locked"
    FAILED = "failed"


@dataclass
class ItemResult:
    """What happened to one item; becomes one ``saveMessageResponse`` entry."""

    source_uuid: str | None
    message_uuid: str | None = None
    outcome: Outcome | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.outcome not in (None, Outcome.FAILED)

    def fail(self, code: str, path: str, detail: str) -> None:
        self.errors.append(Problem(code, path, detail))
        self.outcome = Outcome.FAILED
        self.message_uuid = None

    def warn(self, code: str, path: str, detail: str) -> None:
        self.warnings.append(Problem(code, path, detail))

    def mark_unchanged(self, path: str) -> None:
        """The item is the stored message: nothing is written, and the answer says so."""
        self.outcome = Outcome.UNCHANGED
        self.warn(WarningCode.MESSAGE_UNCHANGED, path, "Identical to the stored message; nothing written.")

    def as_response(self) -> dict[str, Any]:
        """This item's ``saveMessageResponse`` entry."""
        return item_response(self)


@dataclass
class IngestResult:
    """The outcome of one ingest call, in request order."""

    items: list[ItemResult]
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    batch: ImportBatch | None = None
    _response: dict[str, Any] | None = field(default=None, repr=False)
    _encoded: bytes | None = field(default=None, repr=False)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for item in self.items if item.outcome is outcome)

    @property
    def failed_count(self) -> int:
        return sum(1 for item in self.items if not item.succeeded)

    def as_response(self) -> dict[str, Any]:
        """The seed's response envelope (note its spelling ``succesfully``).

        Built once: the import batch stores it and the caller sends it, with the same
        errorUIDs, all logged on one line when it is built.
        """
        if self._response is None:
            self._response = response_envelope(self.items, errors=self.errors, warnings=self.warnings)
            failed = [item for item in self.items if item.errors]
            if failed or self.errors:
                problems = [problem for item in failed for problem in item.errors] + self.errors
                log_errors(logger, "ingest", problems, failed_items=len(failed))
        return self._response

    def encoded_response(self) -> bytes:
        """``as_response()`` as JSON, encoded once for the import batch and the answer."""
        if self._encoded is None:
            self._encoded = encode_envelope(self.as_response())
        return self._encoded

    def outcome_counts(self) -> dict[str, int]:
        """Items by outcome name (``failed`` for every item not stored), for the metrics."""
        counts = dict.fromkeys((outcome.value for outcome in Outcome), 0)
        for item in self.items:
            outcome = item.outcome if item.outcome is not None and item.succeeded else Outcome.FAILED
            counts[outcome.value] += 1
        return counts
