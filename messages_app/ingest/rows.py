"""Writing the rows of many messages with one statement per table.

``bulk_create`` spends far more CPU building model instances and SQL than the database
spends storing the rows. Here rows are plain tuples in the table's column order, written
with ``COPY`` on PostgreSQL and one ``executemany`` INSERT on SQLite. Primary keys are
allocated up front (a sequence on PostgreSQL; under SQLite's write lock, from the
current maximum), so children can point at their parents without a round trip per row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from django.db import connection, models
from psycopg.types.json import Jsonb

from ..models import (
    Attachment,
    DraftAttributes,
    Message,
    MessageTag,
    MessageTagParent,
    MessageTagSecondaryAttribute,
    NotificationAttributes,
    NotificationButton,
    NotificationNotifier,
    VoiceCallAttributes,
)

# A message's part tables, in the order their rows are deleted (a tag's rows before the tag).
PART_MODELS: tuple[type[models.Model], ...] = (
    MessageTagSecondaryAttribute,
    MessageTagParent,
    MessageTag,
    DraftAttributes,
    Attachment,
    NotificationNotifier,
    NotificationButton,
    NotificationAttributes,
    VoiceCallAttributes,
)


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits in a free JSON value
        return json.dumps(value, ensure_ascii=False).encode()


class Table:
    """A model's concrete columns, and how to turn Python values into database values."""

    def __init__(self, model: type[models.Model], *, with_id: bool) -> None:
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
        self.attnames = tuple(f.attname for f in self.fields)
        self.name = model._meta.db_table
        self.nulls = dict.fromkeys(self.attnames)
        self._json = [i for i, f in enumerate(self.fields) if isinstance(f, models.JSONField)]
        self._datetimes = [i for i, f in enumerate(self.fields) if isinstance(f, models.DateTimeField)]

    def row(self, values: dict[str, Any]) -> list[Any]:
        """A row in column order; a missing column is a bug, so it raises KeyError."""
        return [values[name] for name in self.attnames]

    def adapt(self, rows: list[list[Any]]) -> list[list[Any]]:
        if connection.vendor == "postgresql":
            for row in rows:
                for i in self._json:
                    if row[i] is not None:
                        row[i] = Jsonb(row[i], dumps=_dumps)
            return rows
        ops = connection.ops
        for row in rows:
            for i in self._json:
                if row[i] is not None:
                    row[i] = _dumps(row[i]).decode()
            for i in self._datetimes:
                row[i] = ops.adapt_datetimefield_value(row[i])
        return rows


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """Primary keys for ``count`` new rows, in one query."""
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the ingest transaction holds the database's write lock (BEGIN IMMEDIATE).
        cursor.execute(f'SELECT COALESCE(MAX("id"), 0) FROM "{table}"')  # noqa: S608 (table name from _meta)
        start = cursor.fetchone()[0] + 1
        return list(range(start, start + count))


def insert_rows(table: Table, rows: Sequence[list[Any]]) -> None:
    """Insert rows (in ``table``'s column order) with one statement."""
    if not rows:
        return
    rows = table.adapt(list(rows))
    columns = ", ".join(connection.ops.quote_name(name) for name in (f.column for f in table.fields))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"COPY {connection.ops.quote_name(table.name)} ({columns}) FROM STDIN"
            started = time.monotonic()
            # The raw cursor's errors, as Django's (a unique violation is an IntegrityError).
            with connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
            if connection.queries_logged:  # Django's query log does not see COPY by itself
                connection.queries_log.append(
                    {"sql": f"{sql} -- {len(rows)} rows", "time": f"{time.monotonic() - started:.3f}"}
                )
            return
        placeholders = ", ".join(["%s"] * len(table.fields))
        cursor.executemany(
            f"INSERT INTO {connection.ops.quote_name(table.name)} ({columns}) VALUES ({placeholders})",  # noqa: S608
            rows,
        )


def delete_rows(model: type[models.Model], column: str, ids: Iterable[int], *, department_id: int) -> None:
    """Delete the department's rows whose ``column`` is one of ``ids``, with one statement.

    The department is named so that a table partitioned by it (models/partitioning.py)
    is read in one partition."""
    ids = list(ids)
    if not ids:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # one array parameter, not one per id
            cursor.execute(
                f"DELETE FROM {table} WHERE department_id = %s AND {column} = ANY(%s::bigint[])",  # noqa: S608
                [department_id, ids],
            )
            return
        placeholders = ", ".join(["%s"] * len(ids))
        cursor.execute(
            f"DELETE FROM {table} WHERE department_id = %s AND {column} IN ({placeholders})",  # noqa: S608
            [department_id, *ids],
        )


def delete_messages(ids: Iterable[int], *, department_id: int) -> None:
    """Delete the department's messages ``ids`` with all their parts: one statement per table,
    parts first, each naming the department (Django's cascade would delete the parts by
    ``message_id`` alone, reading every partition)."""
    ids = list(ids)
    for model in PART_MODELS:
        delete_rows(model, "message_id", ids, department_id=department_id)
    delete_rows(Message, "id", ids, department_id=department_id)
