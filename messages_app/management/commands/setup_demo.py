"""`setup_demo`: the README's first command's demo data, with fresh credentials printed.

Idempotent: run again, it keeps the department and its demo history (imported again, it
answers unchanged) and renews every secret and password.
"""

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from ...clients import register_client
from ...models import Department
from ...transfer.demo_history import load_demo_history

DEMO_DEPARTMENT = "demo-department"
DEMO_CLIENT = "demo-client"
DEMO_ADMIN = "admin"
DEMO_STAFF = "demo-staff"


class Command(BaseCommand):
    help = (
        "Create a demo department with a small demo history, an API client, a superuser and a staff member "
        "of the department, with fresh credentials, and print them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--no-history", action="store_true", help="Do not import the demo history.")

    def handle(self, *args: Any, **options: Any) -> None:
        department, _ = Department.objects.get_or_create(uuid=DEMO_DEPARTMENT, defaults={"name": "Demo department"})
        secret = secrets.token_urlsafe(24)
        register_client(DEMO_CLIENT, [department.uuid], secret=secret)
        password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        admin = user_model.objects.filter(username=DEMO_ADMIN).first() or user_model(username=DEMO_ADMIN)
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        staff_password = secrets.token_urlsafe(12)
        staff = user_model.objects.filter(username=DEMO_STAFF).first() or user_model(username=DEMO_STAFF)
        staff.is_staff, staff.is_superuser = True, False
        staff.set_password(staff_password)
        staff.save()
        department.members.add(staff)
        if not options["no_history"]:
            load_demo_history(department, staff=staff)
        base = options["base_url"].rstrip("/")
        url = f"{base}/communications/department/{DEMO_DEPARTMENT}/customer/demo-customer/communication/historical"
        body = (
            '{"saveMessageRequestList": [{"sourceUuid": "demo-1", "sentOn": "2025-03-28T11:34:43.227Z", '
            '"messageAttributes": {"body": "Your car is ready", "type": "OUTGOING", "protocol": "TEXT", '
            '"purpose": "F"}}]}'
        )
        self.stdout.write(
            "\n".join(
                [
                    "",
                    self.style.SUCCESS("Demo ready."),
                    f"  Department UUID : {DEMO_DEPARTMENT}",
                    f"  API client      : {DEMO_CLIENT}",
                    f"  API secret      : {secret}",
                    f"  Admin login     : {base}/admin/  user {DEMO_ADMIN}  password {password}",
                    f"  Staff login     : {base}/admin/  user {DEMO_STAFF}  password {staff_password}"
                    f"  (sees {DEMO_DEPARTMENT} only)",
                    f"  API docs        : {base}/communications/docs/",
                    "",
                    "Try it:",
                    f"  curl -u '{DEMO_CLIENT}:{secret}' -X PUT -H 'Content-Type: application/json' \\",
                    f"    '{url}' \\",
                    f"    --data '{body}'",
                    "",
                ]
            )
        )
