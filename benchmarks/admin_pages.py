"""Time the admin's big pages on a large data set: message list, conversation list, transcript.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/comms_big \\
        .venv/bin/python manage.py generate_demo_data --messages 1000000 --departments 5
    SECRET_KEY=bench .venv/bin/python manage.py collectstatic --noinput  # once; the benchmark runs with DEBUG off
    SECRET_KEY=bench DATABASE_URL=postgres://postgres@127.0.0.1:5432/comms_big \\
        .venv/bin/python benchmarks/admin_pages.py

Runs against the database DATABASE_URL names (not a test database: point it at a
throwaway one, it adds two users and their sessions). Each page is requested in-process
with Django's test client, once to warm up and then RUNS times; the median time and the
number and time of SQL queries are printed, for a superuser and for a staff member of one
department. The rest of a page's time is Django rendering it (about 1 ms per list row).
"""

import os
import statistics
import sys
import time
from pathlib import Path

RUNS = 5


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms_project.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from messages_app.models import Conversation, Department, ImportBatch, Message

    users = get_user_model().objects
    superuser = users.filter(username="bench-root").first() or users.create_superuser("bench-root", password=None)
    staff = users.filter(username="bench-staff").first() or users.create_user("bench-staff", is_staff=True)
    department = Department.objects.order_by("pk").first()
    department.members.add(staff)
    big = Conversation.objects.order_by("-total_message_count").first()
    middle = Message.objects.filter(customer_id=big.customer_id).order_by("message_at", "pk")[
        big.total_message_count // 2
    ]
    other = Conversation.objects.filter(department=department).exclude(pk=big.pk).first()
    batch = ImportBatch.objects.filter(department=department).order_by("pk").first()
    pages = [
        ("message list", "/admin/messages_app/message/"),
        ("message list, page 500", "/admin/messages_app/message/?p=500"),
        ("message list, type=NOTE", "/admin/messages_app/message/?type=NOTE"),
        ("message list, purpose=RECALL", "/admin/messages_app/message/?purpose=RECALL"),
        ("message list, trashed", "/admin/messages_app/message/?is_trashed__exact=1"),
        ("message list, year 2022", "/admin/messages_app/message/?message_at__year=2022"),
        ("message list, one customer", f"/admin/messages_app/message/?customer__id__exact={big.customer_id}"),
        ("message list, one batch", f"/admin/messages_app/message/?created_batch__id__exact={batch.pk}"),
        ("message list, search sourceUuid", f"/admin/messages_app/message/?q={middle.source_uuid}"),
        ("message list, search body word", "/admin/messages_app/message/?q=warranty"),
        ("conversation list", "/admin/messages_app/conversation/"),
        ("conversation list, search customer", f"/admin/messages_app/conversation/?q={other.customer.uuid}"),
        (
            f"transcript {big.total_message_count} msgs, newest",
            f"/admin/messages_app/conversation/{big.pk}/transcript/",
        ),
        (
            f"transcript {big.total_message_count} msgs, oldest",
            f"/admin/messages_app/conversation/{big.pk}/transcript/?after=start",
        ),
        (
            f"transcript {big.total_message_count} msgs, middle",
            f"/admin/messages_app/conversation/{big.pk}/transcript/?message={middle.pk}",
        ),
        ("message change page", f"/admin/messages_app/message/{middle.pk}/change/"),
    ]
    print(f"{Message.objects.order_by().count():,} messages; PostgreSQL: {connection.vendor == 'postgresql'}")
    print(f"{'page':45} {'user':10} {'median ms':>10} {'sql ms':>7} {'queries':>8}")
    for user, label in ((superuser, "superuser"), (staff, "staff")):
        client = Client()
        client.force_login(user)
        for name, url in pages:
            client.get(url)
            times, sql_times, count = [], [], 0
            for _ in range(RUNS):
                with CaptureQueriesContext(connection) as captured:
                    start = time.perf_counter()
                    response = client.get(url)
                    times.append((time.perf_counter() - start) * 1000)
                sql_times.append(sum(float(query["time"]) for query in captured.captured_queries) * 1000)
                assert response.status_code == 200, (url, response.status_code)
                count = len(captured)
            median, sql = statistics.median(times), statistics.median(sql_times)
            print(f"{name:45} {label:10} {median:10.1f} {sql:7.1f} {count:8d}")


if __name__ == "__main__":
    main()
