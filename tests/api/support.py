"""Helpers for the HTTP-edge tests: requests with the raw target a server passes, error answers."""

import json
from typing import Any

ENVELOPE = ["saveMessageResponse", "succesfullySubmittedSourceUuids", "failedSourceUuids", "errors", "warnings"]


def sent_as(target: str) -> dict[str, str]:
    """The WSGI variable gunicorn adds for the request target exactly as sent (the test client adds none)."""
    return {"RAW_URI": target}


def assert_error_answer(response: Any, status: int, code: str, path: str = "") -> dict[str, str]:
    """A JSON answer in the response envelope with ``status`` and one ``code`` error (at ``path``)."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert sorted(body) == sorted(ENVELOPE)
    assert body["saveMessageResponse"] == [] and body["warnings"] == []
    (error,) = body["errors"]
    assert error["errorCode"] == code, error
    if path:
        assert error["errorDescription"].startswith(f"{path}: "), error["errorDescription"]
    assert error["errorUID"]
    return error
