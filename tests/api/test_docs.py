"""The error catalogue is documented where users look: the README and the OpenAPI description."""

from pathlib import Path

import pytest
from django.urls import reverse

from messages_app.api.schema import error_catalogue_markdown
from messages_app.errors import ErrorCode, WarningCode

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_carries_the_current_error_catalogue():
    assert error_catalogue_markdown() in README.read_text()


@pytest.mark.django_db
def test_openapi_description_lists_every_error_and_warning_code(client):
    schema = client.get(reverse("schema"), HTTP_ACCEPT="application/json").content.decode()

    missing = [code for code in [*ErrorCode.values, *WarningCode.values] if f"`{code}`" not in schema]
    assert missing == []
