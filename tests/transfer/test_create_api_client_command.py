"""`create_api_client NAME --department D [...] [--scope S ...] [--password P]`."""

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from messages_app.models import ApiClient, ApiClientGrant, Department, Message
from tests.builders import basic, minimal_message, url

pytestmark = pytest.mark.django_db

NAME = "crm-sync"
DEPT_1 = "1" * 64
DEPT_2 = "Zm9vYmFyYmF6cXV4LWRlcGFydG1lbnQtdG9rZW4tMDE"
PASSWORD = "an-operator-chosen-password-0123"
SECRET_LINE = re.compile(r"^Secret \(shown once\): (\S+)$", re.MULTILINE)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("create_api_client", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def printed_secret(output: str) -> str:
    found = SECRET_LINE.findall(output)
    assert len(found) == 1, output
    return found[0]


def grants(name: str = NAME) -> set[tuple[str, str]]:
    return set(ApiClientGrant.objects.filter(client__name=name).values_list("department__uuid", "scope"))


def put_as(name: str, secret: str, department_uuid: str, n: int = 1):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(name, secret))
    return client.put(url(department_uuid=department_uuid), {"saveMessageRequestList": [minimal_message(n)]}, "json")


def assert_stored(response, n: int = 1) -> None:
    """The PUT succeeded: 200, its one item ``min-{n}`` reported stored, and the message exists."""
    assert response.status_code == 200
    body = response.json()
    assert body["succesfullySubmittedSourceUuids"] == [f"min-{n}"]
    assert body["failedSourceUuids"] == []
    assert Message.objects.filter(source_uuid=f"min-{n}").exists()


def assert_authentication_failed(response) -> None:
    assert response.status_code == 401
    assert [error["errorCode"] for error in response.json()["errors"]] == ["AUTHENTICATION_FAILED"]


def test_creates_the_client_its_grants_and_missing_departments():
    run(NAME, "--department", DEPT_1)

    assert ApiClient.objects.filter(name=NAME, is_active=True).exists()
    assert Department.objects.filter(uuid=DEPT_1).exists()
    assert grants() == {(DEPT_1, "message.create"), (DEPT_1, "message.read")}


def test_uses_an_existing_department_without_duplicating_it():
    department = Department.objects.create(uuid=DEPT_1, name="Sales")

    run(NAME, "--department", DEPT_1)

    assert list(Department.objects.all()) == [department]
    assert Department.objects.get().name == "Sales"


def test_default_scopes_are_message_create_and_message_read():
    run(NAME, "--department", DEPT_1)

    assert {scope for _, scope in grants()} == {"message.create", "message.read"}


def test_scope_option_restricts_the_grants():
    run(NAME, "--department", DEPT_1, "--scope", "message.read")

    assert grants() == {(DEPT_1, "message.read")}


def test_unknown_scope_is_refused():
    with pytest.raises(CommandError):
        run(NAME, "--department", DEPT_1, "--scope", "message.delete")

    assert not ApiClient.objects.exists()


def test_department_option_is_repeatable():
    run(NAME, "--department", DEPT_1, "--department", DEPT_2, "--scope", "message.create")

    assert grants() == {(DEPT_1, "message.create"), (DEPT_2, "message.create")}
    assert set(Department.objects.values_list("uuid", flat=True)) == {DEPT_1, DEPT_2}


def test_department_is_required():
    with pytest.raises(CommandError):
        run(NAME)

    assert not ApiClient.objects.exists()


def test_generated_secret_is_printed_exactly_once():
    output = run(NAME, "--department", DEPT_1)

    secret = printed_secret(output)
    assert output.count(secret) == 1
    assert len(secret) >= 24


def test_generated_secret_is_stored_only_as_a_hash():
    secret = printed_secret(run(NAME, "--department", DEPT_1))

    client = ApiClient.objects.get(name=NAME)
    assert secret not in (client.secret_hash, client.secret_salt)
    assert client.check_secret(secret)


def test_generated_secret_authenticates_a_real_put():
    secret = printed_secret(run(NAME, "--department", DEPT_1))

    response = put_as(NAME, secret, DEPT_1)

    assert response.status_code == 200
    assert response.json()["succesfullySubmittedSourceUuids"] == ["min-1"]
    assert Message.objects.get().department.uuid == DEPT_1


def test_each_new_client_gets_a_different_generated_secret():
    first = printed_secret(run("client-one", "--department", DEPT_1))
    second = printed_secret(run("client-two", "--department", DEPT_1))

    assert first != second


def test_password_option_sets_the_secret_and_is_not_printed():
    output = run(NAME, "--department", DEPT_1, "--password", PASSWORD)

    assert PASSWORD not in output
    assert not SECRET_LINE.search(output)
    assert_stored(put_as(NAME, PASSWORD, DEPT_1))


def test_password_shorter_than_24_characters_is_refused():
    with pytest.raises(CommandError, match="24"):
        run(NAME, "--department", DEPT_1, "--password", "x" * 23)

    assert not ApiClient.objects.exists()
    assert not Department.objects.exists()


def test_password_of_exactly_24_characters_is_accepted():
    run(NAME, "--department", DEPT_1, "--password", "p" * 24)

    assert_stored(put_as(NAME, "p" * 24, DEPT_1))


def test_rerun_adds_grants_and_keeps_the_secret():
    secret = printed_secret(run(NAME, "--department", DEPT_1))

    output = run(NAME, "--department", DEPT_2, "--scope", "message.read")

    assert not SECRET_LINE.search(output)
    assert ApiClient.objects.filter(name=NAME).count() == 1
    assert grants() == {(DEPT_1, "message.create"), (DEPT_1, "message.read"), (DEPT_2, "message.read")}
    assert_stored(put_as(NAME, secret, DEPT_1))


def test_rerun_with_password_replaces_the_secret():
    old_secret = printed_secret(run(NAME, "--department", DEPT_1))

    run(NAME, "--department", DEPT_1, "--password", PASSWORD)

    assert_authentication_failed(put_as(NAME, old_secret, DEPT_1))
    assert_stored(put_as(NAME, PASSWORD, DEPT_1))


def test_rerun_with_a_short_password_keeps_the_old_secret():
    secret = printed_secret(run(NAME, "--department", DEPT_1))

    with pytest.raises(CommandError):
        run(NAME, "--department", DEPT_1, "--password", "short")

    assert_stored(put_as(NAME, secret, DEPT_1))


def test_invalid_department_uuid_is_refused():
    with pytest.raises(CommandError):
        run(NAME, "--department", "has space")

    assert not Department.objects.exists()
    assert not ApiClient.objects.exists()


@pytest.mark.parametrize("name", ["", "with:colon", "with space", "n" * 151], ids=["empty", "colon", "space", "long"])
def test_unusable_client_name_is_refused(name):
    with pytest.raises(CommandError):
        run(name, "--department", DEPT_1)

    assert not ApiClient.objects.exists()
