"""The parts of a message, edited inline on its page."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from ..models import (
    Attachment,
    DraftAttributes,
    MessageTag,
    NotificationAttributes,
    NotificationButton,
    NotificationNotifier,
    VoiceCallAttributes,
)
from .base import ScopedInline, admin_url


class DraftAttributesInline(ScopedInline, admin.StackedInline):
    model = DraftAttributes
    fields = ("draft_status", "scheduled_on", "draft_failure_reason")
    max_num = 1
    verbose_name_plural = "draft attributes"


class AttachmentInline(ScopedInline, admin.TabularInline):
    model = Attachment
    fields = (
        "position",
        "original_file_name",
        "file_url",
        "mime_type",
        "attachment_extension",
        "doc_size",
        "thumbnail_url",
        "media_preview_url",
    )
    readonly_fields = ("position",)


class MessageTagInline(ScopedInline, admin.TabularInline):
    model = MessageTag
    fields = ("position", "tag_type_uuid", "reference_identifier", "primary_attribute_value", "value", "parts_link")
    readonly_fields = ("position", "parts_link")

    @admin.display(description="secondary attributes and parent tags")
    def parts_link(self, tag: MessageTag) -> str:
        if tag.pk is None:
            return "Save the message first."
        return format_html('<a href="{}">Edit secondary attributes and parent tags</a>', admin_url(tag))


class NotificationAttributesInline(ScopedInline, admin.StackedInline):
    model = NotificationAttributes
    fields = (
        "internal_subscribers_notifier_pop",
        "external_subscribers_notifier_pop",
        "thread_owner_notifier_pop",
        "send_phone_notification",
    )
    max_num = 1
    verbose_name_plural = "notification attributes"


class NotificationNotifierInline(ScopedInline, admin.TabularInline):
    model = NotificationNotifier
    fields = ("position", "da_uuid")
    readonly_fields = ("position",)
    verbose_name_plural = "notification: additional notifier DA UUIDs"


class NotificationButtonInline(ScopedInline, admin.TabularInline):
    model = NotificationButton
    fields = (
        "position",
        "button_default_text",
        "button_theme",
        "is_primary_button",
        "button_text_translation_key",
        "button_text_translation_widget_key",
        "button_action_event_data",
    )
    readonly_fields = ("position",)
    verbose_name_plural = "notification buttons"


class VoiceCallAttributesInline(ScopedInline, admin.StackedInline):
    model = VoiceCallAttributes
    fields = (
        ("calling_party", "party2"),
        ("party1_prompt", "party2_prompt"),
        ("call_status", "call_identifier", "call_broker"),
        "call_date_time",
        ("recording_url", "record_call"),
        ("transcribe_call", "transcribe_text"),
    )
    max_num = 1
    verbose_name_plural = "voice call attributes"
