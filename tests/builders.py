"""Payload builders and plain helpers shared by the tests: the test department and client,
the historical endpoint's path, Basic credentials, and wire items to send."""

import base64
import copy
from pathlib import Path
from typing import Any

from django.db import connection

FIXTURES = Path(__file__).parent / "fixtures"
CLIENT_NAME = "integration-a"
CLIENT_SECRET = "s3cret-for-tests-0123456789abcdef"
DEPARTMENT_UUID = "a" * 64
CUSTOMER_UUID = "Zm9vYmFyYmF6cXV4LWN1c3RvbWVyLXRva2VuLTAxMjM"  # 43-char base64-like


def url(department_uuid: str = DEPARTMENT_UUID, customer_uuid: str = CUSTOMER_UUID) -> str:
    return f"/communications/department/{department_uuid}/customer/{customer_uuid}/communication/historical"


def basic(name: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{name}:{secret}".encode()).decode()


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def full_message(n: int, **overrides: Any) -> dict[str, Any]:
    """A fully populated wire item: draft, 2 attachments, 2 tags (2 secondary, 1 parent each),
    notification attributes with 2 notifiers and 2 buttons, voice-call attributes."""
    item = {
        "sourceUuid": f"src-{n:06d}",
        "callBackPathUrl": None,
        "sentOn": f"2024-01-{1 + n % 28:02d}T10:{n % 60:02d}:00.123Z",
        "receivedOn": f"2024-01-{1 + n % 28:02d}T10:{n % 60:02d}:05Z",
        "userUuid": f"user-{n % 7}",
        "communicationUid": f"comm-{n}",
        "messageAttributes": {
            "body": f"Message {n}: your vehicle is ready. <b>Thanks</b>",
            "type": "DRAFT",
            "protocol": "VOICE_CALL",
            "purpose": "FinInviteM",
            "isManual": n % 2 == 0,
            "subject": f"Subject {n}",
            "metaData": {"k1": "v1", "k2": str(n)},
            "tags": [],
            "draftAttributes": {
                "draftStatus": "SCHEDULED",
                "scheduledOn": "tomorrow 9am",
                "draftFailureReason": "NO_EMAIL_ID",
            },
            "attachments": [
                {
                    "fileURL": f"https://files.example/{n}/{i}.pdf",
                    "attachmentExtension": "pdf",
                    "mimeType": "application/pdf",
                    "originalFileName": f"invoice-{i}.pdf",
                    "docSize": "12 KB",
                    "thumbnailURL": f"https://files.example/{n}/{i}.png",
                    "mediaPreviewURL": f"https://files.example/{n}/{i}.html",
                }
                for i in range(2)
            ],
            "defaultReplyAction": "REPLY",
            "updateThreadTimestamp": True,
            "updateTotalMessageCount": True,
            "showInCustomerConversation": True,
            "messageTags": [
                {
                    "tagTypeUuid": f"tag-type-{t}",
                    "referenceIdentifier": f"ref-{n}-{t}",
                    "value": {"nested": {"list": [1, 2, {"x": t}]}, "n": n},
                    "primaryAttribute": {"value": f"primary-{t}"},
                    "secondaryAttributes": [{"value": f"secondary-{t}-{s}"} for s in range(2)],
                    "parentTags": [{"tagTypeUuid": "parent-type", "referenceIdentifier": f"parent-{t}"}],
                }
                for t in range(2)
            ],
        },
        "notificationAttributes": {
            "internalSubscribersNotifierPop": True,
            "externalSubscribersNotifierPop": False,
            "threadOwnerNotifierPop": True,
            "sendPhoneNotification": False,
            "additionalNotifierNotificationDAUUIDs": [f"da-{n}-0", f"da-{n}-1"],
            "notificationButtons": [
                {
                    "buttonTextTranslationWidgetKey": "widget",
                    "buttonTextTranslationKey": f"key-{b}",
                    "buttonDefaultText": f"Button {b}",
                    "buttonTheme": "PRIMARY" if b == 0 else "SECONDARY",
                    "buttonActionEventData": {"action": "open", "target": str(b)},
                    "isPrimaryButton": b == 0,
                }
                for b in range(2)
            ],
        },
        "voiceCallAttributes": {
            "callingParty": "+15550001",
            "party2": "+15550002",
            "party1Prompt": "Hello",
            "party2prompt": "Hi",
            "callStatus": 3,
            "callIdentifier": f"call-{n}",
            "callDateTime": "2024-01-01T09:00:00Z",
            "callBroker": "broker",
            "recordingUrl": f"https://rec.example/{n}.mp3",
            "recordCall": True,
            "transcribeCall": True,
            "transcribeText": "transcript",
        },
    }
    item.update(overrides)
    return item


def minimal_message(n: int = 0, **overrides: Any) -> dict[str, Any]:
    item = {
        "sourceUuid": f"min-{n}",
        "sentOn": "2024-02-01T12:00:00Z",
        "messageAttributes": {"body": f"hello {n}", "type": "OUTGOING", "protocol": "TEXT", "purpose": "F"},
    }
    item.update(overrides)
    return item


def with_attrs(item: dict[str, Any], **attributes: Any) -> dict[str, Any]:
    item = copy.deepcopy(item)
    item["messageAttributes"].update(attributes)
    return item


def database_url_of_the_test_database() -> str:
    """A DATABASE_URL for the test database, for a server or worker the test starts as a
    subprocess (it must see the rows the test wrote: use with a transactional test)."""
    from urllib.parse import quote

    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    credentials = quote(settings["USER"] or "")
    if settings["PASSWORD"]:
        credentials += ":" + quote(settings["PASSWORD"])
    return f"postgres://{credentials}@{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432}/{settings['NAME']}"


def by_parent_index(plan: str) -> str:
    """An EXPLAIN text with each partition's index named by the partitioned table's index it
    belongs to (``messages_app_message_p03_search_vector_idx`` reads ``message_search_idx``)."""
    import re

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_partition_root(c.oid)::regclass::text FROM pg_class c "
            "WHERE c.relkind = 'i' AND c.relispartition"
        )
        roots = dict(cursor.fetchall())
    return re.sub(r"\b\w+\b", lambda word: roots.get(word.group(0), word.group(0)), plan)
