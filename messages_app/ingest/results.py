"""What an ingest call did, item by item: the results the response envelope is built from."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from ..errors import Problem
from ..models import ImportBatch
from ..wire import item_response, response_envelope


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

    def count(self, outcome: Outcome) -> int:
        return sum(1 for item in self.items if item.outcome is outcome)

    @property
    def failed_count(self) -> int:
        return sum(1 for item in self.items if not item.succeeded)

    def as_response(self) -> dict[str, Any]:
        """The seed's response envelope (note its spelling ``succesfully``).

        Built once: the import batch stores it and the caller sends it, with the same
        errorUIDs (each logged once).
        """
        if self._response is None:
            self._response = response_envelope(self.items, errors=self.errors, warnings=self.warnings)
        return self._response
