"""With HTTPS on, plain HTTP is redirected, except the probes a load balancer sends."""

import pytest
from django.test import Client

from messages_app.ops.paths import OPS_PATHS

pytestmark = pytest.mark.django_db


@pytest.fixture
def https(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.METRICS_ENABLED = True
    return settings


def test_plain_http_is_redirected_to_https(https):
    response = Client().get("/admin/login/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/admin/login/"


@pytest.mark.parametrize("path", OPS_PATHS)
def test_probes_and_metrics_answer_over_plain_http(https, path):
    response = Client().get(f"/{path}")

    assert response.status_code == 200


def test_https_answers_carry_hsts(https):
    response = Client().get("/healthz", secure=True)

    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_a_trusted_proxys_forwarded_proto_counts_as_https(https):
    https.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    response = Client().get("/healthz", HTTP_X_FORWARDED_PROTO="https")
    redirected = Client().get("/admin/login/", HTTP_X_FORWARDED_PROTO="http")

    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert redirected.status_code == 301
