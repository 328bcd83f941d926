"""`rebuild_search`: recompute the full-text search column with the current SEARCH_CONFIG."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections

from ... import textsearch


class Command(BaseCommand):
    help = (
        "Drop and re-add the messages' full-text search column (search_vector) and its GIN index "
        "with the current SEARCH_CONFIG, then analyse it, in one transaction. The message table is "
        "locked and rewritten meanwhile (minutes at millions of messages). PostgreSQL only; SQLite "
        "has nothing to rebuild."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default="default", help="The database alias (default: default).")

    def handle(self, *args, **options) -> None:
        using = options["database"]
        if not textsearch.is_indexed(using):
            vendor = connections[using].vendor
            self.stdout.write(f"Nothing to rebuild: {vendor} searches subject and body by substring, without a column.")
            return
        config = settings.SEARCH_CONFIG
        started = time.monotonic()
        try:
            statements = textsearch.rebuild_column(config, using)
        except DatabaseError as exc:
            raise CommandError(f"Could not rebuild with the configuration {config!r}: {exc}") from exc
        for statement in statements:
            self.stdout.write(f"{statement};")
        self.stdout.write(
            f"Rebuilt search_vector and message_search_idx with configuration {config} "
            f"in {time.monotonic() - started:.1f} s."
        )
