"""Normalised storage of historical customer communications.

Every table carries its department so that the schema can later be partitioned or
distributed by department. Identifiers that come from integrations are opaque strings
stored exactly as given (``IDENTIFIER_MAX_LENGTH``); primary keys are our own.

One module per area; every model is importable from here (``from messages_app.models
import Message``), which is also where Django finds them.
"""

from . import lookups  # noqa: F401  (registers the field__any_of lookup)
from .batches import ImportBatch
from .callbacks import CallbackAttempt, CallbackDelivery
from .clients import MIN_CLIENT_SECRET_LENGTH, ApiClient, ApiClientGrant
from .messages import (
    ENUM_MAX_LENGTH,
    Attachment,
    DraftAttributes,
    Message,
    MessagePart,
    MessageTag,
    MessageTagParent,
    MessageTagSecondaryAttribute,
    MessageUuid,
    NotificationAttributes,
    NotificationButton,
    NotificationNotifier,
    VoiceCallAttributes,
)
from .tenancy import Conversation, Customer, Department

__all__ = [
    "ENUM_MAX_LENGTH",
    "MIN_CLIENT_SECRET_LENGTH",
    "ApiClient",
    "ApiClientGrant",
    "Attachment",
    "CallbackAttempt",
    "CallbackDelivery",
    "Conversation",
    "Customer",
    "Department",
    "DraftAttributes",
    "ImportBatch",
    "Message",
    "MessagePart",
    "MessageTag",
    "MessageTagParent",
    "MessageTagSecondaryAttribute",
    "MessageUuid",
    "NotificationAttributes",
    "NotificationButton",
    "NotificationNotifier",
    "VoiceCallAttributes",
]
