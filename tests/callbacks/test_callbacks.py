"""callBackPathUrl delivery (DESIGN.md §3.3): signed POSTs to a real loopback receiver,
retries, transactional enqueue, and the SSRF refusals.

The task runs on django-tasks' ImmediateBackend: enqueued on commit, it runs in-process,
so a test sees the POSTs once the import's transaction has committed.
"""

import base64
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY
from standardwebhooks.webhooks import Webhook

from messages_app import tasks
from messages_app.callbacks import delivery as callback_delivery
from messages_app.callbacks import policy
from messages_app.clients import ensure_callback_secret, register_client
from messages_app.errors import WarningCode
from messages_app.ingest import ingest_messages
from messages_app.models import ApiClient, CallbackAttempt, CallbackDelivery, Message
from tests.builders import CUSTOMER_UUID, minimal_message

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


class Receiver:
    """An HTTP server on loopback that records every POST and answers from a script."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                code, headers = receiver.script.pop(0) if receiver.script else (204, {})
                self.send_response(code)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.TASKS = IMMEDIATE
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.CALLBACK_BACKOFF_BASE_SECONDS = 0
    settings.CALLBACK_MAX_ATTEMPTS = 3
    settings.CALLBACK_TIMEOUT = (2, 5)
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def hooked_client(api_client_record: ApiClient, receiver: Receiver) -> ApiClient:
    """The test client, registered for callbacks on the receiver."""
    client, _ = register_client(
        api_client_record.name, [], callback_base_url=receiver.base, callback_origins=["https://hooks.example"]
    )
    ensure_callback_secret(client)
    return client


def item_with_callback(n: int, path: str) -> dict[str, Any]:
    return minimal_message(n, callBackPathUrl=path)


def assert_signed(request: dict[str, Any], secret: str) -> Any:
    """Verify as a receiver would (standardwebhooks), and check the scheme by hand too."""
    headers = request["headers"]
    webhook_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + request["body"], hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()
    return Webhook(secret).verify(request["body"], headers)


@pytest.mark.django_db(transaction=True)
def test_request_and_item_callbacks_arrive_signed_with_their_bodies(put, hooked_client, receiver):
    body = {
        "callBackPathUrl": "/batch-done",
        "saveMessageRequestList": [item_with_callback(1, "items/1"), minimal_message(2), item_with_callback(3, "i/3")],
    }
    response = put(body)
    assert response.status_code == 200
    answer = response.json()
    assert not [w for w in answer["warnings"] if w["warningCode"] == WarningCode.CALLBACK_REFUSED]
    by_path = {request["path"]: request for request in receiver.requests}
    assert sorted(by_path) == ["/hooks/batch-done", "/hooks/i/3", "/hooks/items/1"]
    assert assert_signed(by_path["/hooks/batch-done"], hooked_client.callback_secret) == answer
    assert assert_signed(by_path["/hooks/items/1"], hooked_client.callback_secret) == answer["saveMessageResponse"][0]
    assert assert_signed(by_path["/hooks/i/3"], hooked_client.callback_secret) == answer["saveMessageResponse"][2]
    assert all(r["headers"]["Content-Type"] == "application/json" for r in receiver.requests)
    assert set(CallbackDelivery.objects.values_list("status", flat=True)) == {CallbackDelivery.Status.DELIVERED}
    assert list(CallbackAttempt.objects.values_list("response_code", flat=True)) == [204, 204, 204]


@pytest.mark.django_db(transaction=True)
def test_a_receiver_failing_twice_gets_three_attempts_with_one_webhook_id(put, hooked_client, receiver):
    receiver.script = [(500, {}), (429, {"Retry-After": "0"}), (200, {})]
    response = put({"callBackPathUrl": "done", "saveMessageRequestList": [minimal_message(1)]})
    assert response.status_code == 200
    assert len(receiver.requests) == 3
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
    delivery = CallbackDelivery.objects.get()
    assert delivery.status == CallbackDelivery.Status.DELIVERED
    assert delivery.attempt_count == 3
    attempts = list(delivery.attempts.values_list("number", "status", "response_code"))
    assert attempts == [(1, "failed", 500), (2, "failed", 429), (3, "delivered", 200)]


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_keeps_failing_is_marked_failed_after_the_limit(put, hooked_client, receiver):
    receiver.script = [(503, {})] * 5
    put({"callBackPathUrl": "done", "saveMessageRequestList": [minimal_message(1)]})
    assert len(receiver.requests) == 3  # CALLBACK_MAX_ATTEMPTS
    delivery = CallbackDelivery.objects.get()
    assert delivery.status == CallbackDelivery.Status.FAILED
    assert delivery.last_error == "HTTP 503"


@pytest.mark.django_db(transaction=True)
def test_client_errors_and_redirects_are_not_retried_nor_followed(put, hooked_client, receiver):
    receiver.script = [(302, {"Location": f"http://127.0.0.1:{receiver.port}/elsewhere"}), (400, {})]
    put({"callBackPathUrl": "done", "saveMessageRequestList": [item_with_callback(1, "one")]})
    assert sorted(r["path"] for r in receiver.requests) == ["/hooks/done", "/hooks/one"]
    assert set(CallbackDelivery.objects.values_list("status", flat=True)) == {CallbackDelivery.Status.FAILED}


@pytest.mark.django_db(transaction=True)
def test_network_errors_are_retried_then_marked_failed(put, hooked_client, receiver):
    with socket.socket() as probe:  # a loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    ApiClient.objects.filter(pk=hooked_client.pk).update(callback_base_url=f"http://127.0.0.1:{closed_port}/")
    put({"callBackPathUrl": "done", "saveMessageRequestList": [minimal_message(1)]})
    delivery = CallbackDelivery.objects.get()
    assert delivery.status == CallbackDelivery.Status.FAILED
    assert delivery.attempts.count() == 3
    assert "ConnectionError" in delivery.last_error


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_import_sends_nothing(department, hooked_client, receiver):
    with pytest.raises(RuntimeError), transaction.atomic():
        ingest_messages(
            department=department,
            customer_uuid=CUSTOMER_UUID,
            items=[item_with_callback(1, "one")],
            client=hooked_client,
            callback_path_url="done",
        )
        assert CallbackDelivery.objects.count() == 2  # enqueued inside the transaction...
        raise RuntimeError("the caller's transaction fails")
    assert receiver.requests == []  # ...and gone with it
    assert CallbackDelivery.objects.count() == 0
    assert Message.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_sends_nothing_and_gives_the_same_warnings(put, hooked_client, receiver):
    body = {"callBackPathUrl": "http://10.0.0.1/x", "saveMessageRequestList": [item_with_callback(1, "one")]}
    answer = put(body, query="?dryRun=true").json()
    assert {w["warningCode"] for w in answer["warnings"]} == {WarningCode.CALLBACK_REFUSED, WarningCode.DRY_RUN}
    assert receiver.requests == []
    assert CallbackDelivery.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_resend_makes_a_new_round_of_attempts(put, hooked_client, receiver):
    receiver.script = [(500, {})] * 3
    put({"callBackPathUrl": "done", "saveMessageRequestList": [minimal_message(1)]})
    delivery = CallbackDelivery.objects.get()
    assert delivery.status == CallbackDelivery.Status.FAILED
    assert tasks.resend(CallbackDelivery.objects.all()) == 1
    delivery.refresh_from_db()
    assert delivery.status == CallbackDelivery.Status.DELIVERED
    assert list(delivery.attempts.values_list("number", flat=True)) == [1, 2, 3, 4]
    assert len(receiver.requests) == 4


@pytest.mark.django_db(transaction=True)
def test_dns_rebinding_is_refused_at_connection_time(hooked_client, receiver, monkeypatch):
    """The name was public when accepted; when the worker connects it points at loopback."""
    answer = ["93.184.216.34"]
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer[0], port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    ApiClient.objects.filter(pk=hooked_client.pk).update(callback_origins=[f"http://rebind.example:{receiver.port}"])
    hooked_client.refresh_from_db()
    url = policy.resolve_callback_url(hooked_client, f"http://rebind.example:{receiver.port}/x")
    answer[0] = "127.0.0.1"
    delivery = CallbackDelivery.objects.create(
        department=hooked_client.grants.first().department,
        batch=_batch(hooked_client),
        client=hooked_client,
        kind=CallbackDelivery.Kind.REQUEST,
        url=url,
        payload={"x": 1},
        webhook_id="msg_rebind",
    )
    assert callback_delivery.attempt_delivery(delivery.pk) is None  # refused: not retried
    delivery.refresh_from_db()
    assert delivery.status == CallbackDelivery.Status.FAILED
    assert "not a public address" in delivery.last_error
    assert receiver.requests == []


def _batch(client: ApiClient) -> Any:
    from messages_app.models import ImportBatch

    return ImportBatch.objects.create(source="api", department=client.grants.first().department, client=client)


REFUSED_BY_ADDRESS = [
    "http://10.0.0.1/x",
    "http://192.168.1.1/x",
    "http://172.16.0.1/x",
    "http://localhost:{port}/x",
    "http://[::1]:{port}/x",
    "http://0x7f.1:{port}/x",
    "http://2130706433:{port}/x",
    "http://[::ffff:127.0.0.1]:{port}/x",
    "http://[::ffff:10.0.0.1]/x",
    "http://100.64.0.1/x",
    "http://169.254.169.254/latest/meta-data",
    "http://[fe80::1]/x",
    "http://[fc00::1]/x",
    "http://224.0.0.1/x",
    "http://240.0.0.1/x",
    "http://0.0.0.0:{port}/x",
    "http://[::]:{port}/x",
    "http://[ff02::1]/x",
    "http://[2002:7f00:1::]/x",  # 6to4 around 127.0.0.1
]


@pytest.mark.django_db
@pytest.mark.parametrize("template", REFUSED_BY_ADDRESS)
def test_private_loopback_link_local_and_reserved_targets_are_refused(hooked_client, receiver, template):
    """Even on a registered origin: the address check is what refuses these."""
    target = template.format(port=receiver.port)
    hooked_client.callback_origins = [policy.origin_of(target)]
    with pytest.raises(policy.CallbackRefused, match="not a public address"):
        policy.resolve_callback_url(hooked_client, target)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("https://evil.example/x", "origin"),
        ("//evil.example/x", "scheme-relative"),
        ("http://hooks.example/x", "origin"),  # registered as https only
        ("file:///etc/passwd", "http and https"),
        ("gopher://127.0.0.1:70/_x", "http and https"),
        ("javascript:alert(1)", "http and https"),
        ("../../escape", "leaves"),
        ("http://user:pw@127.0.0.1:1/x", "origin|credentials"),
        ("/a b", "whitespace"),
    ],
)
def test_other_origins_schemes_and_escapes_are_refused(hooked_client, receiver, value, reason):
    with pytest.raises(policy.CallbackRefused, match=reason):
        policy.resolve_callback_url(hooked_client, value)


@pytest.mark.django_db
def test_allowed_targets_resolve(hooked_client, receiver):
    assert policy.resolve_callback_url(hooked_client, "/a/b?c=1") == f"{receiver.base}a/b?c=1"
    assert policy.resolve_callback_url(hooked_client, f"{receiver.base}z") == f"{receiver.base}z"


@pytest.mark.django_db(transaction=True)
def test_refused_urls_warn_send_nothing_and_the_import_succeeds(put, hooked_client, receiver):
    ApiClient.objects.filter(pk=hooked_client.pk).update(
        callback_origins=[f"http://localhost:{receiver.port}", "http://10.0.0.1"]
    )
    body = {
        "callBackPathUrl": f"http://localhost:{receiver.port}/x",
        "saveMessageRequestList": [
            item_with_callback(1, "http://10.0.0.1/x"),
            item_with_callback(2, "https://other.example/x"),
            item_with_callback(3, "file:///etc/passwd"),
        ],
    }
    answer = put(body).json()
    assert answer["succesfullySubmittedSourceUuids"] == ["min-1", "min-2", "min-3"]
    assert [(w["warningCode"], w["warningDescription"].split(":")[0]) for w in answer["warnings"]] == [
        (WarningCode.CALLBACK_REFUSED, "callBackPathUrl")
    ]
    for index, entry in enumerate(answer["saveMessageResponse"]):
        assert [w["warningCode"] for w in entry["warnings"]] == [WarningCode.CALLBACK_REFUSED], index
    assert receiver.requests == []
    assert CallbackDelivery.objects.count() == 0
    assert Message.objects.count() == 3


@pytest.mark.django_db
def test_without_callback_registration_a_path_is_refused(put, api_client_record):
    answer = put({"callBackPathUrl": "/done", "saveMessageRequestList": [minimal_message(1)]}).json()
    assert answer["warnings"][0]["warningCode"] == WarningCode.CALLBACK_REFUSED
    assert "registered" in answer["warnings"][0]["warningDescription"]


@pytest.mark.django_db
def test_enqueue_is_one_insert_whatever_the_number_of_items(put, hooked_client):
    """Deliveries go in with one bulk insert: the query count does not grow with the items."""

    def queries_for(count: int, offset: int) -> int:
        items = [item_with_callback(offset + n, f"i/{n}") for n in range(count)]
        with CaptureQueriesContext(connection) as captured:
            response = put({"callBackPathUrl": "d", "saveMessageRequestList": items})
        assert response.status_code == 200
        assert response.json()["succesfullySubmittedSourceUuids"] == [item["sourceUuid"] for item in items]
        inserts = [q for q in captured.captured_queries if "INSERT" in q["sql"] and "callbackdelivery" in q["sql"]]
        assert len(inserts) == 1
        return len(captured.captured_queries)

    put([minimal_message(999)])  # the customer exists for both counts
    assert queries_for(2, 0) == queries_for(20, 100)
    assert CallbackDelivery.objects.count() == 2 + 1 + 20 + 1


def test_signature_is_standard_webhooks_hmac_over_id_timestamp_body():
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    body = json.dumps({"a": "é"}, ensure_ascii=False).encode()
    expected = hmac.new(b"k" * 32, b"msg_1.1700000000." + body, hashlib.sha256).digest()
    assert callback_delivery.sign(secret, "msg_1", 1700000000, body) == "v1," + base64.b64encode(expected).decode()


def test_backoff_is_exponential_capped_and_jittered(settings):
    settings.CALLBACK_BACKOFF_BASE_SECONDS = 10
    settings.CALLBACK_BACKOFF_MAX_SECONDS = 100
    for attempt, step in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        delays = {callback_delivery.backoff_delay(attempt) for _ in range(20)}
        assert all(step / 2 <= delay <= step for delay in delays)
        assert len(delays) > 1
    assert callback_delivery.backoff_delay(1, retry_after=60) == 60
    assert callback_delivery.backoff_delay(1, retry_after=10_000) == 100


@pytest.mark.django_db
def test_create_api_client_registers_callbacks_and_shows_the_signing_secret_once(capsys):
    call_command(
        "create_api_client",
        "hooked",
        "--department",
        "dept-1",
        "--callback-base-url",
        "HTTPS://Hooks.Example:443/base",
        "--callback-origin",
        "https://a.example",
        "--callback-origin",
        "http://b.example:8080/",
    )
    out = capsys.readouterr().out
    client = ApiClient.objects.get(name="hooked")
    assert client.callback_base_url == "https://hooks.example/base/"
    assert client.callback_origins == ["http://b.example:8080", "https://a.example"]
    assert f"Callback signing secret (shown once): {client.callback_secret}" in out
    assert Webhook(client.callback_secret)  # a valid Standard Webhooks secret
    call_command("create_api_client", "hooked", "--department", "dept-1")
    assert "Callback signing secret" not in capsys.readouterr().out
    with pytest.raises(CommandError, match="origin"):
        call_command("create_api_client", "hooked", "--department", "dept-1", "--callback-origin", "ftp://x")


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass_the_address_check(settings, address):
    settings.CALLBACK_ALLOWED_HOSTS = []
    assert policy.checked_addresses(address, 443) == [address]


@pytest.mark.django_db(transaction=True)
def test_on_the_database_backend_the_task_row_commits_with_the_import_and_db_worker_sends(
    put, hooked_client, receiver, settings
):
    """Production path: the task row is written in the import's transaction; db_worker runs it."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    put({"callBackPathUrl": "done", "saveMessageRequestList": [minimal_message(1)]}, query="?dryRun=true")
    assert DBTaskResult.objects.count() == 0  # rolled back with the dry run
    receiver.script = [(500, {})]
    put({"callBackPathUrl": "done", "saveMessageRequestList": [minimal_message(1)]})
    assert DBTaskResult.objects.count() == 1
    assert receiver.requests == []  # nothing sent before the worker runs
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0")
    assert len(receiver.requests) == 2  # the 500, then the retry enqueued by the task
    assert CallbackDelivery.objects.get().status == CallbackDelivery.Status.DELIVERED


# The admin's list pages read replica_0 (a mirror of the test database) in a committed test.
@pytest.mark.django_db(transaction=True, databases=["default", "replica_0"])
def test_the_admin_shows_deliveries_with_attempts_and_resends(put, hooked_client, receiver, admin_client, settings):
    receiver.script = [(500, {})] * 3
    put({"callBackPathUrl": "done", "saveMessageRequestList": [minimal_message(1)]})
    delivery = CallbackDelivery.objects.get()
    listing = admin_client.get("/admin/messages_app/callbackdelivery/")
    assert listing.status_code == 200
    assert f"/admin/messages_app/callbackdelivery/{delivery.pk}/change/" in listing.content.decode()
    page = admin_client.get(f"/admin/messages_app/callbackdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    assert page.content.decode().count("HTTP 500") >= 3  # the attempts inline
    response = admin_client.post(
        "/admin/messages_app/callbackdelivery/", {"action": "resend", "_selected_action": [delivery.pk]}
    )
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == CallbackDelivery.Status.DELIVERED
    client_page = admin_client.get(f"/admin/messages_app/apiclient/{hooked_client.pk}/change/")
    assert client_page.status_code == 200
    assert hooked_client.name in client_page.content.decode()
    assert hooked_client.callback_secret not in client_page.content.decode()  # never displayed again


@pytest.mark.django_db(transaction=True)
def test_an_item_refused_in_validation_still_gets_its_callback_with_its_errors(put, hooked_client, receiver):
    bad = item_with_callback(2, "items/2")
    bad["messageAttributes"]["purpose"] = "NOT_A_PURPOSE"

    answer = put([item_with_callback(1, "items/1"), bad]).json()

    assert answer["failedSourceUuids"] == ["min-2"]
    by_path = {request["path"]: request for request in receiver.requests}
    delivered = assert_signed(by_path["/hooks/items/2"], hooked_client.callback_secret)
    assert delivered == answer["saveMessageResponse"][1]
    assert delivered["errors"][0]["errorCode"] == "INVALID_ENUM_VALUE"


@pytest.mark.django_db(transaction=True)
def test_each_recorded_attempt_is_counted_by_the_delivery_status_it_leaves(put, hooked_client, receiver, fresh_metrics):
    receiver.script = [(500, {}), (200, {})]
    put({"callBackPathUrl": "done", "saveMessageRequestList": [minimal_message(1)]})

    counted = {
        status: REGISTRY.get_sample_value("comms_callback_deliveries_total", {"status": status})
        for status in ("pending", "delivered", "failed")
    }
    assert counted == {"pending": 1, "delivered": 1, "failed": None}
