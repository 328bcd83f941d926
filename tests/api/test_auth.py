"""HTTP Basic authentication of API clients, per-department grants and the failed-login lockout.

Every refusal answers in the response envelope, with a stable errorCode, and writes nothing.
"""

import base64
import os
import uuid
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from messages_app.api import authentication
from messages_app.clients import register_client
from messages_app.enums import ApiScope
from messages_app.models import ApiClient, Conversation, Customer, ImportBatch, Message
from tests.builders import CLIENT_NAME, CLIENT_SECRET, basic, minimal_message, url

REDIS_URL = "redis://127.0.0.1:6379/0"

pytestmark = pytest.mark.django_db

OTHER_DEPARTMENT_UUID = "b" * 64
MISSING_DEPARTMENT_UUID = "c" * 64
OTHER_CLIENT_NAME = "integration-b"
OTHER_CLIENT_SECRET = "another-secret-for-tests-9876543210"
WRONG_SECRET = "not-the-secret-of-this-client-000"


def raw_basic(credentials: bytes) -> str:
    return "Basic " + base64.b64encode(credentials).decode("ascii")


def http(authorization: str | None = None, **defaults: str) -> APIClient:
    """An HTTP client sending the given Authorization header (none when None)."""
    client = APIClient(**defaults)
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client


def error_code(response) -> str:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]["errorCode"]


def assert_nothing_written() -> None:
    assert Message.objects.count() == 0
    assert ImportBatch.objects.count() == 0
    assert Customer.objects.count() == 0
    assert Conversation.objects.count() == 0


def assert_stored(response, *source_uuids: str) -> None:
    """The PUT succeeded: 200, every item of ``source_uuids`` reported stored and none failed,
    and each of them is a stored message."""
    assert response.status_code == 200
    body = response.json()
    assert body["succesfullySubmittedSourceUuids"] == list(source_uuids)
    assert body["failedSourceUuids"] == []
    assert Message.objects.filter(source_uuid__in=source_uuids).count() == len(source_uuids)


def assert_unauthenticated(response, code: str) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="communications"'
    assert error_code(response) == code
    assert response.json()["saveMessageResponse"] == []


# --- 200 ------------------------------------------------------------------------------------


def test_correct_credentials_for_a_granted_department_are_accepted(put, department):
    response = put([minimal_message(1)])

    assert_stored(response, "min-1")
    assert Message.objects.count() == 1


def test_scheme_name_is_case_insensitive(put, api_client_record):
    token = basic(CLIENT_NAME, CLIENT_SECRET).split(" ", 1)[1]

    response = put([minimal_message(1)], client=http(f"basic {token}"))

    assert_stored(response, "min-1")


# --- 401 ------------------------------------------------------------------------------------


def test_request_without_credentials_is_401_authentication_required(put, api_client_record):
    response = put([minimal_message(1)], client=http())

    assert_unauthenticated(response, "AUTHENTICATION_REQUIRED")
    assert_nothing_written()


def test_bearer_scheme_is_treated_as_no_credentials(put, api_client_record):
    response = put([minimal_message(1)], client=http("Bearer x"))

    assert_unauthenticated(response, "AUTHENTICATION_REQUIRED")
    assert_nothing_written()


def test_wrong_secret_is_401_authentication_failed(put, api_client_record):
    response = put([minimal_message(1)], client=http(basic(CLIENT_NAME, WRONG_SECRET)))

    assert_unauthenticated(response, "AUTHENTICATION_FAILED")
    assert_nothing_written()


def test_unknown_client_is_401_authentication_failed(put, api_client_record):
    response = put([minimal_message(1)], client=http(basic("nobody-of-that-name", CLIENT_SECRET)))

    assert_unauthenticated(response, "AUTHENTICATION_FAILED")
    assert_nothing_written()


def test_inactive_client_is_401_authentication_failed(put, api_client_record):
    ApiClient.objects.filter(pk=api_client_record.pk).update(is_active=False)

    response = put([minimal_message(1)], client=http(basic(CLIENT_NAME, CLIENT_SECRET)))

    assert_unauthenticated(response, "AUTHENTICATION_FAILED")
    assert_nothing_written()


def test_the_secret_of_another_client_is_401(put, api_client_record, department):
    register_client(OTHER_CLIENT_NAME, [department.uuid], secret=OTHER_CLIENT_SECRET)

    response = put([minimal_message(1)], client=http(basic(CLIENT_NAME, OTHER_CLIENT_SECRET)))

    assert_unauthenticated(response, "AUTHENTICATION_FAILED")
    assert_nothing_written()


MALFORMED_AUTHORIZATION = {
    "no-colon": raw_basic(f"{CLIENT_NAME}{CLIENT_SECRET}".encode()),
    "invalid-base64": "Basic !!!not*base64!!!",
    "truncated-base64": "Basic " + base64.b64encode(f"{CLIENT_NAME}:{CLIENT_SECRET}".encode()).decode()[:-3],
    "non-utf8-after-base64": raw_basic(b"\xff\xfe\xc3(:" + CLIENT_SECRET.encode()),
    "nul-in-username": raw_basic(f"{CLIENT_NAME}\x00:{CLIENT_SECRET}".encode()),
    "nul-in-password": raw_basic(f"{CLIENT_NAME}:{CLIENT_SECRET}\x00".encode()),
    "10-kb-header": raw_basic(f"{CLIENT_NAME}:{'x' * 10 * 1024}".encode()),
    "10-kb-username": raw_basic(f"{'n' * 10 * 1024}:{CLIENT_SECRET}".encode()),
    "empty-username": raw_basic(f":{CLIENT_SECRET}".encode()),
    "empty-password": raw_basic(f"{CLIENT_NAME}:".encode()),
    "basic-without-token": "Basic",
    "basic-with-blank-token": "Basic    ",
    "token-with-inner-space": "Basic " + base64.b64encode(f"{CLIENT_NAME}:{CLIENT_SECRET}".encode()).decode() + " x",
    "non-ascii-token": "Basic é" + base64.b64encode(f"{CLIENT_NAME}:{CLIENT_SECRET}".encode()).decode(),
}


@pytest.mark.parametrize("authorization", MALFORMED_AUTHORIZATION.values(), ids=MALFORMED_AUTHORIZATION.keys())
def test_malformed_credentials_are_401_authentication_failed_never_500(put, api_client_record, authorization):
    response = put([minimal_message(1)], client=http(authorization))

    assert_unauthenticated(response, "AUTHENTICATION_FAILED")
    assert_nothing_written()


# --- 403 ------------------------------------------------------------------------------------


@pytest.fixture
def other_department_client(department):
    """A valid client granted every scope, but only in another department."""
    register_client(OTHER_CLIENT_NAME, [OTHER_DEPARTMENT_UUID], ApiScope.values, secret=OTHER_CLIENT_SECRET)
    return http(basic(OTHER_CLIENT_NAME, OTHER_CLIENT_SECRET))


def test_client_granted_another_department_is_403_permission_denied(put, other_department_client):
    response = put([minimal_message(1)], client=other_department_client)

    assert response.status_code == 403
    assert error_code(response) == "PERMISSION_DENIED"
    assert_nothing_written()


def test_client_with_only_the_read_scope_cannot_import(put, department):
    register_client(OTHER_CLIENT_NAME, [department.uuid], [ApiScope.MESSAGE_READ], secret=OTHER_CLIENT_SECRET)

    response = put([minimal_message(1)], client=http(basic(OTHER_CLIENT_NAME, OTHER_CLIENT_SECRET)))

    assert response.status_code == 403
    assert error_code(response) == "PERMISSION_DENIED"
    assert_nothing_written()


def test_department_that_does_not_exist_is_403_permission_denied(put, api_client_record):
    response = put([minimal_message(1)], path=url(department_uuid=MISSING_DEPARTMENT_UUID))

    assert response.status_code == 403
    assert error_code(response) == "PERMISSION_DENIED"
    assert_nothing_written()


def test_403_does_not_reveal_whether_the_department_exists(put, department, other_department_client):
    existing = put([minimal_message(1)], path=url(department_uuid=department.uuid), client=other_department_client)
    missing = put(
        [minimal_message(1)], path=url(department_uuid=MISSING_DEPARTMENT_UUID), client=other_department_client
    )

    assert existing.status_code == missing.status_code == 403

    def without_error_uid(body):
        return {**body, "errors": [{k: v for k, v in e.items() if k != "errorUID"} for e in body["errors"]]}

    existing_body, missing_body = existing.json(), missing.json()
    assert existing_body["errors"][0]["errorUID"] != missing_body["errors"][0]["errorUID"]
    assert without_error_uid(existing_body) == without_error_uid(missing_body)
    assert existing.content.replace(existing_body["errors"][0]["errorUID"].encode(), b"") == missing.content.replace(
        missing_body["errors"][0]["errorUID"].encode(), b""
    )
    assert_nothing_written()


# --- Lockout (429) --------------------------------------------------------------------------


@pytest.fixture
def lockout_after_3(settings):
    settings.AUTH_LOCKOUT_FAILURES = 3
    return settings


def fail_logins(put, times: int, **defaults: str) -> None:
    for _ in range(times):
        response = put([minimal_message(1)], client=http(basic(CLIENT_NAME, WRONG_SECRET), **defaults))
        assert response.status_code == 401


def test_failures_below_the_limit_are_plain_401s(put, api_client_record, lockout_after_3):
    responses = [put([minimal_message(1)], client=http(basic(CLIENT_NAME, WRONG_SECRET))) for _ in range(3)]

    assert [r.status_code for r in responses] == [401, 401, 401]
    assert [error_code(r) for r in responses] == ["AUTHENTICATION_FAILED"] * 3


@pytest.fixture
def clock(monkeypatch):
    """The lockout's clock, set by the test (seconds since the epoch)."""
    now = SimpleNamespace(value=1_700_000_000.0)
    monkeypatch.setattr(authentication, "time", SimpleNamespace(time=lambda: now.value))
    return now


def test_after_the_limit_even_the_right_secret_is_429_with_retry_after(put, api_client_record, lockout_after_3, clock):
    lockout_after_3.AUTH_LOCKOUT_SECONDS = 300
    fail_logins(put, 3)
    clock.value += 100

    response = put([minimal_message(1)])

    assert response.status_code == 429
    assert error_code(response) == "TOO_MANY_FAILED_LOGINS"
    assert response["Retry-After"] == "200"
    assert_nothing_written()


def test_a_locked_pair_stays_locked_for_wrong_secrets_too(put, api_client_record, lockout_after_3):
    fail_logins(put, 3)

    response = put([minimal_message(1)], client=http(basic(CLIENT_NAME, WRONG_SECRET)))

    assert response.status_code == 429
    assert error_code(response) == "TOO_MANY_FAILED_LOGINS"


def test_lockout_does_not_extend_to_another_address(put, api_client_record, lockout_after_3):
    fail_logins(put, 3, REMOTE_ADDR="192.0.2.10")

    locked = put([minimal_message(1)], client=http(basic(CLIENT_NAME, CLIENT_SECRET), REMOTE_ADDR="192.0.2.10"))
    elsewhere = put([minimal_message(1)], client=http(basic(CLIENT_NAME, CLIENT_SECRET), REMOTE_ADDR="192.0.2.20"))

    assert locked.status_code == 429
    assert error_code(locked) == "TOO_MANY_FAILED_LOGINS"
    assert_stored(elsewhere, "min-1")


def test_lockout_does_not_extend_to_another_client_name(put, department, api_client_record, lockout_after_3):
    register_client(OTHER_CLIENT_NAME, [department.uuid], secret=OTHER_CLIENT_SECRET)
    fail_logins(put, 3)

    locked = put([minimal_message(1)])
    other_client = put([minimal_message(2)], client=http(basic(OTHER_CLIENT_NAME, OTHER_CLIENT_SECRET)))

    assert locked.status_code == 429
    assert error_code(locked) == "TOO_MANY_FAILED_LOGINS"
    assert_stored(other_client, "min-2")
    assert list(Message.objects.values_list("source_uuid", flat=True)) == ["min-2"]


def test_a_success_before_the_limit_resets_the_count(put, api_client_record, lockout_after_3):
    fail_logins(put, 2)
    assert_stored(put([minimal_message(1)]), "min-1")
    fail_logins(put, 2)

    response = put([minimal_message(2)])

    assert_stored(response, "min-2")


# --- Lockout behind proxies and in a shared cache ------------------------------------------


def test_a_spoofed_forwarded_header_from_an_untrusted_address_does_not_move_the_lockout(
    put, api_client_record, lockout_after_3, settings
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    for victim in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):  # one attacker, three claimed addresses
        fail_logins(put, 1, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=victim)

    attacker = put([minimal_message(1)], client=http(basic(CLIENT_NAME, CLIENT_SECRET), REMOTE_ADDR="198.51.100.7"))
    victim = put([minimal_message(2)], client=http(basic(CLIENT_NAME, CLIENT_SECRET), REMOTE_ADDR="192.0.2.1"))

    assert attacker.status_code == 429
    assert_stored(victim, "min-2")


def test_behind_a_trusted_proxy_each_client_address_has_its_own_lockout(
    put, api_client_record, lockout_after_3, settings
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = {"REMOTE_ADDR": "10.0.0.5"}
    fail_logins(put, 3, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.9")

    locked = put(
        [minimal_message(1)],
        client=http(basic(CLIENT_NAME, CLIENT_SECRET), **proxy, HTTP_X_FORWARDED_FOR="203.0.113.9"),
    )
    other = put(
        [minimal_message(2)],
        client=http(basic(CLIENT_NAME, CLIENT_SECRET), **proxy, HTTP_X_FORWARDED_FOR="203.0.113.10"),
    )

    assert locked.status_code == 429
    assert_stored(other, "min-2")
    assert ImportBatch.objects.get().origin == "203.0.113.10"


@pytest.fixture
def redis_server(settings):
    """The lockout counters in the Redis server on this machine, as production keeps them
    (CACHE_URL=rediscache://…); the keys get a prefix of their own and are removed after."""
    import redis

    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        server.ping()
    except redis.ConnectionError as error:
        if os.environ.get("REQUIRE_REDIS") or os.environ.get("CI"):  # .ci/run starts Redis
            raise
        pytest.skip(f"no Redis server at {REDIS_URL} ({error}); .ci/run starts one")
    prefix = f"test-lockout-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield server, prefix
    for key in server.scan_iter(f"{prefix}:*"):
        server.delete(key)


def test_the_lockout_holds_with_counters_in_redis(put, api_client_record, lockout_after_3, redis_server):
    server, prefix = redis_server
    fail_logins(put, 3)

    response = put([minimal_message(1)])

    assert response.status_code == 429
    assert error_code(response) == "TOO_MANY_FAILED_LOGINS"
    assert any(b"auth-locked" in key for key in server.scan_iter(f"{prefix}:*"))
    assert_nothing_written()
