"""The HTTP edge under gunicorn, the production server, on the test database.

What the Django test client cannot show: gunicorn de-chunks a body sent without
Content-Length and passes the raw request target (RAW_URI), so a chunked PUT is read in
full (or refused with 413 past MAX_REQUEST_BYTES), a ``%2F`` stays inside its identifier
and a byte that is not UTF-8 is a 400. One server for the module, started on a free port
of 127.0.0.1 against the test database (SQLite file or PostgreSQL, whichever the suite
runs on); the tests commit their data (``transaction=True``) so the server sees it.
"""

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from messages_app.clients import register_client
from messages_app.enums import ApiScope
from messages_app.models import Customer, Message
from tests.builders import CLIENT_NAME, CLIENT_SECRET, basic, database_url_of_the_test_database, minimal_message, url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
AUTHORIZATION = basic(CLIENT_NAME, CLIENT_SECRET)
MEGABYTE = 1024 * 1024


@dataclass
class Answer:
    status: int
    content_type: str
    body: Any

    @property
    def error_code(self) -> str:
        (error,) = self.body["errors"]
        return error["errorCode"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/communications/schema/")
        status = conn.getresponse().status
        conn.close()
    except OSError:
        return False
    return status == 200


def cannot_start(reason: str) -> None:
    """Skipped where gunicorn cannot start (a developer's machine); in CI (``CI`` set, as
    ``.ci/run`` runs) it must start, so it fails."""
    if os.environ.get("CI"):
        pytest.fail(f"gunicorn cannot start: {reason}")
    pytest.skip(f"gunicorn cannot start: {reason}")


@pytest.fixture(scope="module")
def port(django_db_setup, tmp_path_factory) -> Iterator[int]:
    """A gunicorn serving the project on the test database."""
    if not GUNICORN.exists():
        cannot_start(f"no {GUNICORN}")
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {
        **os.environ,
        "DEBUG": "false",
        "DATABASE_URL": database_url_of_the_test_database(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "AUTH_LOCKOUT_FAILURES": "1000000",
    }
    chosen = _free_port()
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603 (our own virtualenv's gunicorn)
            [str(GUNICORN), "comms_project.wsgi", "--bind", f"127.0.0.1:{chosen}", "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not _answers(chosen):
            if server.poll() is not None or time.monotonic() > deadline:
                cannot_start(log.read_text()[-2000:])
            time.sleep(0.2)
        yield chosen
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def send(
    port: int,
    method: str,
    target: str,
    body: bytes | None = None,
    *,
    chunked: bool = False,
    authorization: str = AUTHORIZATION,
) -> Answer:
    """One request through http.client (which sends the target as given); chunked in two parts."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    if chunked:
        conn.request(method, target, body=iter([body[:7], body[7:]]), headers=headers, encode_chunked=True)
    else:
        conn.request(method, target, body=body, headers=headers)
    response = conn.getresponse()
    answer = Answer(response.status, response.getheader("Content-Type", ""), json.loads(response.read()))
    conn.close()
    return answer


def send_chunked_while_reading(port: int, target: str, chunks: Iterator[bytes]) -> Answer:
    """A chunked PUT whose answer is read while the body is still being sent.

    The server answers 413 before the body's end and closes the connection; sending the
    rest then fails, which is expected, so the sender runs in a thread of its own.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    head = (
        f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {AUTHORIZATION}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()

    def sender() -> None:
        try:
            sock.sendall(head)
            for chunk in chunks:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass

    thread = threading.Thread(target=sender)
    thread.start()
    try:
        response = http.client.HTTPResponse(sock)
        response.begin()
        return Answer(response.status, response.getheader("Content-Type", ""), json.loads(response.read()))
    finally:
        with contextlib.suppress(OSError):  # already reset by the server
            sock.shutdown(socket.SHUT_RDWR)
        thread.join()
        sock.close()


def body_of(*items: dict[str, Any]) -> bytes:
    return json.dumps({"saveMessageRequestList": list(items)}).encode()


# --- Chunked bodies -------------------------------------------------------------------------


def test_a_chunked_put_is_read_in_full(port, api_client_record):
    answer = send(port, "PUT", url(), body_of(minimal_message(1), minimal_message(2)), chunked=True)

    assert answer.status == 200, answer.body
    assert answer.body["succesfullySubmittedSourceUuids"] == ["min-1", "min-2"]
    assert Message.objects.count() == 2


def forty_megabytes() -> Iterator[bytes]:
    """The start of a JSON body, then spaces: 40 MB in 1 MB chunks."""
    start = b'{"saveMessageRequestList": ['
    yield start + b" " * (MEGABYTE - len(start))
    for _ in range(39):
        yield b" " * MEGABYTE


def test_a_chunked_body_of_40_mb_is_413_request_too_large(port, api_client_record):
    answer = send_chunked_while_reading(port, url(), forty_megabytes())

    assert (answer.status, answer.content_type, answer.error_code) == (413, "application/json", "REQUEST_TOO_LARGE")
    assert not Message.objects.exists()


# --- Path identifiers from the raw target ----------------------------------------------------


@pytest.mark.parametrize(
    "segment", ["x%FFy", "x%ED%A0%80y", "x%C0%AFy"], ids=["byte-FF", "encoded-surrogate", "overlong-slash"]
)
def test_a_customer_uuid_that_is_not_utf8_is_400(port, api_client_record, segment):
    answer = send(port, "PUT", url(customer_uuid=segment), body_of(minimal_message(1)))

    assert (answer.status, answer.error_code) == (400, "INVALID_PATH_PARAMETER")
    assert not Customer.objects.exists()


def test_a_raw_byte_and_the_same_text_percent_encoded_are_not_the_same_customer(port, api_client_record):
    byte_answer = send(port, "PUT", url(customer_uuid="alias%FF"), body_of(minimal_message(1)))
    text_answer = send(port, "PUT", url(customer_uuid="alias%25FF"), body_of(minimal_message(2)))

    assert (byte_answer.status, byte_answer.error_code) == (400, "INVALID_PATH_PARAMETER")
    assert text_answer.status == 200, text_answer.body
    assert list(Customer.objects.values_list("uuid", flat=True)) == ["alias%FF"]


def test_a_base64_message_uuid_is_read_back_by_its_percent_encoded_path(port, api_client_record):
    stored = send(port, "PUT", url(), body_of(minimal_message(1, messageUuid="Ab+/cd/ef==")))

    answer = send(port, "GET", f"{url()}/Ab%2B%2Fcd%2Fef%3D%3D")

    assert stored.status == 200, stored.body
    assert answer.status == 200, answer.body
    assert answer.body["messageUuid"] == "Ab+/cd/ef=="


def test_a_customer_and_department_with_slashes_work_in_put_and_get(port, api_client_record):
    register_client(CLIENT_NAME, ["d/1"], ApiScope.values)
    target = url(department_uuid="d%2F1", customer_uuid="c%2F1")

    stored = send(port, "PUT", target, body_of(minimal_message(1)))
    listed = send(port, "GET", target)

    assert stored.status == 200, stored.body
    assert [item["sourceUuid"] for item in listed.body["results"]] == ["min-1"]
    customer = Customer.objects.get()
    assert (customer.department.uuid, customer.uuid) == ("d/1", "c/1")


# --- Paths no route takes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "status", "code"),
    [
        (f"{url()}/", 404, "NOT_FOUND"),
        ("/communications/schema", 404, "NOT_FOUND"),
        ("/communications/nothing-here", 404, "NOT_FOUND"),
        (f"{url()}/../historical", 400, "INVALID_PATH_PARAMETER"),
    ],
    ids=["trailing-slash", "schema-without-slash", "unknown-name", "dot-dot-segment"],
)
def test_a_path_no_route_takes_is_answered_in_the_envelope(port, api_client_record, target, status, code):
    answer = send(port, "GET", target)

    assert (answer.status, answer.content_type, answer.error_code) == (status, "application/json", code)
