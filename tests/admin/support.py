"""Helpers for the admin tests: departments with imported messages, staff users, logged-in clients."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from messages_app.enums import ImportSource
from messages_app.ingest import IngestResult, ingest_messages
from messages_app.models import Conversation, Department, Message

PASSWORD = "a-long-staff-password-0123456789"


def import_items(department: Department, customer_uuid: str, items: list[dict[str, Any]]) -> IngestResult:
    """Store items through the one ingest service, as an API request would."""
    result = ingest_messages(department=department, customer_uuid=customer_uuid, items=items, source=ImportSource.API)
    assert result.failed_count == 0, result.as_response()
    return result


def staff_user(username: str, *departments: Department, superuser: bool = False) -> Any:
    user = get_user_model().objects.create_user(username, password=PASSWORD, is_staff=True, is_superuser=superuser)
    for department in departments:
        department.members.add(user)
    return user


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def message(source_uuid: str, department: Department | None = None) -> Message:
    queryset = Message.objects.filter(source_uuid=source_uuid)
    if department is not None:
        queryset = queryset.filter(department=department)
    return queryset.get()


def conversation_of(department: Department, customer_uuid: str) -> Conversation:
    return Conversation.objects.get(department=department, customer__uuid=customer_uuid)


def changelist(model: str) -> str:
    return f"/admin/messages_app/{model}/"


def change_url(model: str, pk: int) -> str:
    return f"/admin/messages_app/{model}/{pk}/change/"


def transcript_url(conversation: Conversation) -> str:
    return f"/admin/messages_app/conversation/{conversation.pk}/transcript/"


@pytest.fixture
def two_departments(db) -> tuple[Department, Department]:
    """Two departments of one dealership group, each with a customer and messages."""
    north = Department.objects.create(uuid="north-service", name="North service")
    south = Department.objects.create(uuid="south-sales", name="South sales")
    import_items(
        north,
        "north-customer",
        [
            {
                "sourceUuid": f"north-{n}",
                "sentOn": f"2024-03-0{n + 1}T10:00:00Z",
                "messageAttributes": {
                    "body": f"North body {n}",
                    "subject": f"North subject {n}",
                    "type": "OUTGOING",
                    "protocol": "TEXT",
                    "purpose": "F",
                },
            }
            for n in range(3)
        ],
    )
    import_items(
        south,
        "south-customer",
        [
            {
                "sourceUuid": f"south-{n}",
                "sentOn": f"2024-04-0{n + 1}T10:00:00Z",
                "messageAttributes": {
                    "body": f"South secret {n}",
                    "subject": f"South subject {n}",
                    "type": "INCOMING",
                    "protocol": "EMAIL",
                    "purpose": "F",
                },
            }
            for n in range(2)
        ],
    )
    return north, south


class _FormParser(HTMLParser):
    """Collects what a browser would submit for one form of a page (by its id)."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.data: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._select: str | None = None
        self._selected: str | None = None
        self._first_option: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.inside = attributes.get("id") == self.form_id
            return
        if not self.inside or "name" not in attributes:
            if tag == "option" and self._select is not None:
                value = attributes.get("value", "")
                if self._first_option is None:
                    self._first_option = value
                if "selected" in attributes:
                    self._selected = value
            return
        name = attributes["name"]
        if tag == "input":
            kind = attributes.get("type", "text")
            if kind in ("submit", "button", "file", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            self.data.append((name, attributes.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "textarea":
            self._textarea, self._text = name, []
        elif tag == "select":
            self._select, self._selected, self._first_option = name, None, None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            # A browser drops the newline the HTML spec puts right after <textarea>.
            self.data.append((self._textarea, text[1:] if text.startswith("\n") else text))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            chosen = self._selected if self._selected is not None else self._first_option
            self.data.append((self._select, chosen or ""))
            self._select = None


def form_data(response: Any, form_id: str) -> dict[str, Any]:
    """The fields a browser would post for ``form_id`` on the page, as a dict (lists for repeats)."""
    parser = _FormParser(form_id)
    parser.feed(response.content.decode())
    data: dict[str, Any] = {}
    for name, value in parser.data:
        if name in data:
            data[name] = [*data[name], value] if isinstance(data[name], list) else [data[name], value]
        else:
            data[name] = value
    return data
