"""The API docs (Swagger UI, ReDoc) are served entirely by this server: no CDN, no internet.

A page that loads its scripts from a CDN is blank without internet and runs whatever the
CDN serves that day; these tests read the pages' HTML and check that every script, style
and icon is one of this server's static files, and that the file exists.
"""

import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import resolve

from comms_project import urls
from comms_project.api_docs import DOCS_CONTENT_SECURITY_POLICY

DOCS_PAGES = ["/communications/docs/", "/communications/redoc/"]
THIRD_PARTY = ("cdn.jsdelivr.net", "unpkg.com", "fonts.googleapis.com", "fonts.gstatic.com", "cdn.redoc.ly")


def assets(html: str) -> list[str]:
    """The addresses of the scripts, styles and icons a page loads."""
    return re.findall(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]*)"', html)


def page(path: str) -> str:
    response = Client().get(path)
    assert response.status_code == 200, path
    return response.content.decode()


@pytest.mark.parametrize("path", DOCS_PAGES)
def test_a_docs_page_loads_only_static_files_of_this_server(path):
    html = page(path)
    loaded = assets(html)
    assert loaded, "the page loads its scripts from somewhere"
    assert all(url.startswith(settings.STATIC_URL) for url in loaded), loaded
    assert not any(host in html for host in THIRD_PARTY)


@pytest.mark.parametrize("path", DOCS_PAGES)
def test_every_file_a_docs_page_loads_is_a_static_file_that_exists(path):
    for url in assets(page(path)):
        name = url.removeprefix(settings.STATIC_URL)
        assert finders.find(name), url


def test_the_swagger_page_loads_the_swagger_bundle_and_the_redoc_page_the_redoc_bundle():
    assert any(url.endswith("swagger-ui-bundle.js") for url in assets(page("/communications/docs/")))
    assert any(url.endswith("redoc.standalone.js") for url in assets(page("/communications/redoc/")))


def test_the_swagger_page_asks_no_outside_validator_about_the_schema():
    assert '"validatorUrl": null' in page("/communications/docs/")


@pytest.mark.parametrize("path", DOCS_PAGES)
def test_a_docs_page_tells_the_browser_to_load_nothing_from_another_origin(path):
    response = Client().get(path)
    assert response["Content-Security-Policy"] == DOCS_CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in DOCS_CONTENT_SECURITY_POLICY
    assert "img-src 'self' data:" in DOCS_CONTENT_SECURITY_POLICY


def test_the_docs_pages_are_not_operations_of_the_schema():
    response = Client().get("/communications/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert not [path for path in paths if "docs" in path or "redoc" in path or "schema" in path]


DOCS_ROUTES = ("schema", "docs", "redoc")


def test_the_docs_routes_come_before_every_other_route_under_communications():
    """A catch-all of the API under communications/ must never hide the docs."""
    assert [resolve(path).url_name for path in DOCS_PAGES] == ["docs", "redoc"]
    under_communications = [
        getattr(pattern, "name", None) or getattr(pattern, "namespace", None)
        for pattern in urls.urlpatterns
        if str(pattern.pattern).lstrip("^").startswith("communications")
    ]
    first = under_communications[: len(DOCS_ROUTES)]
    assert sorted(first) == sorted(DOCS_ROUTES), under_communications
