"""A small, hand-written demo history for the demo department (``setup_demo``), so the
admin and the transcript have something to show at once.

Four customers of a car dealership's service department, with every message type and
protocol, an email with an attachment, voice calls, drafts, message tags, a trashed
message, a hidden one and one message a staff member corrected. It goes through the
ingest service like any import, with fixed ``sourceUuid`` values and timestamps, so
running it again answers "unchanged" for every item and never duplicates a message; the
correction is applied once, by the staff member given.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from ..conversations import lock_conversations
from ..corrections import record_correction
from ..enums import ImportSource
from ..ingest import ingest_messages
from ..models import Department, Message

ORIGIN = "setup_demo: demo history"
ADVISOR = "advisor-anna-berg"
FINANCE = "finance-tom-weller"
# The message staff corrected after it was imported, and how.
CORRECTED_SOURCE_UUID = "demo-history-maria-06"
CORRECTED_BODY = "Your Golf is ready for pick-up. We are open until 6 pm today. Total: EUR 389.40."


# Fields of the item itself; every other keyword is a messageAttributes field.
ITEM_FIELDS = ("userUuid", "voiceCallAttributes")


class DemoHistoryError(Exception):
    """An item of the demo history was refused: the data here no longer fits the format."""


def _text(source_uuid: str, moment: str, kind: str, body: str, purpose: str = "F", **attributes: Any) -> dict[str, Any]:
    """A message item; incoming ones carry ``receivedOn``, the others ``sentOn``."""
    item: dict[str, Any] = {"sourceUuid": source_uuid, "communicationUid": f"comm-{source_uuid}"}
    item["receivedOn" if kind == "INCOMING" else "sentOn"] = moment
    item.update({key: attributes.pop(key) for key in ITEM_FIELDS if key in attributes})
    item["messageAttributes"] = {
        "body": body,
        "type": kind,
        "protocol": attributes.pop("protocol", "TEXT"),
        "purpose": purpose,
        "isManual": kind != "INCOMING",
        **attributes,
    }
    return item


def _call(
    source_uuid: str, moment: str, kind: str, body: str, *, status: int, seconds: int, transcript: str
) -> dict[str, Any]:
    customer, dealer = "+15550142", "+15550100"
    caller, callee = (customer, dealer) if kind == "INCOMING" else (dealer, customer)
    return _text(
        source_uuid,
        moment,
        kind,
        body,
        protocol="VOICE_CALL",
        userUuid=ADVISOR,
        voiceCallAttributes={
            "callingParty": caller,
            "party2": callee,
            "callStatus": status,
            "callIdentifier": f"call-{source_uuid}",
            "callDateTime": moment,
            "callBroker": "demo-telephony",
            "recordingUrl": f"https://recordings.example.com/{source_uuid}.mp3",
            "recordCall": True,
            "transcribeCall": True,
            "transcribeText": f"{transcript} ({seconds} s)",
        },
    )


def _tag(tag_type: str, reference: str, primary: str, *secondary: str) -> dict[str, Any]:
    return {
        "tagTypeUuid": tag_type,
        "referenceIdentifier": reference,
        "value": {"source": "dms"},
        "primaryAttribute": {"value": primary},
        "secondaryAttributes": [{"value": value} for value in secondary],
    }


REPAIR_ORDER = _tag("repair-order", "RO-48213", "Brake service", "Front pads", "Brake fluid")

HISTORY: dict[str, list[dict[str, Any]]] = {
    "maria-lopez": [
        _text(
            "demo-history-maria-01",
            "2025-03-24T08:02:11Z",
            "OUTGOING",
            "Hi Maria, this is Riverside Motors: your Golf is booked for a brake service on Thursday at 8:30.",
            "S",
            userUuid=ADVISOR,
            messageTags=[REPAIR_ORDER],
        ),
        _text("demo-history-maria-02", "2025-03-24T08:15:40Z", "INCOMING", "Thanks, see you Thursday!"),
        _text(
            "demo-history-maria-03",
            "2025-03-27T08:41:05Z",
            "NOTE",
            "Customer waits in the lounge; prefers texts after 5 pm.",
            protocol="NONE",
            userUuid=ADVISOR,
        ),
        _call(
            "demo-history-maria-04",
            "2025-03-27T10:12:00Z",
            "OUTGOING",
            "Called about the worn front pads.",
            status=2,
            seconds=94,
            transcript="Advisor: the front pads are worn, replacing them is EUR 240. Customer: yes, go ahead.",
        ),
        _text(
            "demo-history-maria-05",
            "2025-03-27T15:30:00Z",
            "OUTGOING",
            "Please find attached the invoice for today's visit.",
            "F",
            protocol="EMAIL",
            subject="Your invoice from Riverside Motors",
            userUuid=ADVISOR,
            attachments=[
                {
                    "fileURL": "https://files.example.com/invoices/RO-48213.pdf",
                    "attachmentExtension": "pdf",
                    "mimeType": "application/pdf",
                    "originalFileName": "Invoice RO-48213.pdf",
                    "docSize": "182 KB",
                }
            ],
            messageTags=[REPAIR_ORDER],
        ),
        _text(
            CORRECTED_SOURCE_UUID,
            "2025-03-27T15:31:12Z",
            "OUTGOING",
            "Your Golf is ready for pick-up. We are open untill 6 pm today. Total: EUR 398.40.",
            "F",
            userUuid=ADVISOR,
        ),
        _text("demo-history-maria-07", "2025-03-27T16:02:45Z", "INCOMING", "On my way, thank you!"),
    ],
    "james-okafor": [
        _text(
            "demo-history-james-01",
            "2025-02-10T13:00:00Z",
            "OUTGOING",
            "Hello James, you are invited to complete your finance application online.",
            "FinInviteM",
            protocol="EMAIL",
            subject="Your finance application",
            userUuid=FINANCE,
            messageTags=[_tag("finance-deal", "DEAL-7731", "Tiguan 2.0 TDI", "36 months")],
        ),
        _text("demo-history-james-02", "2025-02-10T17:45:09Z", "INCOMING", "Done, I submitted it."),
        _text(
            "demo-history-james-03",
            "2025-02-11T09:00:00Z",
            "DRAFT",
            "Hi James, the bank approved your application. When would you like to pick up the car?",
            "FOLLOWUP",
            userUuid=FINANCE,
            draftAttributes={"draftStatus": "SCHEDULED", "scheduledOn": "2025-02-12T09:00:00Z"},
        ),
        _text(
            "demo-history-james-04",
            "2025-02-11T09:05:00Z",
            "DISCARDED_DRAFT",
            "Hi James, any news about the application?",
            "FOLLOWUP",
            userUuid=FINANCE,
            draftAttributes={"draftStatus": "DISCARDED"},
        ),
    ],
    "sofia-rossi": [
        _text(
            "demo-history-sofia-01",
            "2025-01-15T10:00:00Z",
            "OUTGOING",
            "Important: a safety recall applies to your Polo (airbag inflator). The repair is free of charge.",
            "RECALL",
            messageTags=[_tag("recall-campaign", "RC-69Q7", "Airbag inflator")],
        ),
        _call(
            "demo-history-sofia-02",
            "2025-01-15T11:20:00Z",
            "INCOMING",
            "Customer called back about the recall.",
            status=2,
            seconds=187,
            transcript="Customer: can I bring the car next Monday? Advisor: Monday 9:00 is booked for you.",
        ),
        _text(
            "demo-history-sofia-03",
            "2025-01-15T11:25:00Z",
            "OUTGOING",
            "Test, please ignore",
            userUuid=ADVISOR,
            tags=["TRASH"],
        ),
        _text(
            "demo-history-sofia-04",
            "2025-01-15T11:26:30Z",
            "OUTGOING",
            "Confirmed: Monday 9:00 for the recall repair, about 2 hours. A courtesy car is ready for you.",
            "S",
            userUuid=ADVISOR,
        ),
    ],
    "li-wei": [
        _text(
            "demo-history-li-01",
            "2024-11-04T16:20:00Z",
            "INCOMING",
            "Hello, do you have winter tyres for a Model 3 in stock?",
            "INCOMING_MESSAGE",
            protocol="EMAIL",
            subject="Winter tyres",
        ),
        _text(
            "demo-history-li-02",
            "2024-11-04T16:20:02Z",
            "OUTGOING",
            "Thanks for your message, we will answer within one business day.",
            "AUTORESPOND",
            protocol="EMAIL",
            subject="Re: Winter tyres",
            isManual=False,
            showInCustomerConversation=False,
            updateThreadTimestamp=False,
            updateTotalMessageCount=False,
        ),
        _text(
            "demo-history-li-03",
            "2024-11-05T08:10:00Z",
            "OUTGOING",
            "Good morning, yes: a set of four is EUR 760 fitted. Shall we book you in?",
            protocol="EMAIL",
            subject="Re: Winter tyres",
            userUuid=ADVISOR,
        ),
    ],
}


@dataclass
class DemoHistory:
    """What loading the demo history did (every item is stored or was already)."""

    customers: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    corrected: bool = False


def load_demo_history(department: Department, *, staff: Any) -> DemoHistory:
    """Import the demo history into ``department`` and correct one message as ``staff``."""
    loaded = DemoHistory()
    for customer_uuid, items in HISTORY.items():
        result = ingest_messages(
            department=department,
            customer_uuid=customer_uuid,
            items=copy.deepcopy(items),
            source=ImportSource.COMMAND,
            origin=ORIGIN,
        )
        refused = [(item.source_uuid, [p.code for p in item.errors]) for item in result.items if not item.succeeded]
        if refused:
            raise DemoHistoryError(f"The demo history was refused: {refused}")
        loaded.customers += 1
        for item in result.items:
            loaded.outcomes[item.outcome.value] = loaded.outcomes.get(item.outcome.value, 0) + 1
    loaded.corrected = _correct_once(department, staff)
    return loaded


def _correct_once(department: Department, staff: Any) -> bool:
    """The staff member fixes a typo and a wrong total, as in the admin; once only."""
    with transaction.atomic():
        message = Message.objects.get(department=department, source_uuid=CORRECTED_SOURCE_UUID)
        lock_conversations([message.conversation_id])  # first, as every writer does
        message.refresh_from_db()
        if message.corrected_at is not None:
            return False
        message.body = CORRECTED_BODY
        message.save(update_fields=["body", "updated_at"])
        return record_correction(message, user=staff, fields=["body"])
