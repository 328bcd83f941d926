"""`setup_demo`: the README's first command prints credentials that work as printed."""

import base64
import io
import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory
from rest_framework.test import APIClient

from messages_app.models import Department
from tests.builders import minimal_message, url

pytestmark = pytest.mark.django_db


def setup_demo() -> dict[str, str]:
    out = io.StringIO()
    call_command("setup_demo", stdout=out)
    text = out.getvalue()
    return {
        "secret": re.search(r"API secret\s*: (\S+)", text).group(1),
        "admin": re.search(r"Admin login\s*: \S+  user (\S+)  password (\S+)", text).groups(),
        "staff": re.search(r"Staff login\s*: \S+  user (\S+)  password (\S+)", text).groups(),
    }


def test_the_printed_api_secret_stores_a_message_in_the_demo_department():
    printed = setup_demo()
    client = APIClient()
    token = base64.b64encode(f"demo-client:{printed['secret']}".encode()).decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {token}")

    response = client.put(
        url("demo-department", "demo-customer"), {"saveMessageRequestList": [minimal_message(1)]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["succesfullySubmittedSourceUuids"] == ["min-1"]


def test_the_printed_staff_login_is_a_member_of_the_demo_department_only():
    Department.objects.create(uuid="another-department")
    printed = setup_demo()

    staff = authenticate(
        RequestFactory().post("/admin/login/"), username=printed["staff"][0], password=printed["staff"][1]
    )

    assert staff is not None and staff.is_staff and not staff.is_superuser
    assert [d.uuid for d in staff.departments.all()] == ["demo-department"]


def test_the_printed_admin_login_is_a_superuser():
    printed = setup_demo()

    admin = authenticate(
        RequestFactory().post("/admin/login/"), username=printed["admin"][0], password=printed["admin"][1]
    )

    assert admin is not None and admin.is_superuser


def test_running_it_again_renews_every_credential():
    first, second = setup_demo(), setup_demo()

    assert (
        authenticate(RequestFactory().post("/admin/login/"), username=first["staff"][0], password=first["staff"][1])
        is None
    )
    assert (
        authenticate(RequestFactory().post("/admin/login/"), username=second["staff"][0], password=second["staff"][1])
        is not None
    )
    assert first["secret"] != second["secret"]
