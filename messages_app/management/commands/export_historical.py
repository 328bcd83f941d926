"""`export_historical [--department D] [--customer C] [--since T] [--output FILE]`.

Writes JSON Lines in the import format to FILE (replaced only when complete) or standard
output; progress and the summary go to standard error. Exit status: 0 done; 2 unusable
arguments (unknown department or customer, bad date, unwritable output); 130 interrupted;
141 standard output closed by its reader (``export_historical | head``), the status a
shell gives a writer killed by SIGPIPE.
"""

import os
import sys
from contextlib import nullcontext
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import ngettext

from ...transfer.common import UnusableInput, select_messages
from ...transfer.exporting import DEFAULT_CHUNK_SIZE, ExportCount, output_file, parse_since, write_export
from ...transfer.progress import Reporter
from ..runs import EXIT_INTERRUPTED, EXIT_PIPE_CLOSED, EXIT_UNUSABLE


class Command(BaseCommand):
    help = (
        "Export stored messages as JSON Lines request documents that import_historical reads back "
        "(one document per customer and chunk, in time order), built from the normalised rows so staff "
        "corrections are included."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--department", help="Only this department (its UUID).")
        parser.add_argument("--customer", help="Only this customer (its UUID).")
        parser.add_argument(
            "--since", help="Only messages at or after this ISO 8601 date or date-time (the later of sent/received)."
        )
        parser.add_argument("--output", help="Write to this file instead of standard output.")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=DEFAULT_CHUNK_SIZE,
            help=f"Items per document (default {DEFAULT_CHUNK_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stderr = options.get("stderr") or sys.stderr
        count, reporter = ExportCount(), None
        try:
            if options["chunk_size"] < 1:
                raise UnusableInput("--chunk-size must be at least 1.")
            since = parse_since(options["since"]) if options["since"] else None
            messages = select_messages(
                department_uuid=options["department"], customer_uuid=options["customer"], since=since
            )
            target = output_file(options["output"]) if options["output"] else nullcontext(self._write_stdout)
            reporter = Reporter(stderr, total=messages.count(), unit="messages", verbosity=options["verbosity"])
            with target as write:
                write_export(messages, write, reporter, chunk_size=options["chunk_size"], count=count)
        except UnusableInput as error:
            raise CommandError(str(error), returncode=EXIT_UNUSABLE) from error
        except BrokenPipeError as error:
            if options["output"]:
                raise CommandError(f"Cannot write the export: {error}", returncode=EXIT_UNUSABLE) from error
            self._silence_stdout()
            raise CommandError(
                f"Standard output was closed by its reader after {count.messages:,} messages; "
                "the output is incomplete.",
                returncode=EXIT_PIPE_CLOSED,
            ) from None
        except OSError as error:
            raise CommandError(f"Cannot write the export: {error}", returncode=EXIT_UNUSABLE) from error
        except KeyboardInterrupt:
            if reporter is not None:
                reporter.close()
            raise CommandError(
                f"Interrupted after {count.messages:,} messages; "
                + ("the output file was not written." if options["output"] else "the output is incomplete."),
                returncode=EXIT_INTERRUPTED,
            ) from None
        reporter.close()
        where = options["output"] or "standard output"
        if options["verbosity"] > 0:
            messages = ngettext("message", "messages", count.messages)
            documents = ngettext("document", "documents", count.documents)
            stderr.write(f"Exported {count.messages:,} {messages} in {count.documents:,} {documents} to {where}.\n")

    def _write_stdout(self, line: str) -> None:
        self.stdout.write(line, ending="")

    def _silence_stdout(self) -> None:
        """Point the process's standard output at /dev/null, so that the interpreter's final
        flush of what is still buffered does not fail a second time."""
        if self.stdout._out is not sys.stdout:
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
