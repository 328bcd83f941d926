"""Full-text search of subject and body on PostgreSQL: a stored generated ``tsvector``
column with a GIN index. The column is not a model field (SQLite has no ``tsvector``);
``messages_app/textsearch.py`` is the only code that names it. The configuration is
``settings.SEARCH_CONFIG`` at migration time (``manage.py rebuild_search`` changes it)."""

from django.conf import settings
from django.db import migrations

COLUMN_SQL = (
    "ALTER TABLE messages_app_message ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('{config}'::regconfig, coalesce(subject, '') || ' ' || coalesce(body, ''))) STORED"
)
INDEX_SQL = "CREATE INDEX message_search_idx ON messages_app_message USING gin (search_vector)"


def add_search_column(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(COLUMN_SQL.format(config=settings.SEARCH_CONFIG))
    schema_editor.execute(INDEX_SQL)
    # Without statistics of the new column every word looks rare to the planner.
    schema_editor.execute("ANALYZE messages_app_message (search_vector)")


def drop_search_column(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE messages_app_message DROP COLUMN search_vector")


class Migration(migrations.Migration):
    dependencies = [
        ("messages_app", "0007_verbose_names"),
    ]

    operations = [
        migrations.RunPython(add_search_column, drop_search_column, elidable=False),
    ]
