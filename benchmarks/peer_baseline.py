"""The peer baseline of benchmarks/ingest_speed.py: the historical PUT written the way DRF's
documentation teaches writable nested serializers.

https://www.django-rest-framework.org/api-guide/relations/#writable-nested-serializers :
``ModelSerializer`` classes nested inside each other, validated with ``many=True``, and a
``create()`` that creates the parent with ``Model.objects.create(...)`` and then each child,
one by one. The wire's camelCase names map to the columns with ``extra_kwargs`` sources.

It stores the same rows as the ingest service for new messages (the message with its
payload and hash, and its 17 part rows for a fully populated item; the customer, the
conversation and its counters; one ImportBatch per request) and answers in the same
envelope, so ingest_speed.py can check it like the real endpoint. It does not do what the
service adds on top (idempotent re-sends, partial success, the API's error codes): it is a
speed reference for the naive approach, not a second implementation. Served only by the
benchmark's gunicorn (``DJANGO_SETTINGS_MODULE=benchmarks.settings``), at
``/peer/department/{departmentUUID}/customer/{customerUUID}/communication/historical``.
"""

import hashlib
import json
import uuid
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Q
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from messages_app.enums import ApiScope, ImportSource
from messages_app.models import (
    ApiClientGrant,
    Attachment,
    Conversation,
    Customer,
    DraftAttributes,
    ImportBatch,
    Message,
    MessageTag,
    MessageTagParent,
    MessageTagSecondaryAttribute,
    NotificationAttributes,
    NotificationButton,
    NotificationNotifier,
    VoiceCallAttributes,
)


class DraftAttributesSerializer(serializers.ModelSerializer):
    class Meta:
        model = DraftAttributes
        fields = ["draftStatus", "scheduledOn", "draftFailureReason"]
        extra_kwargs = {
            "draftStatus": {"source": "draft_status"},
            "scheduledOn": {"source": "scheduled_on"},
            "draftFailureReason": {"source": "draft_failure_reason"},
        }


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = [
            "fileURL",
            "attachmentExtension",
            "mimeType",
            "originalFileName",
            "docSize",
            "thumbnailURL",
            "mediaPreviewURL",
        ]
        extra_kwargs = {
            "fileURL": {"source": "file_url"},
            "attachmentExtension": {"source": "attachment_extension"},
            "mimeType": {"source": "mime_type"},
            "originalFileName": {"source": "original_file_name"},
            "docSize": {"source": "doc_size"},
            "thumbnailURL": {"source": "thumbnail_url"},
            "mediaPreviewURL": {"source": "media_preview_url"},
        }


class PrimaryAttributeSerializer(serializers.Serializer):
    value = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class SecondaryAttributeSerializer(serializers.ModelSerializer):
    class Meta:
        model = MessageTagSecondaryAttribute
        fields = ["value"]


class ParentTagSerializer(serializers.ModelSerializer):
    class Meta:
        model = MessageTagParent
        fields = ["tagTypeUuid", "referenceIdentifier"]
        extra_kwargs = {
            "tagTypeUuid": {"source": "tag_type_uuid"},
            "referenceIdentifier": {"source": "reference_identifier"},
        }


class MessageTagSerializer(serializers.ModelSerializer):
    primaryAttribute = PrimaryAttributeSerializer(source="primary_attribute", required=False, allow_null=True)
    secondaryAttributes = SecondaryAttributeSerializer(many=True, required=False, source="secondary_attributes")
    parentTags = ParentTagSerializer(many=True, required=False, source="parent_tags")

    class Meta:
        model = MessageTag
        fields = [
            "tagTypeUuid",
            "referenceIdentifier",
            "value",
            "primaryAttribute",
            "secondaryAttributes",
            "parentTags",
        ]
        extra_kwargs = {
            "tagTypeUuid": {"source": "tag_type_uuid"},
            "referenceIdentifier": {"source": "reference_identifier"},
        }


class MessageAttributesSerializer(serializers.ModelSerializer):
    """``messageAttributes``: the message's own columns, flattened into it with ``source="*"``."""

    draftAttributes = DraftAttributesSerializer(source="draft_attributes", required=False, allow_null=True)
    attachments = AttachmentSerializer(many=True, required=False)
    messageTags = MessageTagSerializer(many=True, required=False, source="message_tags")

    class Meta:
        model = Message
        fields = [
            "body",
            "type",
            "protocol",
            "purpose",
            "isManual",
            "subject",
            "metaData",
            "tags",
            "draftAttributes",
            "attachments",
            "defaultReplyAction",
            "updateThreadTimestamp",
            "updateTotalMessageCount",
            "showInCustomerConversation",
            "messageTags",
        ]
        extra_kwargs = {
            "isManual": {"source": "is_manual"},
            "metaData": {"source": "meta_data"},
            "defaultReplyAction": {"source": "default_reply_action"},
            "updateThreadTimestamp": {"source": "update_thread_timestamp"},
            "updateTotalMessageCount": {"source": "update_total_message_count"},
            "showInCustomerConversation": {"source": "show_in_customer_conversation"},
        }


class NotificationButtonSerializer(serializers.ModelSerializer):
    class Meta:
        model = NotificationButton
        fields = [
            "buttonTextTranslationWidgetKey",
            "buttonTextTranslationKey",
            "buttonDefaultText",
            "buttonTheme",
            "buttonActionEventData",
            "isPrimaryButton",
        ]
        extra_kwargs = {
            "buttonTextTranslationWidgetKey": {"source": "button_text_translation_widget_key"},
            "buttonTextTranslationKey": {"source": "button_text_translation_key"},
            "buttonDefaultText": {"source": "button_default_text"},
            "buttonTheme": {"source": "button_theme"},
            "buttonActionEventData": {"source": "button_action_event_data"},
            "isPrimaryButton": {"source": "is_primary_button"},
        }


class NotificationAttributesSerializer(serializers.ModelSerializer):
    additionalNotifierNotificationDAUUIDs = serializers.ListField(
        child=serializers.CharField(max_length=255), required=False, source="da_uuids"
    )
    notificationButtons = NotificationButtonSerializer(many=True, required=False, source="buttons")

    class Meta:
        model = NotificationAttributes
        fields = [
            "internalSubscribersNotifierPop",
            "externalSubscribersNotifierPop",
            "threadOwnerNotifierPop",
            "sendPhoneNotification",
            "additionalNotifierNotificationDAUUIDs",
            "notificationButtons",
        ]
        extra_kwargs = {
            "internalSubscribersNotifierPop": {"source": "internal_subscribers_notifier_pop"},
            "externalSubscribersNotifierPop": {"source": "external_subscribers_notifier_pop"},
            "threadOwnerNotifierPop": {"source": "thread_owner_notifier_pop"},
            "sendPhoneNotification": {"source": "send_phone_notification"},
        }


class VoiceCallAttributesSerializer(serializers.ModelSerializer):
    class Meta:
        model = VoiceCallAttributes
        fields = [
            "callingParty",
            "party2",
            "party1Prompt",
            "party2prompt",
            "callStatus",
            "callIdentifier",
            "callDateTime",
            "callBroker",
            "recordingUrl",
            "recordCall",
            "transcribeCall",
            "transcribeText",
        ]
        extra_kwargs = {
            "callingParty": {"source": "calling_party"},
            "party1Prompt": {"source": "party1_prompt"},
            "party2prompt": {"source": "party2_prompt"},
            "callStatus": {"source": "call_status"},
            "callIdentifier": {"source": "call_identifier"},
            "callDateTime": {"source": "call_date_time"},
            "callBroker": {"source": "call_broker"},
            "recordingUrl": {"source": "recording_url"},
            "recordCall": {"source": "record_call"},
            "transcribeCall": {"source": "transcribe_call"},
            "transcribeText": {"source": "transcribe_text"},
        }


class MessageListSerializer(serializers.ListSerializer):
    """``many=True``: creates the messages one after the other, each with its item as received."""

    def create(self, validated_data: list[dict[str, Any]]) -> list[Message]:
        return [
            self.child.create({**attrs, "source_payload": raw})
            for attrs, raw in zip(validated_data, self.initial_data, strict=True)
        ]


class MessageSerializer(serializers.ModelSerializer):
    """One item of ``saveMessageRequestList``."""

    messageAttributes = MessageAttributesSerializer(source="*", required=False)
    notificationAttributes = NotificationAttributesSerializer(
        source="notification_attributes", required=False, allow_null=True
    )
    voiceCallAttributes = VoiceCallAttributesSerializer(source="voice_call_attributes", required=False, allow_null=True)

    class Meta:
        model = Message
        list_serializer_class = MessageListSerializer
        fields = [
            "sourceUuid",
            "callBackPathUrl",
            "sentOn",
            "receivedOn",
            "userUuid",
            "messageUuid",
            "communicationUid",
            "messageAttributes",
            "notificationAttributes",
            "voiceCallAttributes",
        ]
        extra_kwargs = {
            "sourceUuid": {"source": "source_uuid"},
            "callBackPathUrl": {"source": "callback_path_url"},
            "sentOn": {"source": "sent_on"},
            "receivedOn": {"source": "received_on"},
            "userUuid": {"source": "user_uuid"},
            "messageUuid": {"source": "message_uuid", "required": False},
            "communicationUid": {"source": "communication_uid"},
        }

    def create(self, validated_data: dict[str, Any]) -> Message:
        draft = validated_data.pop("draft_attributes", None)
        attachments = validated_data.pop("attachments", None) or []
        tags = validated_data.pop("message_tags", None) or []
        notification = validated_data.pop("notification_attributes", None)
        voice_call = validated_data.pop("voice_call_attributes", None)
        raw = validated_data["source_payload"]
        times = [t for t in (validated_data.get("sent_on"), validated_data.get("received_on")) if t is not None]
        validated_data.setdefault("message_uuid", str(uuid.uuid4()))
        validated_data["message_at"] = max(times)
        validated_data["is_trashed"] = "TRASH" in (validated_data.get("tags") or [])
        validated_data["payload_hash"] = hashlib.sha256(
            json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        message = Message.objects.create(**validated_data)
        department = message.department
        if draft is not None:
            DraftAttributes.objects.create(department=department, message=message, **draft)
        for position, attachment in enumerate(attachments):
            Attachment.objects.create(department=department, message=message, position=position, **attachment)
        for position, tag_data in enumerate(tags):
            primary = tag_data.pop("primary_attribute", None) or {}
            secondaries = tag_data.pop("secondary_attributes", None) or []
            parents = tag_data.pop("parent_tags", None) or []
            tag = MessageTag.objects.create(
                department=department,
                message=message,
                position=position,
                primary_attribute_value=primary.get("value"),
                **tag_data,
            )
            for index, secondary in enumerate(secondaries):
                MessageTagSecondaryAttribute.objects.create(
                    department=department, message=message, tag=tag, position=index, **secondary
                )
            for index, parent in enumerate(parents):
                MessageTagParent.objects.create(
                    department=department, message=message, tag=tag, position=index, **parent
                )
        if notification is not None:
            da_uuids = notification.pop("da_uuids", None) or []
            buttons = notification.pop("buttons", None) or []
            NotificationAttributes.objects.create(department=department, message=message, **notification)
            for position, da_uuid in enumerate(da_uuids):
                NotificationNotifier.objects.create(
                    department=department, message=message, position=position, da_uuid=da_uuid
                )
            for position, button in enumerate(buttons):
                NotificationButton.objects.create(department=department, message=message, position=position, **button)
        if voice_call is not None:
            VoiceCallAttributes.objects.create(department=department, message=message, **voice_call)
        return message


class PeerHistoricalView(APIView):
    """PUT a ``saveMessageRequestList`` for one customer; same auth, grants and envelope as the API."""

    def put(self, request: Request, departmentUUID: str, customerUUID: str) -> Response:
        grant = (
            ApiClientGrant.objects.select_related("department")
            .filter(client=request.auth, department__uuid=departmentUUID, scope=ApiScope.MESSAGE_CREATE)
            .first()
        )
        if grant is None:
            raise exceptions.PermissionDenied("No message.create grant for this department.")
        department = grant.department
        items = request.data.get("saveMessageRequestList") if isinstance(request.data, dict) else None
        if not isinstance(items, list) or not items:
            raise exceptions.ValidationError({"saveMessageRequestList": "Expected a non-empty list."})
        serializer = MessageSerializer(data=items, many=True)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            customer, _ = Customer.objects.get_or_create(department=department, uuid=customerUUID)
            conversation, _ = Conversation.objects.get_or_create(department=department, customer=customer)
            batch = ImportBatch.objects.create(
                source=ImportSource.API,
                department=department,
                customer=customer,
                client=request.auth,
                origin=request.META.get("REMOTE_ADDR", ""),
                item_count=len(items),
            )
            messages = serializer.save(
                department=department,
                customer=customer,
                conversation=conversation,
                created_batch=batch,
                updated_batch=batch,
            )
            counters = conversation.messages.aggregate(
                total=Count("id", filter=Q(update_total_message_count=True)),
                last=Max("message_at", filter=Q(update_thread_timestamp=True)),
            )
            conversation.total_message_count = counters["total"]
            conversation.last_message_at = counters["last"]
            conversation.save(update_fields=["total_message_count", "last_message_at", "updated_at"])
            answer = {
                "saveMessageResponse": [
                    {"sourceUuid": m.source_uuid, "messageUuid": m.message_uuid, "errors": [], "warnings": []}
                    for m in messages
                ],
                "succesfullySubmittedSourceUuids": [m.source_uuid for m in messages],
                "failedSourceUuids": [],
                "errors": [],
                "warnings": [],
            }
            batch.created_count = len(messages)
            batch.response = answer
            batch.save(update_fields=["created_count", "response"])
        return Response(answer)
