"""The message tables hash-partitioned by department on PostgreSQL, and the messageUuid registry.

Dealership history splits by department, and so does every hot query: the message table
and its nine part tables are ``PARTITION BY HASH (department_id)`` with the same modulus
(``settings.MESSAGE_PARTITIONS``, 16 by default; 0 keeps them plain), which is the shape a
Citus cluster distributes by ``department_id`` (README, "Write scale"). Models and code
paths are the same on both databases; SQLite keeps the plain schema.

What partitioning imposes, and how each rule is met:

- A unique constraint must include the partition key: every primary key becomes
  ``(department_id, id)`` and every unique constraint gets ``department_id`` in front
  (the rows of one message all carry its department, so nothing is lost).
- ``messageUuid`` is unique across departments (DESIGN.md): that is the registry table
  ``messages_app_messageuuid`` (primary key ``message_uuid``; under Citus, distributed by
  it), kept by statement triggers on the message table in the same statement, for every
  writer (the ingest COPY, the demo generator's INSERT ... SELECT, the ORM). A second
  department's message with a taken messageUuid fails on the registry's primary key.
- Foreign keys between the partitioned tables are composite, ``(department_id,
  message_id) -> message (department_id, id)``, and declared between matching leaf
  partitions (``attachment_p03 -> message_p03``): a key on the partitioned parent costs
  58-65 us a checked row on PostgreSQL 15 against 11 us for a plain table, 2.5-2.9 times the
  whole write; leaf to leaf costs what plain costs (docs/design/partitioning-fk-cost.md).
  That is also how Citus checks keys between co-located shards. The model fields say
  ``db_constraint=False``; these constraints are the real ones.
- PostgreSQL 15 has no identity column on a partitioned table: ``id`` takes its default
  from a sequence owned by the column, started after the old one, so
  ``pg_get_serial_sequence`` (``ingest.rows.allocate_ids``) keeps working and ids keep
  increasing.

``conversion_sql`` reads the live tables (columns, indexes, constraints, keys to outside
tables) and returns the statements that copy them into partitioned ones; migration 0011
runs them, and so does ``manage.py partition_messages`` for a database migrated plain.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import F, FilteredRelation, Q, QuerySet
from django.db.models.query import ModelIterable

from .messages import (
    Attachment,
    DraftAttributes,
    Message,
    MessageTag,
    MessageTagParent,
    MessageTagSecondaryAttribute,
    MessageUuid,
    NotificationAttributes,
    NotificationButton,
    NotificationNotifier,
    VoiceCallAttributes,
)

DEFAULT_PARTITIONS = 16
MAX_PARTITIONS = 256

# Parents before children: messagetag before the two tables that point at it.
PARTITIONED_MODELS: tuple[type[models.Model], ...] = (
    Message,
    DraftAttributes,
    Attachment,
    MessageTag,
    MessageTagSecondaryAttribute,
    MessageTagParent,
    NotificationAttributes,
    NotificationNotifier,
    NotificationButton,
    VoiceCallAttributes,
)
PARTITIONED_TABLES: tuple[str, ...] = tuple(model._meta.db_table for model in PARTITIONED_MODELS)
MESSAGE_TABLE = Message._meta.db_table
REGISTRY_TABLE = MessageUuid._meta.db_table

_REGISTER_FUNCTION = "messages_app_register_message_uuid"
_UNREGISTER_FUNCTION = "messages_app_unregister_message_uuid"
_UNREGISTER_ALL_FUNCTION = "messages_app_unregister_all_message_uuids"


# The reverse one-to-one parts of a message, each joined under this alias by ``select_parts``.
ONE_TO_ONE_PARTS: dict[str, str] = {
    "draft_attributes": "joined_draft_attributes",
    "notification_attributes": "joined_notification_attributes",
    "voice_call_attributes": "joined_voice_call_attributes",
}


class _JoinedPartsIterable(ModelIterable):
    """Messages whose parts joined under an alias read as the relation: ``message.draft_attributes``."""

    def __iter__(self):
        requested = self.queryset.query.select_related
        joined = [
            (Message._meta.get_field(name), alias)
            for name, alias in ONE_TO_ONE_PARTS.items()
            if isinstance(requested, dict) and alias in requested
        ]
        for message in super().__iter__():
            for relation, alias in joined:
                # No row joined, no attribute: the relation then raises DoesNotExist without a query.
                relation.set_cached_value(message, message.__dict__.pop(alias, None))
            yield message


def select_parts(queryset: QuerySet[Message], *names: str) -> QuerySet[Message]:
    """``select_related`` of one-to-one parts with the department in the join.

    A join on ``message_id`` alone reads every partition of the part's table; with
    ``department_id = message.department_id`` in it, the planner carries the message's
    department (a constant of the query) over to the part and reads one partition."""
    relations = {
        ONE_TO_ONE_PARTS[name]: FilteredRelation(name, condition=Q(**{f"{name}__department_id": F("department_id")}))
        for name in names
    }
    joined = queryset.annotate(**relations).select_related(*relations)
    joined._iterable_class = _JoinedPartsIterable
    return joined


def partition_name(table: str, remainder: int) -> str:
    return f"{table}_p{remainder:02d}"


def registry_sql(vendor: str) -> list[str]:
    """The triggers that keep the registry: a row for each message, gone with it."""
    if vendor == "postgresql":
        return [
            f"""CREATE OR REPLACE FUNCTION {_REGISTER_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {REGISTRY_TABLE} (message_uuid, department_id, message_id)
    SELECT message_uuid, department_id, id FROM new_rows ORDER BY message_uuid;
    RETURN NULL;
END $$""",  # noqa: S608 (names from the models)
            f"""CREATE OR REPLACE FUNCTION {_UNREGISTER_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {REGISTRY_TABLE} AS r USING old_rows AS o
    WHERE r.department_id = o.department_id AND r.message_id = o.id;
    RETURN NULL;
END $$""",  # noqa: S608
            f"CREATE TRIGGER message_register_uuid AFTER INSERT ON {MESSAGE_TABLE} "
            f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {_REGISTER_FUNCTION}()",
            f"CREATE TRIGGER message_unregister_uuid AFTER DELETE ON {MESSAGE_TABLE} "
            f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {_UNREGISTER_FUNCTION}()",
            # A TRUNCATE fires no DELETE trigger; left behind, the registry would refuse the
            # messageUuids of messages imported again.
            f"""CREATE OR REPLACE FUNCTION {_UNREGISTER_ALL_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {REGISTRY_TABLE};
    RETURN NULL;
END $$""",  # noqa: S608
            f"CREATE TRIGGER message_unregister_all AFTER TRUNCATE ON {MESSAGE_TABLE} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {_UNREGISTER_ALL_FUNCTION}()",
        ]
    return [
        f"CREATE TRIGGER message_register_uuid AFTER INSERT ON {MESSAGE_TABLE} FOR EACH ROW BEGIN "  # noqa: S608
        f"INSERT INTO {REGISTRY_TABLE} (message_uuid, department_id, message_id) "
        f"VALUES (NEW.message_uuid, NEW.department_id, NEW.id); END",
        f"CREATE TRIGGER message_unregister_uuid AFTER DELETE ON {MESSAGE_TABLE} FOR EACH ROW BEGIN "  # noqa: S608
        f"DELETE FROM {REGISTRY_TABLE} WHERE department_id = OLD.department_id AND message_id = OLD.id; END",
    ]


def registry_without_pattern_index_sql(cursor: Any) -> list[str]:
    """Django gives a varchar primary key a second, ``varchar_pattern_ops`` index for LIKE;
    nothing searches messageUuids by prefix, and every message would pay for it."""
    cursor.execute(
        "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass AND NOT indisunique",
        [REGISTRY_TABLE],
    )
    return [f"DROP INDEX {name}" for (name,) in cursor.fetchall()]


def backfill_registry_sql() -> str:
    return (
        f"INSERT INTO {REGISTRY_TABLE} (message_uuid, department_id, message_id) "  # noqa: S608
        f"SELECT message_uuid, department_id, id FROM {MESSAGE_TABLE}"
    )


@dataclass
class _TableInfo:
    columns: list[tuple[str, bool]]  # (name, generated)
    keys: list[tuple[str, str, list[str]]]  # (name, "p" or "u", columns): primary key and unique constraints
    indexes: list[str]  # definitions of the other indexes
    outside_fks: list[tuple[str, str]]  # (name, definition) of keys to unpartitioned tables
    sequence: str


def _introspect(cursor: Any, table: str) -> _TableInfo:
    cursor.execute(
        "SELECT attname, attgenerated <> '' FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum",
        [table],
    )
    columns = cursor.fetchall()
    cursor.execute(
        "SELECT c.conname, c.contype, ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(n, i) "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i)::text[] "
        "FROM pg_constraint c WHERE c.conrelid = %s::regclass AND c.contype IN ('p', 'u') ORDER BY c.conname",
        [table],
    )
    keys = [(name, kind, list(cols)) for name, kind, cols in cursor.fetchall()]
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid) "
        "ORDER BY c.relname",
        [table],
    )
    indexes = [row[0] for row in cursor.fetchall()]
    # Keys to the tables that stay plain are copied; those between the ten are dropped with
    # the old tables and declared again leaf to leaf.
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype = 'f' AND NOT confrelid::regclass::text = ANY(%s) ORDER BY conname",
        [table, list(PARTITIONED_TABLES)],
    )
    outside = cursor.fetchall()
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    (sequence,) = cursor.fetchone()
    return _TableInfo(columns, keys, indexes, outside, sequence)


def inside_foreign_keys(table: str) -> list[tuple[str, str]]:
    """(column, referenced table) of ``table``'s keys to the other partitioned tables."""
    model = next(m for m in PARTITIONED_MODELS if m._meta.db_table == table)
    found = []
    for field in model._meta.concrete_fields:
        target = field.related_model
        if target is not None and target._meta.db_table in PARTITIONED_TABLES:
            found.append((field.column, target._meta.db_table))
    return found


def leaf_foreign_key_sql(table: str, partitions: int) -> list[str]:
    """The composite keys of ``table``'s partitions to the matching partitions they reference."""
    statements = []
    for column, target in inside_foreign_keys(table):
        for remainder in range(partitions):
            child, parent = partition_name(table, remainder), partition_name(target, remainder)
            statements.append(
                f"ALTER TABLE {child} ADD CONSTRAINT {child}_{column}_fk FOREIGN KEY (department_id, {column}) "
                f"REFERENCES {parent} (department_id, id) DEFERRABLE INITIALLY DEFERRED"
            )
    return statements


def is_partitioned(cursor: Any) -> bool:
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))", [MESSAGE_TABLE]
    )
    return cursor.fetchone()[0]


def conversion_sql(cursor: Any, partitions: int = DEFAULT_PARTITIONS) -> list[str]:
    """The statements, in order, that turn the plain tables of the database ``cursor`` is
    connected to into ``partitions`` hash partitions each, rows included. Run them in one
    transaction; they take ACCESS EXCLUSIVE locks on the ten tables until it commits."""
    if not 1 <= partitions <= MAX_PARTITIONS:
        raise ValueError(f"The partition count must be 1 to {MAX_PARTITIONS}, not {partitions}.")
    info = {table: _introspect(cursor, table) for table in PARTITIONED_TABLES}
    sql: list[str] = []
    for table in PARTITIONED_TABLES:
        new = f"{table}_new"
        sql.append(
            f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS "
            f"INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY HASH (department_id)"
        )
        sql += [
            f"CREATE TABLE {partition_name(new, r)} PARTITION OF {new} "
            f"FOR VALUES WITH (MODULUS {partitions}, REMAINDER {r})"
            for r in range(partitions)
        ]
        sequence = f"{table}_id_seq_new"
        sql.append(f"CREATE SEQUENCE {sequence} AS bigint OWNED BY {new}.id")
        sql.append(
            f"SELECT setval('{sequence}', (SELECT COALESCE(MAX(v), 1) FROM (SELECT last_value AS v FROM "  # noqa: S608 (names from the catalog)
            f"{info[table].sequence} UNION ALL SELECT MAX(id) FROM {table}) AS x), true)"
        )
        sql.append(f"ALTER TABLE {new} ALTER COLUMN id SET DEFAULT nextval('{sequence}')")
        names = ", ".join(name for name, generated in info[table].columns if not generated)
        sql.append(f"INSERT INTO {new} ({names}) SELECT {names} FROM {table} ORDER BY department_id, id")  # noqa: S608
    # The old tables go, children first (the registry's triggers with the message table).
    sql += [f"DROP TABLE {table}" for table in reversed(PARTITIONED_TABLES)]
    for table in PARTITIONED_TABLES:
        sql.append(f"ALTER TABLE {table}_new RENAME TO {table}")
        sql.append(f"ALTER SEQUENCE {table}_id_seq_new RENAME TO {table}_id_seq")
        sql += [
            f"ALTER TABLE {partition_name(table + '_new', r)} RENAME TO {partition_name(table, r)}"
            for r in range(partitions)
        ]
    for table in PARTITIONED_TABLES:
        for name, kind, columns in info[table].keys:
            columns = columns if "department_id" in columns else ["department_id", *columns]
            keyword = "PRIMARY KEY" if kind == "p" else "UNIQUE"
            sql.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {keyword} ({', '.join(columns)})")
    for table in PARTITIONED_TABLES:
        sql += [
            f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}" for name, definition in info[table].outside_fks
        ]
        sql += leaf_foreign_key_sql(table, partitions)
        # "CREATE INDEX name ON public.<table> ...": now the partitioned parent, whose index
        # PostgreSQL builds on each partition and attaches.
        sql += info[table].indexes
    sql += registry_sql("postgresql")
    sql += [f"ANALYZE {table}" for table in PARTITIONED_TABLES]
    return sql


def convert(
    connection: Any, partitions: int = DEFAULT_PARTITIONS, *, report: Callable[[str, float], None] | None = None
) -> float:
    """Run ``conversion_sql`` in the caller's transaction; the seconds it took."""
    started = time.monotonic()
    with connection.cursor() as cursor:
        for statement in conversion_sql(cursor, partitions):
            began = time.monotonic()
            cursor.execute(statement)
            if report is not None:
                report(statement, time.monotonic() - began)
    return time.monotonic() - started


def partition_counts(cursor: Any) -> dict[str, int]:
    """Each partitioned table's number of partitions (PostgreSQL): empty for a plain schema."""
    cursor.execute(
        "SELECT c.relname, (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid) "
        "FROM pg_class c JOIN pg_partitioned_table p ON p.partrelid = c.oid WHERE c.relname = ANY(%s)",
        [list(PARTITIONED_TABLES)],
    )
    return dict(cursor.fetchall())
