"""EXPLAIN (ANALYZE) every query of the admin list pages and the read API's list, read-only.

    SECRET_KEY=bench DATABASE_URL=postgres://postgres@127.0.0.1:5432/comms_big \\
        .venv/bin/python benchmarks/explain_pages.py [NAME ...]

Where ``admin_pages.py`` times pages (and so writes its users and sessions), this builds
the same change lists and API pages in-process without a session or a user row (an
unsaved superuser, and an unsaved staff member of the first department), runs them in a
read-only session with a 30-second statement timeout, and prints the plan of each query
that took more than 1 ms, so a slow page shows which index it lacks. Safe on a database
that must not be written to. With NAMEs, only the pages whose name contains one of them.
"""

import os
import sys
import time
from pathlib import Path
from typing import Any

SHOW_MS = 1.0


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms_project.settings")
    import django

    django.setup()
    from django.db import connection

    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SET default_transaction_read_only = on")
        cursor.execute("SET statement_timeout = '30s'")
        cursor.execute("SET lock_timeout = '5s'")
    only = sys.argv[1:]
    for name, run in pages():
        if not only or any(part in name for part in only):
            explain(name, run)


def pages() -> list[tuple[str, Any]]:
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.db.models import Max, Min
    from django.test import RequestFactory
    from django.urls import resolve

    from messages_app.admin.paging import encode_edge
    from messages_app.models import Conversation, Department, ImportBatch, Message

    department = Department.objects.order_by("pk").first()
    big = Conversation.objects.filter(department=department).order_by("-total_message_count").first()
    middle = Message.objects.filter(customer_id=big.customer_id).order_by("message_at", "pk")[
        big.total_message_count // 2
    ]
    bounds = Message.objects.aggregate(first=Min("message_at"), last=Max("message_at"))
    deep_time = bounds["first"] + (bounds["last"] - bounds["first"]) * 0.05
    deep = Message.objects.filter(message_at__gte=deep_time).order_by("message_at", "id").first()
    deep_edge = encode_edge(deep.message_at, deep.pk)
    batch = ImportBatch.objects.filter(department=department).order_by("pk").first()
    factory = RequestFactory()
    user_model = get_user_model()
    superuser = user_model(username="explain-root", is_staff=True, is_superuser=True, is_active=True)
    staff = user_model(username="explain-staff", is_staff=True, is_active=True)

    def changelist(model: Any, params: dict[str, str], user: Any) -> Any:
        def run() -> None:
            path = f"/admin/messages_app/{model._meta.model_name}/"
            request = factory.get(path, params)
            request.user = user
            request.resolver_match = resolve(path)
            if not user.is_superuser:
                request._comms_department_ids = frozenset({department.pk})
            changelist = admin.site._registry[model].get_changelist_instance(request)
            list(changelist.result_list)

        return run

    def api_list(params: dict[str, str]) -> Any:
        def run() -> None:
            from rest_framework.request import Request

            from messages_app.api.filters import MessageFilterSet
            from messages_app.api.pagination import MessageCursorPagination
            from messages_app.models import Customer

            request = Request(factory.get("/communications/x", params))
            customer_id = (
                Customer.objects.filter(department=department, uuid=big.customer.uuid)
                .values_list("pk", flat=True)
                .first()
            )
            queryset = Message.objects.filter(department=department, customer_id=customer_id)
            queryset = MessageFilterSet(data=request.query_params, queryset=queryset, request=request).qs
            MessageCursorPagination().paginate_queryset(queryset, request)

        return run

    import base64
    from urllib.parse import urlencode

    cursor = base64.b64encode(urlencode({"p": f"{middle.message_at.isoformat()},{middle.pk}"}).encode()).decode()
    result = []
    for label, user in (("superuser", superuser), ("staff", staff)):
        for name, params in (
            ("message list", {}),
            ("message list, ?p=500", {"p": "500"}),
            ("message list, older 95% back", {"before": deep_edge}),
            ("message list, oldest", {"after": "start"}),
            ("message list, type=NOTE", {"type__exact": "NOTE"}),
            ("message list, type=NOTE, older 95% back", {"type__exact": "NOTE", "before": deep_edge}),
            ("message list, purpose=RECALL", {"purpose__exact": "RECALL"}),
            ("message list, trashed", {"is_trashed__exact": "1"}),
            ("message list, hidden", {"hidden": "yes"}),
            ("message list, corrected", {"corrected": "yes"}),
            ("message list, year 2022", {"message_at__year": "2022"}),
            ("message list, one department", {"department": str(department.pk)}),
            ("message list, one customer", {"customer__id__exact": str(big.customer_id)}),
            ("message list, one batch", {"created_batch__id__exact": str(batch.pk)}),
        ):
            result.append((f"{name} ({label})", changelist(Message, params, user)))
        result.append((f"conversation list ({label})", changelist(Conversation, {}, user)))
        result.append((f"conversation list, page 20 ({label})", changelist(Conversation, {"p": "20"}, user)))
        result.append((f"import batch list ({label})", changelist(ImportBatch, {}, user)))
    for name, params in (
        ("first page", {}),
        ("middle (cursor)", {"cursor": cursor}),
        ("type=NOTE", {"type": "NOTE"}),
        ("purpose=RECALL", {"purpose": "RECALL"}),
        ("trashed and hidden too", {"includeTrashed": "true", "includeHidden": "true"}),
        ("tag (no match)", {"tag": "no-such-tag-type"}),
        ("isManual", {"isManual": "true"}),
        ("sentOnAfter", {"sentOnAfter": middle.message_at.isoformat()}),
        ("receivedOnBefore", {"receivedOnBefore": middle.message_at.isoformat()}),
    ):
        result.append((f"API list {big.total_message_count} msgs, {name}", api_list(params)))
    return result


def explain(name: str, run: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        start = time.perf_counter()
        run()
        total = (time.perf_counter() - start) * 1000
    sql_ms = sum(float(query["time"]) for query in captured.captured_queries) * 1000
    print(f"=== {name}: {len(captured)} queries, {sql_ms:.1f} ms SQL, {total:.1f} ms in all", flush=True)
    for query in captured.captured_queries:
        if float(query["time"]) * 1000 < SHOW_MS or not query["sql"].lstrip().upper().startswith("SELECT"):
            continue
        print(f"--- {float(query['time']) * 1000:.1f} ms: {query['sql'][:300]}")
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
            print("\n".join(row[0] for row in cursor.fetchall()), flush=True)


if __name__ == "__main__":
    main()
