"""The admin login locks a (username, client address) pair out after repeated wrong passwords."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "the-right-password-0123"

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins, same flow
    return get_user_model().objects.create_user("clerk", password=PASSWORD, is_staff=True, is_superuser=True)


def log_in(password: str, *, username: str = "clerk", **address: str):
    return Client(**address).post(LOGIN, {"username": username, "password": password})


def fail(times: int, **address: str) -> list[int]:
    """Wrong passwords; the statuses they got (the form again is 200; the lockout 429)."""
    return [log_in("wrong-password", **address).status_code for _ in range(times)]


def test_wrong_passwords_get_the_form_again_until_the_limit_locks_out(staff):
    below = log_in("wrong-password", REMOTE_ADDR="192.0.2.1")

    assert below.status_code == 200
    assert b"Please enter the correct username and password" in below.content
    assert fail(2, REMOTE_ADDR="192.0.2.1") == [200, 429]


def test_the_right_password_logs_in(staff):
    response = log_in(PASSWORD, REMOTE_ADDR="192.0.2.1")

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_after_the_limit_even_the_right_password_is_refused_with_429(staff):
    fail(3, REMOTE_ADDR="192.0.2.1")

    response = log_in(PASSWORD, REMOTE_ADDR="192.0.2.1")

    assert response.status_code == 429
    assert "sessionid" not in response.cookies


def test_the_lockout_does_not_extend_to_another_address(staff):
    fail(3, REMOTE_ADDR="192.0.2.1")

    assert log_in(PASSWORD, REMOTE_ADDR="192.0.2.2").status_code == 302


def test_the_lockout_does_not_extend_to_another_username(staff):
    get_user_model().objects.create_user("other", password=PASSWORD, is_staff=True)
    fail(3, REMOTE_ADDR="192.0.2.1")

    assert log_in(PASSWORD, username="other", REMOTE_ADDR="192.0.2.1").status_code == 302


def test_a_spoofed_forwarded_header_does_not_dodge_the_lockout(staff, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    for claimed in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        fail(1, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=claimed)

    assert log_in(PASSWORD, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.4").status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_client_is_locked_out_not_the_proxy(staff, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    fail(3, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")

    locked = log_in(PASSWORD, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    other = log_in(PASSWORD, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.10")

    assert locked.status_code == 429
    assert other.status_code == 302


def test_a_success_before_the_limit_resets_the_count(staff):
    fail(2, REMOTE_ADDR="192.0.2.1")
    assert log_in(PASSWORD, REMOTE_ADDR="192.0.2.1").status_code == 302
    fail(2, REMOTE_ADDR="192.0.2.1")

    assert log_in(PASSWORD, REMOTE_ADDR="192.0.2.1").status_code == 302
