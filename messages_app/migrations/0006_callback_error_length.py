# The callback error columns state their length on the field (read by the delivery code,
# which truncates to it). A TextField's max_length is not a database constraint, so this
# changes the migration state only: no table is rebuilt.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messages_app", "0005_message_intake_warnings"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="callbackattempt",
                    name="error",
                    field=models.TextField(blank=True, max_length=2000),
                ),
                migrations.AlterField(
                    model_name="callbackdelivery",
                    name="last_error",
                    field=models.TextField(blank=True, max_length=2000),
                ),
            ],
            database_operations=[],
        ),
    ]
