"""Leaner writes: drop the indexes another index covers or no query uses (README, Performance).

- Foreign keys lose their own one-column index where a composite index leads with the
  column (message department and customer; parts' message and tag; customer, conversation
  and batch department), or where nothing reads by it (message conversation; parts'
  department). Only the indexes go: the foreign key constraints stay as they are (altering
  the fields the ordinary way would drop and re-validate every constraint, a full scan of
  each table).
- ``message_uuid``: ``unique=True`` becomes the named constraint ``message_unique_message_uuid``
  (PostgreSQL: the existing unique constraint is renamed, no rebuild) and its
  ``varchar_pattern_ops`` index for LIKE goes (lookups are exact).
- ``created_batch`` and ``updated_batch``: a BRIN index each on PostgreSQL (rows come in
  batch order), a btree elsewhere; ``corrected_by``: a partial index of the corrected rows.
"""

import django.db.models.deletion
from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import migrations, models

TABLE = "messages_app_{}"

# (model, field, related model, on_delete, related_name, null): the foreign keys whose own index goes.
UNINDEXED = [
    ("attachment", "department", "messages_app.department", "CASCADE", "+", False),
    ("attachment", "message", "messages_app.message", "CASCADE", "attachments", False),
    ("conversation", "department", "messages_app.department", "CASCADE", "conversations", False),
    ("customer", "department", "messages_app.department", "CASCADE", "customers", False),
    ("draftattributes", "department", "messages_app.department", "CASCADE", "+", False),
    ("importbatch", "department", "messages_app.department", "CASCADE", "import_batches", False),
    ("message", "conversation", "messages_app.conversation", "CASCADE", "messages", False),
    ("message", "corrected_by", settings.AUTH_USER_MODEL, "SET_NULL", "+", True),
    ("message", "created_batch", "messages_app.importbatch", "SET_NULL", "created_messages", True),
    ("message", "customer", "messages_app.customer", "CASCADE", "messages", False),
    ("message", "department", "messages_app.department", "CASCADE", "messages", False),
    ("message", "updated_batch", "messages_app.importbatch", "SET_NULL", "updated_messages", True),
    ("messagetag", "department", "messages_app.department", "CASCADE", "+", False),
    ("messagetag", "message", "messages_app.message", "CASCADE", "message_tags", False),
    ("messagetagparent", "department", "messages_app.department", "CASCADE", "+", False),
    ("messagetagparent", "tag", "messages_app.messagetag", "DO_NOTHING", "parent_tags", False),
    ("messagetagsecondaryattribute", "department", "messages_app.department", "CASCADE", "+", False),
    ("messagetagsecondaryattribute", "tag", "messages_app.messagetag", "DO_NOTHING", "secondary_attributes", False),
    ("notificationattributes", "department", "messages_app.department", "CASCADE", "+", False),
    ("notificationbutton", "department", "messages_app.department", "CASCADE", "+", False),
    ("notificationbutton", "message", "messages_app.message", "CASCADE", "notification_buttons", False),
    ("notificationnotifier", "department", "messages_app.department", "CASCADE", "+", False),
    ("notificationnotifier", "message", "messages_app.message", "CASCADE", "notification_notifiers", False),
    ("voicecallattributes", "department", "messages_app.department", "CASCADE", "+", False),
]
BATCH_INDEXES = [("message_created_batch_brin", "created_batch_id"), ("message_updated_batch_brin", "updated_batch_id")]
MESSAGE_UUID_CONSTRAINT = "message_unique_message_uuid"


def _unindexed_field(to, on_delete, related_name, null):
    on_delete = getattr(django.db.models.deletion, on_delete)
    extra = {"null": True, "blank": True} if null else {}
    return models.ForeignKey(to, on_delete=on_delete, related_name=related_name, db_index=False, **extra)


def _fk_indexes(schema_editor):
    """(index name as Django made it, table, column) of every foreign key index that goes."""
    for model, field, *_ in UNINDEXED:
        table, column = TABLE.format(model), f"{field}_id"
        yield schema_editor._create_index_name(table, [column]), table, column


def drop_fk_indexes(apps, schema_editor):
    for name, _table, _column in _fk_indexes(schema_editor):
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_fk_indexes(apps, schema_editor):
    for name, table, column in _fk_indexes(schema_editor):
        quote = schema_editor.quote_name
        schema_editor.execute(f"CREATE INDEX {quote(name)} ON {quote(table)} ({quote(column)})")


def _message_uuid_fields(apps):
    model = apps.get_model("messages_app", "Message")
    unique = model._meta.get_field("message_uuid")
    plain = models.CharField("message UUID", max_length=unique.max_length)
    plain.set_attributes_from_name("message_uuid")
    plain.model = model
    constraint = models.UniqueConstraint(fields=["message_uuid"], name=MESSAGE_UUID_CONSTRAINT)
    return model, unique, plain, constraint


def _message_uuid_unique_name(schema_editor):
    table = TABLE.format("message")
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, table)
    return next(
        name
        for name, details in constraints.items()
        if details["unique"] and not details["primary_key"] and details["columns"] == ["message_uuid"]
    )


def message_uuid_constraint(apps, schema_editor):
    """PostgreSQL: rename the unique constraint, drop the LIKE index. Elsewhere: the ordinary way."""
    model, unique, plain, constraint = _message_uuid_fields(apps)
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.alter_field(model, unique, plain)
        schema_editor.add_constraint(model, constraint)
        return
    quote, table = schema_editor.quote_name, TABLE.format("message")
    old = _message_uuid_unique_name(schema_editor)
    schema_editor.execute(f"ALTER TABLE {quote(table)} RENAME CONSTRAINT {quote(old)} TO {MESSAGE_UUID_CONSTRAINT}")
    like = schema_editor._create_index_name(table, ["message_uuid"], suffix="_like")
    schema_editor.execute(f"DROP INDEX IF EXISTS {quote(like)}")


def message_uuid_unique(apps, schema_editor):
    model, unique, plain, constraint = _message_uuid_fields(apps)
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.remove_constraint(model, constraint)
        schema_editor.alter_field(model, plain, unique)
        return
    quote, table = schema_editor.quote_name, TABLE.format("message")
    unique = quote(f"{table}_message_uuid_key")
    schema_editor.execute(f"ALTER TABLE {quote(table)} RENAME CONSTRAINT {MESSAGE_UUID_CONSTRAINT} TO {unique}")
    like = schema_editor._create_index_name(table, ["message_uuid"], suffix="_like")
    schema_editor.execute(f"CREATE INDEX {quote(like)} ON {quote(table)} (message_uuid varchar_pattern_ops)")


def create_batch_indexes(apps, schema_editor):
    """BRIN on PostgreSQL, a btree of the same name elsewhere (SQLite has no BRIN)."""
    brin = schema_editor.connection.vendor == "postgresql"
    table = schema_editor.quote_name(TABLE.format("message"))
    for name, column in BATCH_INDEXES:
        method = " USING brin" if brin else ""
        options = " WITH (pages_per_range = 32, autosummarize = on)" if brin else ""
        schema_editor.execute(f"CREATE INDEX {name} ON {table}{method} ({column}){options}")


def drop_batch_indexes(apps, schema_editor):
    for name, _column in BATCH_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("messages_app", "0008_message_search"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # First: on SQLite it rebuilds the message table from the state before this migration.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="message_uuid",
                    field=models.CharField(max_length=255, verbose_name="message UUID"),
                ),
                migrations.AddConstraint(
                    model_name="message",
                    constraint=models.UniqueConstraint(
                        fields=("message_uuid",),
                        name=MESSAGE_UUID_CONSTRAINT,
                        violation_error_message="A message with this messageUuid already exists.",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(message_uuid_constraint, message_uuid_unique)],
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name=model, name=field, field=_unindexed_field(*rest))
                for model, field, *rest in UNINDEXED
            ],
            database_operations=[migrations.RunPython(drop_fk_indexes, create_fk_indexes)],
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="message",
                    index=BrinIndex(autosummarize=True, fields=[column[:-3]], name=name, pages_per_range=32),
                )
                for name, column in BATCH_INDEXES
            ],
            database_operations=[migrations.RunPython(create_batch_indexes, drop_batch_indexes)],
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("corrected_by__isnull", False)),
                fields=["corrected_by"],
                name="message_corrected_by_idx",
            ),
        ),
    ]
