"""The wire format of the historical PUT, in one place: the request and response shapes.

Field names are exactly the source document's camelCase names (including its spelling
``succesfullySubmittedSourceUuids``); ``source=`` maps each to the snake_case model
column, so ``validated_data`` is ready to become rows.
"""

from typing import Any

from rest_framework import serializers

from ..enums import ButtonTheme, DraftFailureReason, DraftStatus, MessageTagValue, MessageType, Protocol, Purpose
from .fields import (
    EnumField,
    FreeJSONObjectField,
    IdentifierField,
    Int64Field,
    IsoDateTimeField,
    ListOf,
    StrictBooleanField,
    StringMapField,
    TextField,
    WireSerializer,
)

# --- Request -----------------------------------------------------------------------------


class DraftAttributesSerializer(WireSerializer):
    draftStatus = EnumField(DraftStatus, source="draft_status")
    scheduledOn = TextField(source="scheduled_on", help_text="A plain string in the source, stored as given.")
    draftFailureReason = EnumField(DraftFailureReason, source="draft_failure_reason")


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
    type = EnumField(MessageType)
    protocol = EnumField(Protocol)
    purpose = EnumField(Purpose)
    isManual = StrictBooleanField(source="is_manual")
    subject = TextField()
    metaData = StringMapField(source="meta_data", help_text="A map of strings to strings.")
    tags = ListOf(child=EnumField(MessageTagValue, allow_null=False))
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
    buttonTheme = EnumField(ButtonTheme, source="button_theme")
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
