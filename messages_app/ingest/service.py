"""The one ingest service: wire items in, normalised rows out.

The REST view, the import commands and the admin all call ``ingest_messages``. It works
in two phases, as Zulip's importer does:

1. ``prepare.prepare_items`` validates and normalises every item into plain records,
   without the database.
2. ``write.write_batch`` stores the valid records in one transaction with a fixed number
   of bulk statements, whatever the number of items.

Items are validated one by one (partial success) but written together: an item is
stored with all its parts or not at all. A race with a concurrent writer for the same
key (a unique violation, or on PostgreSQL a deadlock) rolls the whole write back and
re-runs phase 2, which then sees the other writer's rows and reports the conflict on the
affected items. The last of the three ``TURNS`` runs alone (``write.Turn``), so it
cannot race and a batch always gets an answer.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from django.db import IntegrityError, OperationalError, connection, transaction

from .. import metrics, wire
from ..collector import collector_paused
from ..enums import ImportSource
from ..errors import UNSTORABLE_RE, Problem, WarningCode
from ..models import ApiClient, Department, Message
from .prepare import PreparedItem, StoredIntake, StoredRow, prepare_items
from .resend import answer_from_stored
from .results import IngestResult, ItemResult
from .write import StaleHints, Turn, WriteContext, write_batch

logger = logging.getLogger("messages_app.ingest")

# The turns of phase 2 while concurrent writers claim the same keys; the last runs alone.
TURNS = (Turn.FIRST, Turn.RETRY, Turn.ALONE)


@collector_paused()
def ingest_messages(
    *,
    department: Department,
    customer_uuid: str,
    items: list[Any],
    source: str = ImportSource.API,
    client: ApiClient | None = None,
    user: Any = None,
    origin: str = "",
    callback_path_url: str | None = None,
    request_warnings: list[Problem] | None = None,
    dry_run: bool = False,
    overwrite_corrections: bool = False,
    rewrite_unchanged: bool = False,
    request_digest: str | None = None,
) -> IngestResult:
    """Validate and store a batch of wire items for one customer of one department.

    ``overwrite_corrections`` replaces staff-corrected messages instead of keeping them;
    ``rewrite_unchanged`` rebuilds the rows of identical items too (re-import after a
    change of the mapping from items to rows). ``request_digest``, the SHA-256 of the
    request body the items came from (``resend.request_digest``), lets the same bytes be
    answered by ``ingest_identical_resend`` next time.
    """
    started = time.perf_counter()
    hinted = not (overwrite_corrections or rewrite_unchanged)
    prepared = prepare_items(items, stored=_stored_intake(department, items) if hinted else None)
    warnings = list(request_warnings or [])
    if dry_run:
        warnings.append(Problem(WarningCode.DRY_RUN, "", "Nothing was written."))
    context = WriteContext(
        items,
        department,
        customer_uuid,
        source,
        client,
        user,
        origin,
        callback_path_url,
        dry_run,
        overwrite_corrections,
        rewrite_unchanged,
        request_digest,
    )
    races = 0
    while True:
        results = [_fresh_result(entry) for entry in prepared]
        outcome = IngestResult(items=results, warnings=list(warnings))
        turn = TURNS[races]
        try:
            outcome.batch = write_batch(context, prepared, outcome, turn=turn)
        except StaleHints:
            # At most once: items prepared without hints are never trusted.
            logger.info("A stored message changed while a batch was prepared; validating it in full.")
            prepared = prepare_items(items)
            continue
        except (IntegrityError, OperationalError) as error:
            if turn is Turn.ALONE or not _lost_race(error):
                raise
            races += 1
            logger.info(
                "Lost a race for a key to a concurrent writer; writing the batch again (%s turn).", TURNS[races].value
            )
            continue
        if not dry_run:
            _count_on_commit(outcome, source, time.perf_counter() - started)
        return outcome


def ingest_identical_resend(
    *,
    department: Department,
    customer_uuid: str,
    request_digest: str,
    client: ApiClient | None = None,
    origin: str = "",
    max_items: int,
) -> IngestResult | None:
    """Answer a request whose body is byte for byte one answered before (``request_digest``)
    from the stored rows, if none of its messages changed since; None otherwise: the caller
    then decodes the body and calls ``ingest_messages``, which gives the same answer the
    slow way. For the API only (no dry run, no callbacks: such requests are never recorded
    for it). ``max_items``: today's limit of items per request.
    """
    started = time.perf_counter()
    context = WriteContext(
        items=[],
        department=department,
        customer_uuid=customer_uuid,
        source=ImportSource.API,
        client=client,
        user=None,
        origin=origin,
        callback_path_url=None,
        dry_run=False,
        overwrite_corrections=False,
        rewrite_unchanged=False,
        request_digest=request_digest,
    )
    outcome = answer_from_stored(context, max_items=max_items)
    if outcome is not None:
        _count_on_commit(outcome, ImportSource.API, time.perf_counter() - started)
    return outcome


def _lost_race(error: IntegrityError | OperationalError) -> bool:
    """Whether a write failed on a key a concurrent writer claimed too: a unique violation,
    or on PostgreSQL a deadlock (SQLSTATE 40P01) between two writers inserting shared keys."""
    return isinstance(error, IntegrityError) or getattr(error.__cause__, "sqlstate", None) == "40P01"


def _count_on_commit(outcome: IngestResult, source: str, seconds: float) -> None:
    """Count the call in the metrics once it is committed: at once when it ran in its own
    transaction, or when the caller's transaction commits (never if it rolls back)."""
    counts = outcome.outcome_counts()
    transaction.on_commit(lambda: metrics.record_ingest(source, counts, seconds))


# On PostgreSQL, with each row's version: the transaction that wrote it, changed by any
# write to the row. Plain SQL: the ORM's per-row work cost more than the query (500 rows).
_STORED_INTAKE_SQL = (
    "SELECT source_uuid, source_hash, intake_warnings::text, id, customer_id, message_uuid, corrected_at, "
    "xmin::text FROM {table} WHERE department_id = %s AND source_uuid = ANY(%s::text[]) "
    "AND intake_warnings IS NOT NULL AND source_hash <> ''"
)


def _stored_intake(department: Department, items: list[Any]) -> dict[str, StoredIntake]:
    """sourceUuid → source hash and intake warnings of the messages already stored for
    these items (one query).

    A hint only: the write phase checks the hash again under its locks. On PostgreSQL the
    hint also carries what the write phase classifies a trusted item by, with the row's
    version (``xmin``), so that it confirms the rows unchanged instead of reading them again.
    """
    sources = [
        raw["sourceUuid"]
        for raw in items
        if isinstance(raw, dict)
        and wire.is_identifier(raw.get("sourceUuid"))
        and not UNSTORABLE_RE.search(raw["sourceUuid"])
    ]
    if not sources:
        return {}
    if connection.vendor != "postgresql":
        stored = (
            Message.objects.filter(department=department, source_uuid__any_of=sources, intake_warnings__isnull=False)
            .exclude(source_hash="")
            .values_list("source_uuid", "source_hash", "intake_warnings")
        )
        return {
            source: StoredIntake(source_hash, [tuple(warning) for warning in warnings])  # type: ignore[misc]
            for source, source_hash, warnings in stored
        }
    with connection.cursor() as cursor:
        cursor.execute(
            _STORED_INTAKE_SQL.format(table=connection.ops.quote_name(Message._meta.db_table)),
            [department.pk, sources],
        )
        rows = cursor.fetchall()
    # Most messages share their warnings (none, mostly): each distinct list is decoded once.
    decoded: dict[str, list[tuple[str, str, str]]] = {}
    hints = {}
    for source, source_hash, warnings, *row in rows:
        known = decoded.get(warnings)
        if known is None:
            known = decoded[warnings] = [tuple(warning) for warning in orjson.loads(warnings)]
        hints[source] = StoredIntake(source_hash, known, StoredRow(*row))
    return hints


def _fresh_result(entry: PreparedItem | ItemResult) -> ItemResult:
    result = entry.result if isinstance(entry, PreparedItem) else entry
    return ItemResult(result.source_uuid, result.message_uuid, result.outcome, [*result.errors], [*result.warnings])
