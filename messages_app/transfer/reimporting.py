"""Rebuilding normalised rows from stored payloads: the logic behind ``reimport_historical``.

After a fix to the mapping from wire items to rows, every message can be rebuilt from the
item it was received as (``source_payload``). The payloads go through ``ingest_messages``
with ``rewrite_unchanged=True``, so the one ingest service remains the only place where
an item becomes rows. Staff-corrected messages are left alone unless the operator
explicitly overwrites corrections.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from django.db.models import F, QuerySet

from ..enums import ImportSource
from ..ingest import ingest_messages
from ..models import Department, ImportBatch, Message
from .common import DEFAULT_BATCH_SIZE, department_pages
from .progress import IngestTally, Reporter, describe_failure

_ORIGIN_MAX_LENGTH = ImportBatch._meta.get_field("origin").max_length


def exclude_corrected(messages: QuerySet[Message], *, overwrite: bool) -> tuple[QuerySet[Message], int]:
    """The messages to rebuild and how many staff-corrected ones are skipped (none when
    the operator overwrites corrections)."""
    if overwrite:
        return messages, 0
    return messages.filter(corrected_at__isnull=True), messages.filter(corrected_at__isnull=False).count()


def run_origin(**filters: object) -> str:
    """The ImportBatch origin of a re-import: the command and its filters."""
    given = [f"--{name.replace('_', '-')} {value}" for name, value in filters.items() if value not in (None, False)]
    return " ".join(["reimport_historical", *given])[:_ORIGIN_MAX_LENGTH]


@dataclass
class Reimporter:
    """Feeds stored payloads back to the ingest service, one customer batch at a time."""

    tally: IngestTally
    reporter: Reporter
    batch_size: int = DEFAULT_BATCH_SIZE
    dry_run: bool = False
    overwrite_corrections: bool = False
    origin: str = "reimport_historical"

    def run(self, messages: QuerySet[Message]) -> None:
        """Rebuild ``messages`` (per customer, in id order), committing batch by batch."""
        departments: dict[int, Department] = {}
        for page in department_pages(messages, self.batch_size, by_time=False):
            rows = [
                row
                for department_id, ids in page.items()
                for row in Message.objects.filter(department_id=department_id, id__in=ids)
                .order_by("customer_id", "id")
                .values("department_id", "customer_id", "source_payload", customer_uuid=F("customer__uuid"))
            ]
            rows.sort(key=lambda row: row["customer_id"])  # stable: each customer keeps its id order
            for (department_id, _customer_id, customer_uuid), group in groupby(
                rows, key=lambda row: (row["department_id"], row["customer_id"], row["customer_uuid"])
            ):
                if department_id not in departments:
                    departments[department_id] = Department.objects.get(pk=department_id)
                payloads = [row["source_payload"] for row in group]
                result = ingest_messages(
                    department=departments[department_id],
                    customer_uuid=customer_uuid,
                    items=payloads,
                    source=ImportSource.REIMPORT,
                    origin=self.origin,
                    dry_run=self.dry_run,
                    overwrite_corrections=self.overwrite_corrections,
                    rewrite_unchanged=True,
                )
                where = f"{departments[department_id].uuid}/{customer_uuid}"
                for index, item in self.tally.add(result):
                    self.reporter.problem(describe_failure(where, index, item))
                self.reporter.advance(len(payloads))
