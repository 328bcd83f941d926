"""`import_historical PATH… | -`: import request documents from files, folders or stdin.

Exit status: 0 every item stored; 1 some item failed or some line/document was not
usable; 2 unusable input (nothing imported); 130 interrupted (committed batches kept).
"""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...transfer.common import DEFAULT_BATCH_SIZE, UnusableInput, capped_batch_size
from ...transfer.importing import FileImporter
from ...transfer.progress import IngestTally, Reporter
from ...transfer.sources import resolve_sources
from ..runs import EXIT_UNUSABLE, run_ingest_batches


class Command(BaseCommand):
    help = (
        "Import historical messages from JSON or JSON Lines request documents "
        '({"departmentUUID", "customerUUID", "saveMessageRequestList": [...]}), through the same '
        "ingest service as the API. Folders are read recursively (*.json, *.jsonl); - reads standard input. "
        "Exit 0: every item stored; 1: some failed; 2: unusable input; 130: interrupted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="A file, a folder, or - for standard input.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Items per ingest call (default {DEFAULT_BATCH_SIZE}, at most MAX_MESSAGES_PER_REQUEST).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            sources = resolve_sources(options["paths"])
            batch_size = capped_batch_size(options["batch_size"])
        except UnusableInput as error:
            raise CommandError(str(error), returncode=EXIT_UNUSABLE) from error
        if batch_size < options["batch_size"]:
            self.stderr.write(f"--batch-size capped at MAX_MESSAGES_PER_REQUEST ({batch_size}).")
        known_sizes = [source.size for source in sources if source.size is not None]
        reporter = Reporter(
            options.get("stderr") or sys.stderr,
            total=sum(known_sizes) or None,
            by_bytes=True,
            verbosity=options["verbosity"],
        )
        tally = IngestTally()
        importer = FileImporter(tally, reporter, batch_size=batch_size, dry_run=options["dry_run"])
        try:
            run_ingest_batches(
                lambda: importer.import_sources(sources, stdin=sys.stdin.buffer),
                tally=tally,
                reporter=reporter,
                stdout=self.stdout,
                title="Dry run" if options["dry_run"] else "Import",
                dry_run=options["dry_run"],
                remaining="import the rest",
                failed="Some items or documents were not imported (see above).",
            )
        except UnusableInput as error:
            raise CommandError(str(error), returncode=EXIT_UNUSABLE) from error
