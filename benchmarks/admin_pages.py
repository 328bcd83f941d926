"""Time the admin's big pages and the read API's list on a large data set.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/comms_big \\
        .venv/bin/python manage.py generate_demo_data --messages 1000000 --departments 5
    SECRET_KEY=bench .venv/bin/python manage.py collectstatic --noinput  # once; the benchmark runs with DEBUG off
    SECRET_KEY=bench DATABASE_URL=postgres://postgres@127.0.0.1:5432/comms_big \\
        .venv/bin/python benchmarks/admin_pages.py [NAME ...] [--json FILE] [--label LABEL]
    .venv/bin/python benchmarks/pages_side_by_side.py plain.json partitioned.json  # two runs' table

Runs against the database DATABASE_URL names, as it is (not a test database). It writes
only its own rows, and reuses them on the next run: two users (``bench-root``, a
superuser; ``bench-staff``, a member of the first department), their sessions, and an API
client (``bench-api``, allowed to read the first department). Each page is requested
in-process (Django's test client; DRF's for the API, with real Basic credentials), once
to warm up and then RUNS times (environment, default 5); the median time and the number
and time of SQL queries are printed. A page whose warm-up takes more than SLOW_MS (2 s) is
timed once, so a text search without its index cannot make the run last an hour. With
NAMEs, only the pages whose name contains one of them run. The first line names the
schema (plain tables, or hash-partitioned by department with how many partitions), the
departments and the planner's message count (a partitioned table's is its partitions'
sum). ``--json FILE`` also writes the figures (page, user, median ms, SQL ms, queries) to
FILE, with ``--label`` (default: the schema) naming the run, for pages_side_by_side.py.

Text searches (``?q=`` of words) use whatever search the code has: a full-text index
where it exists, else a scan. Read-only otherwise: every setup query is an index probe
or a planner estimate, so a run over 10 million messages takes a few minutes.
"""

import argparse
import base64
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

RUNS = int(os.environ.get("RUNS", "5"))
SLOW_MS = 2_000
API_CLIENT = "bench-api"
API_SECRET = "bench-api-secret-not-for-production-0123456789"


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms_project.settings")
    import django

    django.setup()
    import logging

    from django.db import connection

    from messages_app.models import Message

    logging.disable(logging.INFO)  # one access-log line per request would bury the figures

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="only the pages whose name contains one of these")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE (JSON)")
    parser.add_argument("--label", help="the run's name in the JSON (default: the schema)")
    args = parser.parse_args()
    from messages_app.models import Department

    admin_users, api_credentials, pages, api_pages = prepare()
    only = args.names
    schema = schema_label(connection)
    departments = Department.objects.count()
    print(
        f"{message_estimate(connection, Message):,} messages in {departments} departments; "
        f"PostgreSQL: {connection.vendor == 'postgresql'}; schema: {schema}; RUNS={RUNS}"
    )
    print(f"{'page':55} {'user':10} {'median ms':>10} {'sql ms':>7} {'queries':>8}")
    from django.test import Client
    from rest_framework.test import APIClient

    rows: list[dict] = []
    for user, label in admin_users:
        client = Client()
        client.force_login(user)
        rows += measure_all(client, label, pages, only)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=api_credentials)
    rows += measure_all(api, "api client", api_pages, only)
    if args.json:
        summary = {
            "label": args.label or schema,
            "schema": schema,
            "messages": message_estimate(connection, Message),
            "departments": departments,
            "runs": RUNS,
            "measured_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "load_average": os.getloadavg(),
            "pages": rows,
        }
        Path(args.json).write_text(json.dumps(summary, indent=1) + "\n")


def schema_label(connection) -> str:
    """``plain``, or ``partitioned (N partitions)`` when the message table is partitioned."""
    if connection.vendor != "postgresql":
        return "plain"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(i.inhrelid) FROM pg_partitioned_table p LEFT JOIN pg_inherits i ON i.inhparent = p.partrelid "
            "WHERE p.partrelid = to_regclass('messages_app_message') GROUP BY p.partrelid"
        )
        row = cursor.fetchone()
    return f"partitioned ({row[0]} partitions)" if row else "plain"


def prepare() -> tuple[list, str, list[tuple[str, str]], list[tuple[str, str]]]:
    """The users, the API credentials and the pages, made or found idempotently."""
    from django.contrib.auth import get_user_model
    from django.db.models import Max, Min

    from messages_app.admin.paging import encode_edge
    from messages_app.clients import register_client
    from messages_app.enums import ApiScope
    from messages_app.models import Conversation, Customer, Department, ImportBatch, Message

    users = get_user_model().objects
    superuser, _ = users.get_or_create(username="bench-root")
    superuser.is_staff = superuser.is_superuser = superuser.is_active = True
    superuser.save()
    staff, _ = users.get_or_create(username="bench-staff")
    staff.is_staff, staff.is_superuser, staff.is_active = True, False, True
    staff.save()
    department = Department.objects.order_by("pk").first()
    department.members.add(staff)
    register_client(API_CLIENT, [department.uuid], [ApiScope.MESSAGE_READ], secret=API_SECRET)
    credentials = "Basic " + base64.b64encode(f"{API_CLIENT}:{API_SECRET}".encode()).decode()

    big = Conversation.objects.filter(department=department).order_by("-total_message_count").first()
    middle = Message.objects.filter(customer_id=big.customer_id).order_by("message_at", "pk")[
        big.total_message_count // 2
    ]
    other = Conversation.objects.filter(department=department).exclude(pk=big.pk).order_by("pk").first()
    small = Customer.objects.get(pk=other.customer_id)
    batch = ImportBatch.objects.filter(department=department).order_by("pk").first()
    # An edge 95 % of the way back in time: "Older" from there is as deep as a user can page.
    bounds = Message.objects.aggregate(first=Min("message_at"), last=Max("message_at"))
    deep_time = bounds["first"] + (bounds["last"] - bounds["first"]) * 0.05
    deep = Message.objects.filter(message_at__gte=deep_time).order_by("message_at", "id").first()
    deep_edge = encode_edge(deep.message_at, deep.pk)
    newest_batch = ImportBatch.objects.order_by("-created_at", "-id").first()

    messages = "/admin/messages_app/message/"
    conversations = "/admin/messages_app/conversation/"
    batches = "/admin/messages_app/importbatch/"
    transcript = f"/admin/messages_app/conversation/{big.pk}/transcript/"
    count = big.total_message_count
    pages = [
        ("message list", messages),
        ("message list, ?p=500 (capped: page 20)", f"{messages}?p=500"),
        ("message list, older page 95% back (keyset)", f"{messages}?before={deep_edge}"),
        ("message list, oldest page (keyset)", f"{messages}?after=start"),
        ("message list, oldest first, newest page", f"{messages}?o=1&before=end"),
        ("message list, type=NOTE", f"{messages}?type__exact=NOTE"),
        ("message list, type=NOTE, older page 95% back", f"{messages}?type__exact=NOTE&before={deep_edge}"),
        ("message list, purpose=RECALL", f"{messages}?purpose__exact=RECALL"),
        ("message list, trashed", f"{messages}?is_trashed__exact=1"),
        ("message list, year 2022", f"{messages}?message_at__year=2022"),
        ("message list, one department", f"{messages}?department={department.pk}"),
        ("message list, one customer", f"{messages}?customer__id__exact={big.customer_id}"),
        ("message list, one batch", f"{messages}?created_batch__id__exact={batch.pk}"),
        (
            "message list, one batch, as its batch page links it",
            f"{messages}?created_batch__id__exact={batch.pk}&department={batch.department_id}",
        ),
        ("message list, search sourceUuid", f"{messages}?q={middle.source_uuid}"),
        ("message list, search body word", f"{messages}?q=warranty"),
        ("message list, search rare word (123456)", f"{messages}?q=123456"),
        ("message list, search common word (brake)", f"{messages}?q=brake"),
        ("conversation list", conversations),
        ("conversation list, page 20 (last numbered)", f"{conversations}?p=20"),
        ("conversation list, search customer", f"{conversations}?q={other.customer.uuid}"),
        ("conversation list, search word (brake)", f"{conversations}?q=brake"),
        ("import batch list", batches),
        (
            "import batch list, older page",
            f"{batches}?before={encode_edge(newest_batch.created_at, newest_batch.pk)}",
        ),
        (f"transcript {count} msgs, newest", transcript),
        (f"transcript {count} msgs, oldest", f"{transcript}?after=start"),
        (f"transcript {count} msgs, middle", f"{transcript}?message={middle.pk}"),
        ("message change page", f"/admin/messages_app/message/{middle.pk}/change/"),
    ]

    def api_url(customer_uuid: str, **params: str) -> str:
        base = f"/communications/department/{department.uuid}/customer/{customer_uuid}/communication/historical"
        return f"{base}?{urlencode(params)}" if params else base

    def cursor(message: Message) -> str:
        position = f"{message.message_at.isoformat()},{message.pk}"
        return base64.b64encode(urlencode({"p": position}).encode()).decode()

    api_pages = [
        (f"API list {count} msgs, first page", api_url(big.customer.uuid)),
        (f"API list {count} msgs, middle (cursor)", api_url(big.customer.uuid, cursor=cursor(middle))),
        (f"API list {count} msgs, type=NOTE", api_url(big.customer.uuid, type="NOTE")),
        (
            f"API list {count} msgs, trashed and hidden too",
            api_url(big.customer.uuid, includeTrashed="true", includeHidden="true"),
        ),
        (f"API list {count} msgs, tag (no match)", api_url(big.customer.uuid, tag="no-such-tag-type")),
        (
            f"API list {count} msgs, sentOn in a month",
            api_url(
                big.customer.uuid,
                sentOnAfter=middle.message_at.isoformat(),
                sentOnBefore=(middle.message_at + (bounds["last"] - bounds["first"]) / 60).isoformat(),
            ),
        ),
        ("API list, another customer", api_url(small.uuid)),
        (f"API list {count} msgs, q=brake", api_url(big.customer.uuid, q="brake")),
        (f"API list {count} msgs, q=123456", api_url(big.customer.uuid, q="123456")),
    ]
    return [(superuser, "superuser"), (staff, "staff")], credentials, pages, api_pages


def message_estimate(connection, model) -> int:
    """The planner's row count on PostgreSQL (a COUNT of 10 million rows takes seconds)."""
    if connection.vendor != "postgresql":
        return model.objects.order_by().count()
    with connection.cursor() as cursor:  # a partitioned table: the sum of its partitions'
        cursor.execute(
            "SELECT COALESCE(sum(greatest(reltuples, 0)), 0)::bigint FROM pg_class "
            "WHERE (oid = to_regclass(%s) AND relkind = 'r') "
            "OR oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass(%s))",
            [model._meta.db_table, model._meta.db_table],
        )
        return int(cursor.fetchone()[0])


def measure_all(client, label: str, pages: list[tuple[str, str]], only: list[str]) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows = []
    for name, url in pages:
        if only and not any(part in name for part in only):
            continue
        start = time.perf_counter()
        response = client.get(url)
        runs = RUNS if (time.perf_counter() - start) * 1000 < SLOW_MS else 1
        times, sql_times, count = [], [], 0
        for _ in range(runs):
            with CaptureQueriesContext(connection) as captured:
                start = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
            sql_times.append(sum(float(query["time"]) for query in captured.captured_queries) * 1000)
            count = len(captured)
        assert response.status_code == 200, (url, response.status_code, response.content[:500])
        median, sql = statistics.median(times), statistics.median(sql_times)
        note = "" if runs == RUNS else "  (slow: timed once)"
        print(f"{name:55} {label:10} {median:10.1f} {sql:7.1f} {count:8d}{note}", flush=True)
        rows.append({"page": name, "user": label, "median_ms": median, "sql_ms": sql, "queries": count, "runs": runs})
    return rows


if __name__ == "__main__":
    main()
