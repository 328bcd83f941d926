"""Callback throughput on PostgreSQL: deliveries/s and tasks/s with 1, 2 and 4 workers.

    .venv/bin/python benchmarks/callback_workers.py                        # the README's run
    .venv/bin/python benchmarks/callback_workers.py --deliveries 500 --workers 1,2   # smoke run

Options: ``--deliveries N`` per run (default 2000); ``--batch B`` deliveries per task,
as one import batch with callbacks enqueues them (default 100); ``--single N`` also runs
N one-delivery tasks per worker count, to show the per-task cost (default 400; 0 skips);
``--workers 1,2,4``; ``--parallelism P`` (CALLBACK_PARALLELISM, default 8); ``--server
URL`` the PostgreSQL server (default postgres://postgres@127.0.0.1:5432); ``--database
NAME`` (default comms_bench_callbacks), dropped and created, dropped again at the end.

The receiver is a separate process on 127.0.0.1 (HTTP/1.1, keep-alive) answering 200 at
once. Workers are ``manage.py run_callback_worker`` subprocesses with the production
settings (DEBUG=false, CONN_MAX_AGE=600, CONN_HEALTH_CHECKS=true, --interval 0.1). For
each worker count: the delivery and task tables are emptied, the workers started and
seen polling, then all tasks are enqueued in one transaction (N deliveries, N/B tasks)
and the clock runs from its commit until no delivery is pending; every delivery must
then be delivered, each once (the receiver's count).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import secrets
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.value += 1  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(port: int, received: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    server.daemon_threads = True
    server.received = received  # type: ignore[attr-defined]
    server.serve_forever()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--single", type=int, default=400)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="comms_bench_callbacks")
    args = parser.parse_args(argv)
    if not args.database.replace("_", "").isalnum():
        parser.error("--database must be letters, digits and underscores")
    args.worker_counts = [int(value) for value in args.workers.split(",")]
    return args


def recreate_database(server: str, name: str, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(f"{server.rstrip('/')}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if not drop_only:
            admin.execute(f"CREATE DATABASE {name}")


def start_workers(count: int, log: Path) -> list[subprocess.Popen[bytes]]:
    """Start ``count`` workers and wait until each has logged that it polls."""
    command = [sys.executable, "manage.py", "run_callback_worker", "--no-startup-delay", "--no-reload"]
    workers = []
    for number in range(count):
        path = log.with_suffix(f".{number}.log")
        path.write_bytes(b"")
        with path.open("ab") as output:
            workers.append(
                subprocess.Popen([*command, "--interval", "0.1"], cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
            )
    deadline = time.monotonic() + 60
    for number, worker in enumerate(workers):
        path = log.with_suffix(f".{number}.log")
        while b"Starting worker" not in path.read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {number} did not start:\n{path.read_text()[-2000:]}")
            time.sleep(0.05)
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def run_once(workers: int, deliveries: int, batch: int, received: Any, base_url: str, log: Path) -> float:
    """Seconds from the enqueue's commit until no delivery is pending."""
    from django.db import connection, transaction
    from django_tasks_db.models import DBTaskResult

    from messages_app.models import ApiClient, CallbackDelivery, Department, ImportBatch
    from messages_app.tasks import deliver_callbacks

    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {CallbackDelivery._meta.db_table}, {DBTaskResult._meta.db_table} RESTART IDENTITY CASCADE"
        )
        cursor.execute("ANALYZE")
    received.value = 0
    client = ApiClient.objects.get()
    department = Department.objects.get()
    started = start_workers(workers, log)
    try:
        with transaction.atomic():
            for first in range(0, deliveries, batch):
                import_batch = ImportBatch.objects.create(source="api", department=department, client=client)
                rows = CallbackDelivery.objects.bulk_create(
                    CallbackDelivery(
                        department=department,
                        batch=import_batch,
                        client=client,
                        kind=CallbackDelivery.Kind.ITEM,
                        url=f"{base_url}items/{n}",
                        payload={"n": n},
                        webhook_id=f"msg_{secrets.token_hex(16)}",
                    )
                    for n in range(first, min(first + batch, deliveries))
                )
                deliver_callbacks.enqueue([row.pk for row in rows])
        clock = time.monotonic()
        pending = CallbackDelivery.objects.filter(status=CallbackDelivery.Status.PENDING)
        while pending.exists():
            time.sleep(0.02)
        elapsed = time.monotonic() - clock
    finally:
        stop_workers(started)
    delivered = CallbackDelivery.objects.filter(status=CallbackDelivery.Status.DELIVERED).count()
    if delivered != deliveries or received.value != deliveries:
        raise RuntimeError(f"{delivered} delivered, {received.value} received, of {deliveries}")
    return elapsed


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    os.environ.update(
        {
            "DATABASE_URL": f"{args.server.rstrip('/')}/{args.database}",
            "DJANGO_SETTINGS_MODULE": "comms_project.settings",
            "DEBUG": "false",
            "SECRET_KEY": f"bench-{secrets.token_urlsafe(32)}",
            "LOG_LEVEL": "WARNING",
            "CONN_MAX_AGE": "600",
            "CONN_HEALTH_CHECKS": "true",
            "CALLBACK_ALLOWED_HOSTS": "127.0.0.1",
            "CALLBACK_PARALLELISM": str(args.parallelism),
        }
    )
    sys.path.insert(0, str(ROOT))
    recreate_database(args.server, args.database)
    port = free_port()
    received = multiprocessing.Value("q", 0, lock=False)
    receiver = multiprocessing.Process(target=_serve, args=(port, received), daemon=True)
    receiver.start()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"callback-bench-{os.getpid()}"
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        from messages_app.clients import ensure_callback_secret, register_client

        call_command("migrate", interactive=False, verbosity=0)
        base_url = f"http://127.0.0.1:{port}/hooks/"
        client, _ = register_client("bench", ["bench-department"], callback_base_url=base_url)
        ensure_callback_secret(client)
        print(f"PostgreSQL, CALLBACK_PARALLELISM={args.parallelism}, receiver answering 200 at once")
        print(
            f"{'workers':>7} | {'deliveries per task':>19} | {'deliveries':>10} | {'seconds':>7} | "
            f"{'deliveries/s':>12} | {'tasks/s':>7}"
        )
        print(f"{'-' * 7}-+-{'-' * 19}-+-{'-' * 10}-+-{'-' * 7}-+-{'-' * 12}-+-{'-' * 7}")
        shapes = [(args.deliveries, args.batch)] + ([(args.single, 1)] if args.single else [])
        for deliveries, batch in shapes:
            for workers in args.worker_counts:
                seconds = run_once(workers, deliveries, batch, received, base_url, log)
                tasks = -(-deliveries // batch)
                print(
                    f"{workers:>7} | {batch:>19} | {deliveries:>10} | {seconds:>7.2f} | "
                    f"{deliveries / seconds:>12.0f} | {tasks / seconds:>7.1f}",
                    flush=True,
                )
        connections.close_all()
        return 0
    finally:
        receiver.terminate()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        recreate_database(args.server, args.database, drop_only=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
