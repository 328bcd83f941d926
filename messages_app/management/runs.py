"""How the long transfer commands end: exit statuses, summary, and the final word.

``import_historical`` and ``reimport_historical`` feed many ingest calls and end the
same way: the progress bar goes, the summary is printed, and the exit status says
whether every item was stored (0), some failed (1) or the run was interrupted (130,
committed batches kept). Unusable input is 2; ``export_historical`` adds 141.
"""

from collections.abc import Callable
from typing import TextIO

from django.core.management.base import CommandError

from ..transfer.progress import IngestTally, Reporter

EXIT_FAILED, EXIT_UNUSABLE, EXIT_INTERRUPTED, EXIT_PIPE_CLOSED = 1, 2, 130, 141


def run_ingest_batches(
    work: Callable[[], None],
    *,
    tally: IngestTally,
    reporter: Reporter,
    stdout: TextIO,
    title: str,
    dry_run: bool,
    remaining: str,
    failed: str,
) -> None:
    """Run ``work`` (its log lines routed through ``reporter``), then print ``tally``'s
    summary and raise the documented exit status.

    ``remaining`` finishes "run the same command again to …"; ``failed`` is the last
    line when some item failed. An exception other than an interrupt propagates as it is
    (after the bar is closed), for the command to map.
    """
    interrupted = False
    try:
        with reporter.routed_logging():
            work()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        reporter.close()
    for line in tally.summary(title, dry_run=dry_run, interrupted=interrupted):
        stdout.write(line)
    if interrupted:
        raise CommandError(
            f"Interrupted. Every committed batch is kept; run the same command again to {remaining}.",
            returncode=EXIT_INTERRUPTED,
        )
    if not tally.succeeded:
        raise CommandError(failed, returncode=EXIT_FAILED)
