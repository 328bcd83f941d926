"""/metrics: off by default, optionally behind a bearer token; counts of requests, ingested
messages by outcome (after commit, never for a dry run), ingest durations, queue depths."""

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from messages_app.clients import ensure_callback_secret, register_client
from tests.builders import minimal_message, with_attrs

pytestmark = pytest.mark.django_db


@pytest.fixture
def scrape(settings, fresh_metrics):
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = ""
    settings.PROMETHEUS_MULTIPROC_DIR = ""

    def _scrape(**headers):
        response = APIClient().get("/metrics", **headers)
        assert response.status_code == 200, response.content
        return response.content.decode()

    return _scrape


def samples(text):
    """{(name, sorted labels): value} of an exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_is_an_unknown_url_when_disabled(settings):
    settings.METRICS_ENABLED = False

    assert APIClient().get("/metrics").status_code == 404


def test_with_a_token_a_scrape_must_bring_it(scrape, settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789"

    refused = APIClient().get("/metrics")
    wrong = APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer nope")

    assert (refused.status_code, refused["WWW-Authenticate"]) == (401, 'Bearer realm="metrics"')
    assert wrong.status_code == 401
    assert "comms_http_requests_total" in scrape(HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")


def test_a_put_is_counted_by_outcome_with_its_duration(put, scrape, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = put([minimal_message(1), minimal_message(2), with_attrs(minimal_message(3), purpose="nope")])
    assert response.status_code == 200

    text = scrape()

    assert 'comms_messages_ingested_total{outcome="created"} 2.0' in text
    assert 'comms_messages_ingested_total{outcome="failed"} 1.0' in text
    assert 'comms_ingest_duration_seconds_count{source="api"} 1.0' in text
    route = "communications/department/<identifier:departmentUUID>/customer/<identifier:customerUUID>/communication/historical"  # noqa: E501  (the URL pattern, as labelled)
    assert samples(text)[("comms_http_requests_total", (("method", "PUT"), ("route", route), ("status", "200")))] == 1


def test_a_re_send_counts_as_unchanged(put, scrape, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        put([minimal_message(1)])
        put([minimal_message(1)])

    text = scrape()

    assert 'comms_messages_ingested_total{outcome="created"} 1.0' in text
    assert 'comms_messages_ingested_total{outcome="unchanged"} 1.0' in text
    assert 'comms_ingest_duration_seconds_count{source="api"} 2.0' in text


def test_a_dry_run_is_not_counted(put, scrape, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = put([minimal_message(1), with_attrs(minimal_message(2), purpose="nope")], query="?dryRun=true")
    assert response.status_code == 200

    text = scrape()

    assert "comms_messages_ingested_total{" not in text
    assert "comms_ingest_duration_seconds_count{" not in text


def test_an_ingest_rolled_back_by_its_caller_is_not_counted(put, scrape, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        put([minimal_message(1)])
    assert len(callbacks) == 1  # waits for a commit that, in this test's transaction, never comes

    assert "comms_messages_ingested_total{" not in scrape()


def test_queue_depths_are_counted_at_scrape_time(put, scrape, api_client_record, settings):
    settings.CALLBACK_ALLOWED_HOSTS = ["127.0.0.1"]
    client, _ = register_client(api_client_record.name, [], callback_base_url="http://127.0.0.1:9/hooks/")
    ensure_callback_secret(client)

    put({"callBackPathUrl": "done", "saveMessageRequestList": [minimal_message(1)]})
    values = samples(scrape())

    assert values[("comms_callback_deliveries_pending", ())] == 1
    assert values[("comms_tasks_ready", ())] == 1
