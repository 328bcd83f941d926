"""Progress and summaries of long command runs (import, re-import, export).

Operators start these runs on a terminal and from cron or CI alike: on a terminal a tqdm
bar shows items, rate and ETA; anywhere else a plain line every ``LOG_INTERVAL`` seconds
keeps the log readable. Problems (unreadable lines, failed items) are printed as they
happen, above the bar, and the summary counts every outcome of the ingest service.
While a run lasts, log records (the ingest service's error summaries, warnings) go
through the reporter too (``routed_logging``): above the bar, never through it, and
within the same cap of ``MAX_PROBLEM_LINES``, so a run with many bad items writes a
bounded standard error.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TextIO

from django.utils.translation import ngettext
from tqdm import tqdm

from ..errors import ErrorCode
from ..ingest import IngestResult, ItemResult, Outcome
from ..wire import ITEMS_PATH

LOG_INTERVAL = 10.0
MAX_PROBLEM_LINES = 100


def _duration(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


class Reporter:
    """Progress and problem lines of one run, written to ``stream`` (standard error).

    ``by_bytes`` measures progress in bytes of input (imports, whose item count is not
    known in advance) while still counting items; otherwise in items of ``total``.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        total: int | None,
        unit: str = "items",
        by_bytes: bool = False,
        verbosity: int = 1,
        interactive: bool | None = None,
    ) -> None:
        self.stream = stream
        self.total = total
        self.unit = unit
        self.by_bytes = by_bytes
        self.verbosity = verbosity
        self.items = 0
        self.position = 0
        self.started = self._last_log = time.monotonic()
        self.hidden_problems = 0
        self._shown_problems = 0
        if interactive is None:
            interactive = hasattr(stream, "isatty") and stream.isatty()
        self._bar: tqdm | None = None
        if interactive and verbosity > 0:
            self._bar = tqdm(
                total=total,
                file=stream,
                unit="B" if by_bytes else f" {unit}",
                unit_scale=by_bytes,
                unit_divisor=1024 if by_bytes else 1000,
                dynamic_ncols=True,
                smoothing=0.1,
            )

    @property
    def rate(self) -> float:
        """Items per second since the start."""
        elapsed = time.monotonic() - self.started
        return self.items / elapsed if elapsed > 0 else 0.0

    def advance(self, items: int, position: int | None = None) -> None:
        """Count ``items`` more done; ``position`` is the bytes read so far (``by_bytes``)."""
        self.items += items
        done = position if self.by_bytes and position is not None else self.items
        self.position = done
        if self._bar is not None:
            self._bar.update(max(0, done - self._bar.n))
            if self.by_bytes:
                self._bar.set_postfix_str(f"{self.items:,} {self.unit}, {self.rate:,.0f}/s", refresh=False)
            return
        now = time.monotonic()
        if self.verbosity > 0 and now - self._last_log >= LOG_INTERVAL:
            self._last_log = now
            self._write(self.status_line())

    def status_line(self) -> str:
        """A plain progress line: items, rate, share of the input and ETA when known."""
        line = f"progress: {self.items:,} {self.unit}, {self.rate:,.0f}/s"
        if self.total:
            share = min(self.position / self.total, 1.0)
            line += f", {share:.0%} of {'the input' if self.by_bytes else f'{self.total:,}'}"
            elapsed = time.monotonic() - self.started
            if 0 < share < 1:
                line += f", ETA {_duration(elapsed * (1 - share) / share)}"
        return line

    def problem(self, text: str) -> None:
        """A line about something that failed; all of them with -v 2, the first ones otherwise."""
        if self.verbosity == 0:
            return
        if self.verbosity == 1 and self._shown_problems >= MAX_PROBLEM_LINES:
            self.hidden_problems += 1
            return
        self._shown_problems += 1
        self._write(text)

    def note(self, text: str) -> None:
        """A line worth telling that is not a failure (hidden with -v 0)."""
        if self.verbosity > 0:
            self._write(text)

    def close(self) -> None:
        """Remove the bar (the summary follows) and say how many problems were not listed."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.hidden_problems:
            self._write(f"... and {self.hidden_problems:,} more problems not shown (run with -v 2 to list them all).")

    @contextmanager
    def routed_logging(self) -> Iterator[None]:
        """Write the root logger's console output as problem lines of this run while the block lasts.

        As ``tqdm.contrib.logging.logging_redirect_tqdm`` does, the console handlers are
        swapped for one that keeps their formatter, level and filters; unlike it, the
        lines count against the problem cap (and ``-v 0`` hides them), with or without a bar.
        """
        root = logging.getLogger()
        consoles = [handler for handler in root.handlers if _is_console(handler)]
        if not consoles:
            yield
            return
        routed = _ReporterHandler(self)
        routed.setFormatter(consoles[0].formatter)
        routed.setLevel(consoles[0].level)
        for log_filter in consoles[0].filters:
            routed.addFilter(log_filter)
        kept = [handler for handler in root.handlers if handler not in consoles]
        original = list(root.handlers)
        root.handlers = [*kept, routed]
        try:
            yield
        finally:
            root.handlers = original

    def _write(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()


def _is_console(handler: logging.Handler) -> bool:
    """A handler writing to the process's standard output or error."""
    return (
        isinstance(handler, logging.StreamHandler)
        and not isinstance(handler, logging.FileHandler)
        and handler.stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    )


class _ReporterHandler(logging.Handler):
    """Writes each record as one problem line of a ``Reporter``."""

    def __init__(self, reporter: Reporter) -> None:
        super().__init__()
        self.reporter = reporter

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.reporter.problem(self.format(record))
        except Exception:
            self.handleError(record)


def describe_failure(origin: str, index: int, item: ItemResult, offset: int = 0) -> str:
    """One line for a failed item, its paths counted from the start of its document."""
    label = f"{origin} item {offset + index}"
    if item.source_uuid is not None:
        label += f" (sourceUuid {item.source_uuid})"
    local, shifted = f"{ITEMS_PATH}[{index}]", f"{ITEMS_PATH}[{offset + index}]"
    problems = []
    for problem in item.errors:
        text = problem.description
        if text.startswith(local):
            text = shifted + text[len(local) :]
        problems.append(f"{problem.code} {text}")
    return f"{label}: " + "; ".join(problems or ["failed"])


@dataclass
class IngestTally:
    """What a run of many ingest calls did, kept up to date so an interrupted run can still
    say what was committed."""

    batches: int = 0
    outcomes: Counter[Outcome] = field(default_factory=Counter)
    failed_by_code: Counter[str] = field(default_factory=Counter)
    refused_by_code: Counter[str] = field(default_factory=Counter)
    skipped_corrected: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def items(self) -> int:
        """Items handled, whatever their outcome."""
        return sum(self.outcomes.values())

    @property
    def failed(self) -> int:
        """Items not stored, refused documents' items included."""
        return self.outcomes[Outcome.FAILED]

    @property
    def succeeded(self) -> bool:
        """Every item stored and every document read: the run exits 0."""
        return self.failed == 0 and not self.refused_by_code

    def add(self, result: IngestResult) -> list[tuple[int, ItemResult]]:
        """Count one ingest call; return its failed items with their index in the call."""
        self.batches += 1
        failures = []
        for index, item in enumerate(result.items):
            outcome = item.outcome if item.succeeded else Outcome.FAILED
            self.outcomes[outcome] += 1
            if outcome is Outcome.FAILED:
                failures.append((index, item))
                for code in sorted({problem.code for problem in item.errors} or {ErrorCode.INVALID_ITEM}):
                    self.failed_by_code[code] += 1
        return failures

    def fail_items(self, count: int, code: str) -> None:
        """Items of a refused document: they fail with the document's error."""
        self.outcomes[Outcome.FAILED] += count
        if count:
            self.failed_by_code[code] += count

    def refuse(self, code: str) -> None:
        """A line or document that could not be used at all."""
        self.refused_by_code[code] += 1

    def summary(self, title: str, *, dry_run: bool = False, interrupted: bool = False) -> list[str]:
        """The closing lines of a run."""
        elapsed = time.monotonic() - self.started
        lines = [
            f"{title}: {self.items:,} {ngettext('item', 'items', self.items)} in {self.batches:,} "
            f"{ngettext('batch', 'batches', self.batches)}, {_duration(elapsed)}"
            + (" (INTERRUPTED)" if interrupted else ""),
            "  "
            + ", ".join(
                f"{label} {self.outcomes[outcome]:,}"
                for label, outcome in (
                    ("stored", Outcome.CREATED),
                    ("updated", Outcome.UPDATED),
                    ("unchanged", Outcome.UNCHANGED),
                    ("kept as corrected", Outcome.LOCKED),
                    ("failed", Outcome.FAILED),
                )
            ),
        ]
        if self.skipped_corrected:
            lines.append(f"  skipped, corrected by staff: {self.skipped_corrected:,}")
        if self.failed_by_code:
            lines.append("  failed items by code: " + _counts(self.failed_by_code))
        if self.refused_by_code:
            total = sum(self.refused_by_code.values())
            lines.append(f"  documents or lines not imported: {total:,} (" + _counts(self.refused_by_code) + ")")
        if dry_run:
            lines.append("  Dry run: nothing was written.")
        return lines


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{code} {count:,}" for code, count in sorted(counter.items()))
