from django.conf import settings
from django.db import migrations

# On PostgreSQL the ten message tables become hash-partitioned by department
# (messages_app/models/partitioning.py, README "Write scale"): MESSAGE_PARTITIONS partitions,
# 0 to keep them plain (manage.py partition_messages converts later). On both databases the
# registry of messageUuids is filled from the stored messages and kept by triggers from
# here on. Not reversible: a partitioned schema is not turned back into a plain one.


def registry_and_partitions(apps, schema_editor):
    from messages_app.models import partitioning

    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for statement in partitioning.registry_sql(connection.vendor):
            cursor.execute(statement)
        cursor.execute(partitioning.backfill_registry_sql())
        if connection.vendor == "postgresql":
            for statement in partitioning.registry_without_pattern_index_sql(cursor):
                cursor.execute(statement)
        partitions = settings.MESSAGE_PARTITIONS
        if connection.vendor == "postgresql" and partitions and not partitioning.is_partitioned(cursor):
            partitioning.convert(connection, partitions)


class Migration(migrations.Migration):
    dependencies = [
        ("messages_app", "0011_message_uuid_registry"),
    ]

    operations = [
        migrations.RunPython(registry_and_partitions),
    ]
