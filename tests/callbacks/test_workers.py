"""The callback worker: deliveries of a task in parallel on keep-alive sessions, and tasks
of a worker that died reclaimed by another (``manage.py run_callback_worker``).

The crash test runs real workers as subprocesses against the test database (SQLite file or
PostgreSQL, whichever the suite runs on), so its data is committed (``transaction=True``).
"""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from messages_app import workers
from messages_app.clients import ensure_callback_secret, register_client
from messages_app.models import ApiClient, CallbackDelivery
from tests.builders import database_url_of_the_test_database, minimal_message

ROOT = Path(__file__).resolve().parents[2]
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


class Receiver:
    """A keep-alive (HTTP/1.1) loopback receiver that counts connections and requests in
    flight; ``hold`` makes the first POST wait until ``release`` (or 60 s)."""

    def __init__(self, *, delay: float = 0.0, hold: bool = False) -> None:
        self.webhook_ids: list[str] = []
        self.connections = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.held = threading.Event()
        self.release = threading.Event()
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with lock:
                    receiver.connections += 1

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    first = not receiver.webhook_ids
                    receiver.webhook_ids.append(self.headers["webhook-id"])
                    receiver.in_flight += 1
                    receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight)
                if hold and first:
                    receiver.held.set()
                    receiver.release.wait(60)
                time.sleep(delay)
                with lock:
                    receiver.in_flight -= 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def make_receiver(settings) -> Iterator[Callable[..., Receiver]]:
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.CALLBACK_TIMEOUT = (2, 20)
    started: list[Receiver] = []

    def make(**options: Any) -> Receiver:
        started.append(Receiver(**options))
        return started[-1]

    yield make
    for receiver in started:
        receiver.stop()


def hook(client: ApiClient, receiver: Receiver) -> None:
    register_client(client.name, [], callback_base_url=f"http://127.0.0.1:{receiver.port}/hooks/")
    ensure_callback_secret(client)


def items_with_callbacks(count: int) -> list[dict[str, Any]]:
    return [minimal_message(n, callBackPathUrl=f"items/{n}") for n in range(count)]


@pytest.mark.django_db(transaction=True)
def test_a_tasks_deliveries_are_sent_in_parallel_up_to_the_bound(put, api_client_record, make_receiver, settings):
    settings.TASKS = IMMEDIATE
    settings.CALLBACK_PARALLELISM = 4
    receiver = make_receiver(delay=0.5)
    hook(api_client_record, receiver)

    started = time.monotonic()
    assert put(items_with_callbacks(16)).status_code == 200
    elapsed = time.monotonic() - started

    assert len(receiver.webhook_ids) == 16
    assert receiver.most_in_flight == 4
    assert elapsed < 6  # 4 rounds of 0.5 s, plus the import; one after another: at least 8 s
    assert set(CallbackDelivery.objects.values_list("status", flat=True)) == {CallbackDelivery.Status.DELIVERED}


@pytest.mark.django_db(transaction=True)
def test_each_thread_keeps_one_connection_alive_for_all_its_deliveries(put, api_client_record, make_receiver, settings):
    settings.TASKS = IMMEDIATE
    settings.CALLBACK_PARALLELISM = 3
    receiver = make_receiver(delay=0.1)
    hook(api_client_record, receiver)

    assert put(items_with_callbacks(12)).status_code == 200

    assert len(receiver.webhook_ids) == 12
    assert receiver.connections == 3


@pytest.mark.django_db(transaction=True)
def test_one_delivery_at_a_time_with_parallelism_one(put, api_client_record, make_receiver, settings):
    settings.TASKS = IMMEDIATE
    settings.CALLBACK_PARALLELISM = 1
    receiver = make_receiver(delay=0.05)
    hook(api_client_record, receiver)

    assert put(items_with_callbacks(5)).status_code == 200

    assert receiver.most_in_flight == 1
    assert receiver.connections == 1


def running_task(*, started_ago: float, lease_in: float | None) -> DBTaskResult:
    now = timezone.now()
    return DBTaskResult.objects.create(
        status=TaskResultStatus.RUNNING,
        args_kwargs={"args": [[]], "kwargs": {}},
        task_path="messages_app.tasks.deliver_callbacks",
        backend_name="default",
        started_at=now - timedelta(seconds=started_ago),
        run_after=get_date_max() if lease_in is None else now + timedelta(seconds=lease_in),
        worker_ids=["gone"],
    )


@pytest.mark.django_db
def test_only_running_tasks_past_the_stale_time_with_no_live_lease_are_reclaimed(settings):
    settings.TASK_STALE_SECONDS = 60
    never_leased = running_task(started_ago=120, lease_in=None)
    lease_expired = running_task(started_ago=600, lease_in=-1)
    lease_live = running_task(started_ago=600, lease_in=30)
    just_started = running_task(started_ago=5, lease_in=None)

    assert workers.reclaim_stale_tasks() == 2

    statuses = dict(DBTaskResult.objects.values_list("pk", "status"))
    assert statuses[never_leased.pk] == statuses[lease_expired.pk] == TaskResultStatus.READY
    assert statuses[lease_live.pk] == statuses[just_started.pk] == TaskResultStatus.RUNNING
    assert DBTaskResult.objects.ready().count() == 2  # to run now


@pytest.mark.django_db
def test_a_renewed_lease_keeps_a_long_task_from_being_reclaimed(settings):
    settings.TASK_STALE_SECONDS = 60
    task = running_task(started_ago=600, lease_in=None)

    assert workers.renew_lease(task.pk)

    assert workers.reclaim_stale_tasks() == 0
    task.status = TaskResultStatus.SUCCESSFUL
    task.save()
    assert not workers.renew_lease(task.pk)  # a finished task is left alone


def start_worker(log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "test-worker-secret-key-not-for-production",
        "DATABASE_URL": database_url_of_the_test_database(),
        "CALLBACK_ALLOWED_HOSTS": "127.0.0.1",
        "TASK_STALE_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "manage.py", "run_callback_worker", "--no-startup-delay", "--no-reload"]
    with log.open("ab") as output:
        return subprocess.Popen(  # noqa: S603 (our own interpreter and manage.py)
            [*command, "--interval", "0.1"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )


def wait_for(condition: Callable[[], bool], seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {seconds} s; worker log:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_a_task_whose_worker_is_killed_mid_delivery_is_reclaimed_and_finished_by_another(
    put, api_client_record, make_receiver, settings, tmp_path
):
    settings.TASKS = DATABASE
    receiver = make_receiver(hold=True)
    hook(api_client_record, receiver)
    assert put({"callBackPathUrl": "done", "saveMessageRequestList": items_with_callbacks(3)}).status_code == 200
    task = DBTaskResult.objects.get()
    log = tmp_path / "workers.log"

    first = start_worker(log)
    try:
        wait_for(receiver.held.is_set, 60, "the first worker did not POST", log)
        delivered = CallbackDelivery.objects.filter(status=CallbackDelivery.Status.DELIVERED)
        wait_for(lambda: delivered.count() == 3, 30, "the other deliveries were not delivered", log)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    held = CallbackDelivery.objects.get(status=CallbackDelivery.Status.PENDING)
    assert held.attempt_count == 0
    task.refresh_from_db()
    assert task.status == TaskResultStatus.RUNNING  # the dead worker's task, as db_worker leaves it

    second = start_worker(log)
    try:
        task_row = DBTaskResult.objects.filter(pk=task.pk)
        wait_for(lambda: task_row.get().status == TaskResultStatus.SUCCESSFUL, 60, "the task was not finished", log)
    finally:
        second.terminate()
        second.wait(30)

    held.refresh_from_db()
    assert held.status == CallbackDelivery.Status.DELIVERED
    assert held.attempt_count == 1
    assert len(task_row.get().worker_ids) == 2
    assert sorted(receiver.webhook_ids) == sorted(
        [held.webhook_id, *CallbackDelivery.objects.values_list("webhook_id", flat=True)]
    )  # the held delivery twice (at-least-once), each other one once
