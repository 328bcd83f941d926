"""Two app hosts share the API login lockout only through a shared cache: why production
sets ``CACHE_URL=rediscache://…``.

Two gunicorn processes (two "hosts", one worker each, on free ports of 127.0.0.1) serve
the same test database. Wrong secrets sent to host A lock the client out; the right
secret sent to host B then answers 429 when the failures are counted in Redis, and 200
with the default per-process cache, where host B never saw them. The client's name is
new for every run, so its counters (keyed by name and address) meet no other run's in
the shared Redis; they are removed afterwards.
"""

import contextlib
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from messages_app.api.authentication import _keys
from messages_app.clients import register_client
from messages_app.enums import ApiScope
from tests.api.test_live_gunicorn import GUNICORN, ROOT, _answers, _free_port, cannot_start, send
from tests.builders import CLIENT_SECRET, basic, database_url_of_the_test_database, minimal_message, url

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_CACHE_URL = "rediscache://127.0.0.1:6379/0"
FAILURES = 3
WRONG_SECRET = "not-the-secret-of-this-client-000"


@contextlib.contextmanager
def hosts(count: int, cache_url: str, logs: Path) -> Iterator[list[int]]:
    """``count`` gunicorn processes on the test database with the lockout counters in ``cache_url``."""
    if not GUNICORN.exists():
        cannot_start(f"no {GUNICORN}")
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "two-hosts-test-" + "x" * 40,
        "DATABASE_URL": database_url_of_the_test_database(),
        "CACHE_URL": cache_url,
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "AUTH_LOCKOUT_FAILURES": str(FAILURES),
    }
    servers: list[tuple[int, subprocess.Popen, Path]] = []
    try:
        for number in range(count):
            port, log = _free_port(), logs / f"host-{number}.log"
            with log.open("wb") as output:
                server = subprocess.Popen(  # noqa: S603 (our own virtualenv's gunicorn)
                    [str(GUNICORN), "comms_project.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                    cwd=ROOT,
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            servers.append((port, server, log))
        deadline = time.monotonic() + 60
        for port, server, log in servers:
            while not _answers(port):
                if server.poll() is not None or time.monotonic() > deadline:
                    cannot_start(log.read_text()[-2000:])
                time.sleep(0.2)
        yield [port for port, _, _ in servers]
    finally:
        for _, server, _ in servers:
            server.terminate()
        for _, server, _ in servers:
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def put_as(port: int, name: str, secret: str) -> tuple[int, list[str]]:
    """A one-item PUT with these Basic credentials: the status and the error codes."""
    body = json.dumps({"saveMessageRequestList": [minimal_message(1)]}).encode()
    answer = send(port, "PUT", url(), body, authorization=basic(name, secret))
    return answer.status, [error["errorCode"] for error in answer.body.get("errors", [])]


@pytest.fixture
def client_name(department) -> str:
    name = f"two-hosts-{uuid.uuid4().hex[:12]}"
    register_client(name, [department.uuid], ApiScope.values, secret=CLIENT_SECRET)
    return name


@pytest.fixture
def redis_url(client_name) -> Iterator[str]:
    """The Redis on this machine (``.ci/run`` starts one); this client's counters removed after."""
    import redis

    server = redis.Redis.from_url(REDIS_CACHE_URL.replace("rediscache", "redis"), socket_connect_timeout=1)
    try:
        server.ping()
    except redis.ConnectionError as error:
        if os.environ.get("REQUIRE_REDIS") or os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis server at {REDIS_CACHE_URL} ({error}); .ci/run starts one")
    yield REDIS_CACHE_URL
    server.delete(*(f":1:{key}" for key in _keys(client_name, "127.0.0.1")))  # Django's default key format


def test_with_counters_in_redis_a_lockout_on_one_host_holds_on_the_other(client_name, redis_url, tmp_path):
    with hosts(2, redis_url, tmp_path) as (host_a, host_b):
        failed = [put_as(host_a, client_name, WRONG_SECRET)[0] for _ in range(FAILURES)]
        answer = put_as(host_b, client_name, CLIENT_SECRET)

    assert failed == [401] * FAILURES
    assert answer == (429, ["TOO_MANY_FAILED_LOGINS"])


def test_with_the_default_per_process_cache_another_host_never_sees_the_lockout(client_name, tmp_path):
    """Why production needs a shared cache: with ``locmemcache://`` each process counts alone."""
    with hosts(2, "locmemcache://", tmp_path) as (host_a, host_b):
        failed = [put_as(host_a, client_name, WRONG_SECRET)[0] for _ in range(FAILURES)]
        locked_on_a = put_as(host_a, client_name, CLIENT_SECRET)
        answer = put_as(host_b, client_name, CLIENT_SECRET)

    assert failed == [401] * FAILURES
    assert locked_on_a == (429, ["TOO_MANY_FAILED_LOGINS"])
    assert answer == (200, [])
