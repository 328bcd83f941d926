"""`reimport_historical [--department D] [--customer C] [--batch ID] [--dry-run] [--overwrite-corrections]`.

Exit status: 0 every message rebuilt; 1 some payload failed validation; 2 unusable
arguments (unknown department, customer or batch); 130 interrupted (committed batches kept).
"""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...transfer.common import DEFAULT_BATCH_SIZE, UnusableInput, capped_batch_size, select_messages
from ...transfer.progress import IngestTally, Reporter
from ...transfer.reimporting import Reimporter, exclude_corrected, run_origin
from ..runs import EXIT_UNUSABLE, run_ingest_batches


class Command(BaseCommand):
    help = (
        "Rebuild the normalised rows of stored messages from their source payloads through the ingest "
        "service (after a fix to the mapping). Staff-corrected messages are skipped unless "
        "--overwrite-corrections. Exit 0: all rebuilt; 1: some failed; 2: unusable arguments; 130: interrupted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--department", help="Only this department (its UUID).")
        parser.add_argument("--customer", help="Only this customer (its UUID).")
        parser.add_argument("--batch", type=int, help="Only messages created or last updated by this import batch.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")
        parser.add_argument(
            "--overwrite-corrections",
            action="store_true",
            help="Also rebuild staff-corrected messages, discarding the corrections.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Messages per ingest call (default {DEFAULT_BATCH_SIZE}, at most MAX_MESSAGES_PER_REQUEST).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            batch_size = capped_batch_size(options["batch_size"])
            messages = select_messages(
                department_uuid=options["department"], customer_uuid=options["customer"], batch_id=options["batch"]
            )
        except UnusableInput as error:
            raise CommandError(str(error), returncode=EXIT_UNUSABLE) from error
        messages, skipped = exclude_corrected(messages, overwrite=options["overwrite_corrections"])
        reporter = Reporter(
            options.get("stderr") or sys.stderr,
            total=messages.count(),
            unit="messages",
            verbosity=options["verbosity"],
        )
        tally = IngestTally(skipped_corrected=skipped)
        reimporter = Reimporter(
            tally,
            reporter,
            batch_size=batch_size,
            dry_run=options["dry_run"],
            overwrite_corrections=options["overwrite_corrections"],
            origin=run_origin(
                department=options["department"],
                customer=options["customer"],
                batch=options["batch"],
                overwrite_corrections=options["overwrite_corrections"],
            ),
        )
        run_ingest_batches(
            lambda: reimporter.run(messages),
            tally=tally,
            reporter=reporter,
            stdout=self.stdout,
            title="Re-import dry run" if options["dry_run"] else "Re-import",
            dry_run=options["dry_run"],
            remaining="rebuild the rest",
            failed="Some messages could not be rebuilt (see above).",
        )
