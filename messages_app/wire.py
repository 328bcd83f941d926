"""The wire format of the historical PUT, in one place.

Field names are exactly the source document's camelCase names (including its spelling
``succesfullySubmittedSourceUuids``); ``source=`` maps each to the snake_case model
column, so ``validated_data`` is ready to become rows. Fields are strict about JSON types
(no "1" for true, no 5 for "5") and keep strings exactly as sent (no trimming).
"""

import re
from datetime import UTC, datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .api.exceptions import EmptyRequest, InvalidRequestShape, TooManyMessages
from .enums import ButtonTheme, DraftFailureReason, DraftStatus, MessageTagValue, MessageType, Protocol, Purpose
from .errors import UNSTORABLE_RE, ErrorCode, Problem, WarningCode
from .models import IDENTIFIER_MAX_LENGTH

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FREE_JSON_MAX_DEPTH = 32
# An item is stored as received (source_payload): bounded so that encoding it never recurses too
# deep. Known fields nest at most 36 levels (a free JSON value at its limit); only unknown ones go deeper.
ITEM_MAX_DEPTH = 64
_IDENTIFIER_RE = re.compile(rf"[^\s\x00-\x1f\x7f-\x9f]{{1,{IDENTIFIER_MAX_LENGTH}}}")


def is_identifier(value: object) -> bool:
    """Opaque ids: 1-255 printable characters without whitespace, stored as given."""
    return isinstance(value, str) and _IDENTIFIER_RE.fullmatch(value) is not None and value.isprintable()


def parse_datetime(value: str) -> tuple[datetime, bool] | None:
    """Parse an ISO 8601 date-time; return it in UTC and whether it had no offset."""
    if len(value) < 16 or value[10] not in "Tt ":
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC), True
    try:
        return parsed.astimezone(UTC), False
    except OverflowError:  # 0001-01-01T00:00+01:00 or 9999-12-31T23:59-01:00: no such UTC date-time
        return None


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether objects and arrays are nested more than ``limit`` levels (``{"a": 1}`` is one)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class _Optional:
    """Defaults shared by every wire field: optional, and null means absent."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)


class TextField(_Optional, serializers.CharField):
    """A JSON string, kept exactly (no trimming, empty allowed)."""

    default_error_messages = {ErrorCode.INVALID_FIELD_TYPE: "Expected a string."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        return data


@extend_schema_field(
    {
        "type": "string",
        "minLength": 1,
        "maxLength": IDENTIFIER_MAX_LENGTH,
        "pattern": r"^[^\s\x00-\x1f\x7f-\x9f]+$",
        "description": "An opaque identifier, stored as given.",
    }
)
class IdentifierField(TextField):
    """An opaque identifier: 1-255 printable characters without whitespace."""

    default_error_messages = {
        ErrorCode.INVALID_IDENTIFIER: "Expected 1-255 printable characters without whitespace.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", IDENTIFIER_MAX_LENGTH)
        super().__init__(**kwargs)
        self.validators = []

    def run_validation(self, data: Any = serializers.empty) -> Any:
        if isinstance(data, str) and data == "":  # CharField returns "" without calling to_internal_value
            self.fail(ErrorCode.INVALID_IDENTIFIER)
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not is_identifier(value):
            self.fail(ErrorCode.INVALID_IDENTIFIER)
        return value


class EnumField(_Optional, serializers.ChoiceField):
    """A case-sensitive value of one of the source document's enumerations."""

    default_error_messages = {
        ErrorCode.INVALID_FIELD_TYPE: "Expected a string.",
        ErrorCode.INVALID_ENUM_VALUE: '"{input}" is not one of the allowed values.',
    }

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        if data not in self.choices:
            self.fail(ErrorCode.INVALID_ENUM_VALUE, input=data[:100])
        return data


class StrictBooleanField(_Optional, serializers.BooleanField):
    """A JSON true or false, nothing else."""

    default_error_messages = {ErrorCode.INVALID_FIELD_TYPE: "Expected true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        return data


class Int64Field(_Optional, serializers.IntegerField):
    """A JSON integer within the signed 64-bit range (``int64`` in the source)."""

    default_error_messages = {
        ErrorCode.INVALID_FIELD_TYPE: "Expected an integer.",
        ErrorCode.VALUE_OUT_OF_RANGE: "Expected an integer between -2^63 and 2^63-1.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", INT64_MIN)
        kwargs.setdefault("max_value", INT64_MAX)
        super().__init__(**kwargs)
        self.validators = []

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        if not INT64_MIN <= data <= INT64_MAX:
            self.fail(ErrorCode.VALUE_OUT_OF_RANGE)
        return data


class IsoDateTimeField(_Optional, serializers.DateTimeField):
    """An ISO 8601 date-time; without an offset it is taken as UTC (the ingest service warns)."""

    default_error_messages = {
        ErrorCode.INVALID_FIELD_TYPE: "Expected an ISO 8601 date-time string.",
        ErrorCode.INVALID_DATETIME: '"{input}" is not an ISO 8601 date-time such as 2025-03-28T11:34:43.227Z.',
    }

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        parsed = parse_datetime(data)
        if parsed is None:
            self.fail(ErrorCode.INVALID_DATETIME, input=data[:100])
        return parsed[0]

    def to_representation(self, value: datetime) -> str:
        """UTC with a Z, in milliseconds when that loses nothing (as the source's examples)."""
        value = value.astimezone(UTC)
        timespec = "milliseconds" if value.microsecond % 1000 == 0 else "microseconds"
        if value.microsecond == 0:
            timespec = "seconds"
        return value.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


class StringMapField(_Optional, serializers.DictField):
    """A JSON object whose values are all strings (``metaData``, ``buttonActionEventData``)."""

    default_error_messages = {ErrorCode.INVALID_FIELD_TYPE: "Expected an object whose values are strings."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.CharField(trim_whitespace=False, allow_blank=True))
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        return data


@extend_schema_field({"type": "object", "additionalProperties": {}, "description": "A free JSON object."})
class FreeJSONObjectField(_Optional, serializers.JSONField):
    """A free JSON object (``messageTags[].value``), at most 32 levels deep."""

    default_error_messages = {
        ErrorCode.INVALID_FIELD_TYPE: "Expected a JSON object.",
        ErrorCode.NESTING_TOO_DEEP: f"Nested more than {FREE_JSON_MAX_DEPTH} levels deep.",
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        if json_depth_exceeds(data, FREE_JSON_MAX_DEPTH):
            self.fail(ErrorCode.NESTING_TOO_DEEP)
        return data


class ListOf(_Optional, serializers.ListField):
    """A JSON array of one kind of value."""

    default_error_messages = {ErrorCode.INVALID_FIELD_TYPE: "Expected a list."}

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        return super().to_internal_value(data)


class WireSerializer(serializers.Serializer):
    """A nested object of the wire format: optional, null means absent, type-checked."""

    default_error_messages = {ErrorCode.INVALID_FIELD_TYPE: "Expected a JSON object."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not kwargs.get("many"):
            kwargs.setdefault("required", False)
            kwargs.setdefault("allow_null", True)
        super().__init__(*args, **kwargs)

    @classmethod
    def many_init(cls, *args: Any, **kwargs: Any) -> serializers.ListSerializer:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs["child"] = cls(allow_null=False)
        return StrictListSerializer(*args, **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        return super().to_internal_value(data)


class StrictListSerializer(serializers.ListSerializer):
    default_error_messages = {ErrorCode.INVALID_FIELD_TYPE: "Expected a list."}

    def to_internal_value(self, data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, list):
            self.fail(ErrorCode.INVALID_FIELD_TYPE)
        return super().to_internal_value(data)


# --- Request -----------------------------------------------------------------------------


class DraftAttributesSerializer(WireSerializer):
    draftStatus = EnumField(choices=DraftStatus.choices, source="draft_status")
    scheduledOn = TextField(source="scheduled_on", help_text="A plain string in the source, stored as given.")
    draftFailureReason = EnumField(choices=DraftFailureReason.choices, source="draft_failure_reason")


class AttachmentSerializer(WireSerializer):
    fileURL = TextField(source="file_url")
    attachmentExtension = TextField(source="attachment_extension")
    mimeType = TextField(source="mime_type")
    originalFileName = TextField(source="original_file_name")
    docSize = TextField(source="doc_size", help_text="A plain string in the source, stored as given.")
    thumbnailURL = TextField(source="thumbnail_url")
    mediaPreviewURL = TextField(source="media_preview_url")


class PrimaryAttributeSerializer(WireSerializer):
    value = TextField()


class SecondaryAttributeSerializer(WireSerializer):
    value = TextField()


class ParentTagSerializer(WireSerializer):
    tagTypeUuid = IdentifierField(source="tag_type_uuid")
    referenceIdentifier = TextField(source="reference_identifier")


class MessageTagSerializer(WireSerializer):
    tagTypeUuid = IdentifierField(source="tag_type_uuid")
    referenceIdentifier = TextField(source="reference_identifier")
    value = FreeJSONObjectField(help_text="A free JSON object.")
    primaryAttribute = PrimaryAttributeSerializer(source="primary_attribute")
    secondaryAttributes = SecondaryAttributeSerializer(many=True, source="secondary_attributes")
    parentTags = ParentTagSerializer(many=True, source="parent_tags")


class MessageAttributesSerializer(WireSerializer):
    body = TextField()
    type = EnumField(choices=MessageType.choices)
    protocol = EnumField(choices=Protocol.choices)
    purpose = EnumField(choices=Purpose.choices)
    isManual = StrictBooleanField(source="is_manual")
    subject = TextField()
    metaData = StringMapField(source="meta_data", help_text="A map of strings to strings.")
    tags = ListOf(child=EnumField(choices=MessageTagValue.choices, allow_null=False))
    draftAttributes = DraftAttributesSerializer(source="draft_attributes")
    attachments = AttachmentSerializer(many=True)
    defaultReplyAction = TextField(source="default_reply_action")
    updateThreadTimestamp = StrictBooleanField(source="update_thread_timestamp", help_text="Absent means true.")
    updateTotalMessageCount = StrictBooleanField(source="update_total_message_count", help_text="Absent means true.")
    showInCustomerConversation = StrictBooleanField(
        source="show_in_customer_conversation", help_text="Absent means true."
    )
    messageTags = MessageTagSerializer(many=True, source="message_tags")


class NotificationButtonSerializer(WireSerializer):
    buttonTextTranslationWidgetKey = TextField(source="button_text_translation_widget_key")
    buttonTextTranslationKey = TextField(source="button_text_translation_key")
    buttonDefaultText = TextField(source="button_default_text")
    buttonTheme = EnumField(choices=ButtonTheme.choices, source="button_theme")
    buttonActionEventData = StringMapField(source="button_action_event_data", help_text="A map of strings to strings.")
    isPrimaryButton = StrictBooleanField(source="is_primary_button")


class NotificationAttributesSerializer(WireSerializer):
    internalSubscribersNotifierPop = StrictBooleanField(source="internal_subscribers_notifier_pop")
    externalSubscribersNotifierPop = StrictBooleanField(source="external_subscribers_notifier_pop")
    threadOwnerNotifierPop = StrictBooleanField(source="thread_owner_notifier_pop")
    sendPhoneNotification = StrictBooleanField(source="send_phone_notification")
    additionalNotifierNotificationDAUUIDs = ListOf(
        child=IdentifierField(allow_null=False), source="additional_notifier_notification_da_uuids"
    )
    notificationButtons = NotificationButtonSerializer(many=True, source="notification_buttons")


class VoiceCallAttributesSerializer(WireSerializer):
    callingParty = TextField(source="calling_party")
    party2 = TextField()
    party1Prompt = TextField(source="party1_prompt")
    party2prompt = TextField(source="party2_prompt")
    callStatus = Int64Field(source="call_status")
    callIdentifier = TextField(source="call_identifier")
    callDateTime = IsoDateTimeField(source="call_date_time")
    callBroker = TextField(source="call_broker")
    recordingUrl = TextField(source="recording_url")
    recordCall = StrictBooleanField(source="record_call")
    transcribeCall = StrictBooleanField(source="transcribe_call")
    transcribeText = TextField(source="transcribe_text")


class SaveMessageRequestSerializer(WireSerializer):
    """One historical message (an entry of ``saveMessageRequestList``)."""

    sourceUuid = IdentifierField(source="source_uuid", help_text="Required. The idempotency key in the department.")
    callBackPathUrl = TextField(source="callback_path_url")
    sentOn = IsoDateTimeField(source="sent_on")
    receivedOn = IsoDateTimeField(source="received_on")
    userUuid = IdentifierField(source="user_uuid")
    messageUuid = IdentifierField(
        source="message_uuid", help_text="The server's id; generated when absent, must not belong to another message."
    )
    communicationUid = IdentifierField(source="communication_uid")
    messageAttributes = MessageAttributesSerializer(source="message_attributes")
    notificationAttributes = NotificationAttributesSerializer(source="notification_attributes")
    voiceCallAttributes = VoiceCallAttributesSerializer(source="voice_call_attributes")


class SaveMessagesRequestSerializer(serializers.Serializer):
    """The PUT body. Documents the request; the view validates its top level by hand."""

    saveMessageRequestList = SaveMessageRequestSerializer(many=True)
    callBackPathUrl = TextField()


# --- Response ----------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    errorCode = serializers.CharField()
    errorDescription = serializers.CharField()
    errorUID = serializers.CharField()


class WarningSerializer(serializers.Serializer):
    warningCode = serializers.CharField()
    warningDescription = serializers.CharField()


class SaveMessageResponseSerializer(serializers.Serializer):
    sourceUuid = serializers.CharField(allow_null=True)
    messageUuid = serializers.CharField(allow_null=True)
    errors = ErrorSerializer(many=True)
    warnings = WarningSerializer(many=True)


class SaveMessagesResponseSerializer(serializers.Serializer):
    saveMessageResponse = SaveMessageResponseSerializer(many=True)
    succesfullySubmittedSourceUuids = serializers.ListField(child=serializers.CharField())
    failedSourceUuids = serializers.ListField(child=serializers.CharField())
    errors = ErrorSerializer(many=True)
    warnings = WarningSerializer(many=True)


def shape_of(serializer: serializers.Serializer) -> dict[str, Any]:
    """The nested field names of a wire serializer, for naming unknown fields."""
    shape: dict[str, Any] = {}
    for name, fld in serializer.fields.items():
        if isinstance(fld, serializers.ListSerializer):
            shape[name] = shape_of(fld.child)
        elif isinstance(fld, serializers.Serializer):
            shape[name] = shape_of(fld)
        else:
            shape[name] = None
    return shape


ITEM_SHAPE = shape_of(SaveMessageRequestSerializer())
REQUEST_FIELDS = frozenset(SaveMessagesRequestSerializer().fields)


def parse_request(data: Any, *, max_items: int) -> tuple[list[Any], str | None, list[Problem]]:
    """Check the top level of a PUT body; return its items, callback URL and warnings.

    Raises a ``RequestError`` (nothing is written) when the body as a whole is unusable.
    Items themselves are validated one by one by the ingest service.
    """
    if type(data) is not dict:
        raise InvalidRequestShape("The body must be a JSON object with a saveMessageRequestList array.")
    items = data.get("saveMessageRequestList")
    if not isinstance(items, list):
        raise InvalidRequestShape("Must be an array of messages.", path="saveMessageRequestList")
    if not items:
        raise EmptyRequest("Must hold at least one message.", path="saveMessageRequestList")
    if len(items) > max_items:
        raise TooManyMessages(
            f"Holds {len(items)} messages; at most {max_items} are accepted per request.",
            path="saveMessageRequestList",
        )
    callback = data.get("callBackPathUrl")
    if callback is not None and not isinstance(callback, str):
        raise InvalidRequestShape("Must be a string.", path="callBackPathUrl")
    if callback is not None and UNSTORABLE_RE.search(callback):
        raise InvalidRequestShape("Contains NUL (\\u0000) or a lone surrogate.", path="callBackPathUrl")
    warnings = [
        Problem(WarningCode.UNKNOWN_FIELD, key, "Not part of the format; ignored.")
        for key in data
        if key not in REQUEST_FIELDS
    ]
    return items, callback or None, warnings


_ITEM_WRITER = SaveMessageRequestSerializer()


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict) and not isinstance(value, FreeJSON):
        return {k: _without_empty(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value


class FreeJSON(dict):
    """Marks a free JSON object so that its nulls and empty lists are kept as sent."""


def to_wire(record: dict[str, Any]) -> dict[str, Any]:
    """A stored message's record (``selectors.message_record``) as a wire item.

    Absent, null and empty lists are left out: they mean the same on the way in.
    """
    item = _ITEM_WRITER.to_representation(record)
    for tag in (item.get("messageAttributes") or {}).get("messageTags") or []:
        if tag.get("value") is not None:
            tag["value"] = FreeJSON(tag["value"])
    return _without_empty(item)
