"""Every dotted path the project names in settings, URLs and stored rows imports.

Settings and queued task rows name code by its import path; moving a module must not
break them. These tests read the names from where they are written, not from a copy.
"""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import resolve
from django.utils.module_loading import import_string
from drf_spectacular.extensions import OpenApiAuthenticationExtension

from messages_app.api.schema import ApiClientBasicAuthenticationScheme
from messages_app.models import CallbackDelivery, Department
from tests.builders import minimal_message


def dotted(target: str | type) -> str:
    """drf-spectacular replaces an extension's target path by the class once it has loaded it."""
    return target if isinstance(target, str) else f"{target.__module__}.{target.__qualname__}"


def named_paths() -> list[str]:
    rest = settings.REST_FRAMEWORK
    spectacular = settings.SPECTACULAR_SETTINGS
    return [
        *rest["DEFAULT_AUTHENTICATION_CLASSES"],
        *rest["DEFAULT_PERMISSION_CLASSES"],
        *rest["DEFAULT_PARSER_CLASSES"],
        *rest["DEFAULT_RENDERER_CLASSES"],
        rest["DEFAULT_SCHEMA_CLASS"],
        rest["EXCEPTION_HANDLER"],
        *spectacular["POSTPROCESSING_HOOKS"],
        *spectacular["ENUM_NAME_OVERRIDES"].values(),
        *(backend["BACKEND"] for backend in settings.TASKS.values()),
        dotted(ApiClientBasicAuthenticationScheme.target_class),
        settings.ROOT_URLCONF,
        settings.WSGI_APPLICATION,
    ]


@pytest.mark.parametrize("path", named_paths())
def test_every_dotted_path_named_in_settings_imports(path):
    assert import_string(path) is not None


def test_the_openapi_extension_targets_the_authentication_class_in_use():
    (authentication,) = settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]

    assert dotted(ApiClientBasicAuthenticationScheme.target_class) == authentication
    assert issubclass(ApiClientBasicAuthenticationScheme, OpenApiAuthenticationExtension)


def test_the_api_routes_resolve_to_the_api_views():
    match = resolve("/communications/department/d/customer/c/communication/historical")

    assert match.func.cls.__module__ == "messages_app.api.views"


def test_the_delivery_task_is_stored_under_its_documented_path():
    from messages_app.tasks import deliver_callbacks

    assert deliver_callbacks.module_path == "messages_app.tasks.deliver_callbacks"


@pytest.mark.django_db(transaction=True)
def test_a_task_row_stored_under_messages_app_tasks_still_runs(put, api_client_record, settings, monkeypatch):
    """Queued rows name ``messages_app.tasks.deliver_callbacks``; a row written before a
    release (here: written directly, as an earlier version stored it) runs after it."""
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from messages_app.callbacks import delivery

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    put([minimal_message(1)])
    department = Department.objects.get()
    stored = CallbackDelivery.objects.create(
        department=department,
        batch=department.import_batches.get(),
        client=api_client_record,
        kind=CallbackDelivery.Kind.REQUEST,
        url="http://receiver.invalid/done",
        payload={"x": 1},
        webhook_id="msg_queued_before_the_move",
    )
    attempted = []
    monkeypatch.setattr(delivery, "attempt_delivery", lambda delivery_id, session=None: attempted.append(delivery_id))
    DBTaskResult.objects.create(
        args_kwargs={"args": [[stored.pk]], "kwargs": {}},
        task_path="messages_app.tasks.deliver_callbacks",
        backend_name="default",
        queue_name="default",
        run_after=timezone.now(),
    )

    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0")

    assert attempted == [stored.pk]
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
