"""`partition_messages`: hash-partition the message tables of a database migrated plain."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections, transaction

from ...models import partitioning


class Command(BaseCommand):
    help = (
        "Copy the message table and its nine part tables into tables hash-partitioned by department "
        "(PostgreSQL; README 'Write scale'), rows, keys and indexes included, in one transaction. For a "
        "database migrated with MESSAGE_PARTITIONS=0: migration 0012 does the same for a database that "
        "migrates across it. The ten tables are locked (ACCESS EXCLUSIVE) until it commits; stop the "
        "writers first. --sql prints the statements without running them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--partitions",
            type=int,
            default=settings.MESSAGE_PARTITIONS or partitioning.DEFAULT_PARTITIONS,
            help="Partitions per table (default: MESSAGE_PARTITIONS, or 16 where that is 0).",
        )
        parser.add_argument("--sql", action="store_true", help="Print the statements; change nothing.")
        parser.add_argument("--database", default="default", help="The database alias (default: default).")

    def handle(self, *args, **options) -> None:
        connection = connections[options["database"]]
        partitions = options["partitions"]
        if connection.vendor != "postgresql":
            raise CommandError(f"Only PostgreSQL tables are partitioned; this database is {connection.vendor}.")
        if not 1 <= partitions <= partitioning.MAX_PARTITIONS:
            raise CommandError(f"--partitions must be 1 to {partitioning.MAX_PARTITIONS}, not {partitions}.")
        with connection.cursor() as cursor:
            if partitioning.is_partitioned(cursor):
                counts = partitioning.partition_counts(cursor)
                raise CommandError(
                    f"Already partitioned ({counts.get(partitioning.MESSAGE_TABLE)} partitions); a hash partition "
                    "count is not changed in place."
                )
            if options["sql"]:
                for statement in partitioning.conversion_sql(cursor, partitions):
                    self.stdout.write(f"{statement};")
                return
        started = time.monotonic()
        slowest: list[tuple[float, str]] = []
        try:
            with transaction.atomic(using=options["database"]):
                partitioning.convert(
                    connection, partitions, report=lambda statement, seconds: slowest.append((seconds, statement))
                )
        except DatabaseError as exc:
            raise CommandError(f"Nothing was changed: {exc}") from exc
        for seconds, statement in sorted(slowest, reverse=True)[:5]:
            self.stdout.write(f"  {seconds:7.2f} s  {statement[:100]}")
        self.stdout.write(
            f"Partitioned {len(partitioning.PARTITIONED_TABLES)} tables into {partitions} partitions each "
            f"in {time.monotonic() - started:.1f} s ({len(slowest)} statements)."
        )
