"""Sentry: off without SENTRY_DSN; with one, the Django integration and no personal data."""

import importlib.util
from pathlib import Path

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration

from comms_project import observability


def test_without_a_dsn_sentry_is_not_started(monkeypatch):
    calls = []
    monkeypatch.setattr(sentry_sdk, "init", lambda **options: calls.append(options))

    assert observability.init_sentry("") is False
    assert calls == []


def test_a_dsn_starts_sentry_with_the_django_integration_and_no_personal_data(monkeypatch):
    calls = []
    monkeypatch.setattr(sentry_sdk, "init", lambda **options: calls.append(options))

    started = observability.init_sentry(
        "https://public@sentry.example.invalid/1", environment="staging", release="1.2.3", traces_sample_rate=0.25
    )

    assert started is True
    (options,) = calls
    assert options["dsn"] == "https://public@sentry.example.invalid/1"
    assert options["send_default_pii"] is False
    assert options["traces_sample_rate"] == 0.25
    assert (options["environment"], options["release"]) == ("staging", "1.2.3")
    assert [type(integration) for integration in options["integrations"]] == [DjangoIntegration]


def test_the_settings_start_sentry_from_the_environment(monkeypatch):
    """The settings module, run afresh with SENTRY_* set, passes them on."""
    calls = []
    monkeypatch.setattr(sentry_sdk, "init", lambda **options: calls.append(options))
    monkeypatch.setenv("SENTRY_DSN", "https://public@sentry.example.invalid/2")
    monkeypatch.setenv("SENTRY_TRACES_SAMPLE_RATE", "0.1")
    monkeypatch.setenv("SENTRY_ENVIRONMENT", "production")
    path = Path(observability.__file__).with_name("settings.py")
    spec = importlib.util.spec_from_file_location("settings_with_sentry", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))

    (options,) = calls
    assert (options["dsn"], options["traces_sample_rate"], options["environment"]) == (
        "https://public@sentry.example.invalid/2",
        0.1,
        "production",
    )
