"""/healthz and /readyz: public JSON probes; /readyz is 503 when any of its checks fails."""

import pytest
from django.core.cache.backends.base import BaseCache
from django.db import OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from rest_framework.test import APIClient

from messages_app.ops import health


class DownCache(BaseCache):
    """A cache whose server does not answer."""

    def __init__(self, location, params):
        super().__init__(params)

    def get(self, key, default=None, version=None):
        raise ConnectionError("cache server unreachable")

    def set(self, key, value, timeout=None, version=None):
        raise ConnectionError("cache server unreachable")

    def clear(self):
        pass


@pytest.fixture(autouse=True)
def _migrations_not_yet_checked(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)


def test_healthz_answers_ok_without_credentials_or_database():
    response = APIClient().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_answers_200_with_every_check_passed():
    response = APIClient().get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok", "cache": "ok"}}


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_is_unreachable(monkeypatch):
    def refuse():
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)

    response = APIClient().get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "failed: OperationalError"
    assert body["checks"]["cache"] == "ok"


@pytest.mark.django_db
def test_readyz_is_503_when_a_migration_is_not_applied(monkeypatch):
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("messages_app", False)])

    response = APIClient().get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks == {"database": "ok", "migrations": "failed: unapplied migrations: 1", "cache": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_when_the_cache_is_down():
    with override_settings(CACHES={"default": {"BACKEND": f"{__name__}.DownCache"}}):
        response = APIClient().get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "cache": "failed: ConnectionError"}


@pytest.mark.django_db
def test_readyz_builds_the_migration_plan_only_until_everything_is_applied(monkeypatch):
    plans = []
    original = MigrationExecutor.migration_plan

    def counted(self, targets):
        plans.append(targets)
        return original(self, targets)

    monkeypatch.setattr(MigrationExecutor, "migration_plan", counted)
    client = APIClient()

    statuses = [client.get("/readyz").status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert len(plans) == 1


def test_probes_answer_get_only():
    assert APIClient().post("/healthz").status_code == 405
