"""Messages: find, read and correct; the imported item stays read-only beside the correction.

A message's tags have a page of their own (``MessageTagAdmin``, one link from the
message) for their secondary attributes and parent tags.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import path
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from .. import corrections, scoping, selectors, textsearch
from ..models import Conversation, Message, MessageTag, MessageTagParent, MessageTagSecondaryAttribute
from ..transfer import exporting
from .base import EMPTY, ScopedAdmin, ScopedInline, admin_url, customer_messages_url, pretty_json
from .corrections import CorrectionMixin
from .filters import CorrectedListFilter, DepartmentListFilter, DropdownChoicesFilter, HiddenListFilter
from .forms import MessageCorrectionForm
from .inlines import (
    AttachmentInline,
    DraftAttributesInline,
    MessageTagInline,
    NotificationAttributesInline,
    NotificationButtonInline,
    NotificationNotifierInline,
    VoiceCallAttributesInline,
)
from .paging import PagedChangeList

# Where get_search_results leaves the words it searched for, for the page's highlights.
_TEXT_QUERY = "_comms_text_query"


def messages_count(count: int) -> str:
    """``1 message``, ``2 messages``."""
    return f"{count} {ngettext('message', 'messages', count)}"


class MessageChangeList(PagedChangeList):
    """The message list; a word search also highlights its matches in the page's rows
    (one query for the page, never for every match)."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        query = getattr(request, _TEXT_QUERY, "")
        if query:
            page = list(self.result_list)
            headlines = textsearch.highlights(page, query)
            for message in page:
                message.search_headline = headlines.get(message.pk)


@admin.register(Message)
class MessageAdmin(CorrectionMixin, ScopedAdmin):
    """Messages: find, read and correct; the imported item stays read-only beside the correction."""

    staff_may_change = True
    form = MessageCorrectionForm
    change_list_template = "admin/messages_app/message/change_list.html"
    # Few, narrow columns (static/messages_app/admin/comms_admin.css fixes their widths), so
    # the list fits a 1,400-pixel window beside the filters: type, protocol and purpose share
    # one, and trashed, hidden and corrected are badges in another.
    list_display = ("message_at", "customer_link", "department", "kind", "excerpt", "flags")
    list_display_links = ("message_at",)
    list_select_related = ("customer", "department")
    list_filter = (
        DepartmentListFilter,
        "type",
        "protocol",
        ("purpose", DropdownChoicesFilter),
        "is_trashed",
        HiddenListFilter,
        CorrectedListFilter,
    )
    # Identifiers are matched exactly first, anything else is a full-text search of subject
    # and body (get_search_results, textsearch); naming the fields shows the search box.
    search_fields = ("subject", "body")
    search_help_text = (
        'An exact customer UUID, sourceUuid or messageUuid; or words of the subject or body: "a phrase", '
        "-excluded, one OR other."
    )
    date_hierarchy = "message_at"
    sortable_by = ("message_at",)
    ordering = ("-message_at", "-id")
    keyset_field = "message_at"
    list_per_page = 100
    actions = ("move_to_trash", "restore_from_trash", "hide_from_customer", "show_to_customer", "revert", "export")
    inlines = (
        DraftAttributesInline,
        AttachmentInline,
        MessageTagInline,
        NotificationAttributesInline,
        NotificationNotifierInline,
        NotificationButtonInline,
        VoiceCallAttributesInline,
    )
    fieldsets = (
        (
            None,
            {"fields": ("browse", "body", "subject", ("type", "protocol", "purpose"), "is_manual")},
        ),
        ("Time", {"fields": (("sent_on", "received_on"), "message_at")}),
        (
            "Display and counters",
            {
                "fields": (
                    "show_in_customer_conversation",
                    "tags",
                    "is_trashed",
                    "update_thread_timestamp",
                    "update_total_message_count",
                    "default_reply_action",
                )
            },
        ),
        (
            "Identity",
            {
                "fields": (
                    "department",
                    "source_uuid",
                    "message_uuid",
                    "user_uuid",
                    "communication_uid",
                    "callback_path_url",
                    "meta_data",
                )
            },
        ),
        ("Correction", {"fields": ("corrected_at", "corrected_by", "corrected_fields")}),
        (
            "As imported",
            {
                "fields": (
                    "imported_by",
                    "created_at",
                    "updated_at",
                    "payload_hash",
                    "source_payload_json",
                ),
                "description": "The item exactly as received. Corrections never change it; "
                "“Revert to imported state” rebuilds the message from it.",
            },
        ),
        ("", {"fields": ("version",)}),
    )
    readonly_fields = (
        "browse",
        "message_at",
        "is_trashed",
        "department",
        "source_uuid",
        "message_uuid",
        "corrected_at",
        "corrected_by",
        "corrected_fields",
        "imported_by",
        "created_at",
        "updated_at",
        "payload_hash",
        "source_payload_json",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        queryset = super().get_queryset(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "messages_app_message_changelist":
            # The list never shows the stored item; a million of them are not read for it.
            queryset = queryset.defer("source_payload", "meta_data")
        return queryset

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[PagedChangeList]:
        return MessageChangeList

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        """An identifier finds its messages through an index; anything else is a full-text
        search (``textsearch``) within the rows the user may see."""
        if not search_term.strip():
            return queryset, False
        matches = selectors.identifier_matches(queryset, search_term, scoping.department_ids(request))
        if matches is not None:
            return matches, False
        setattr(request, _TEXT_QUERY, search_term)
        return textsearch.searched(queryset, search_term, scoping.department_ids(request)), False

    @admin.display(description="customer", ordering="customer__uuid")
    def customer_link(self, message: Message) -> str:
        url = admin_url(Conversation, "transcript", message.conversation_id)
        return format_html('<a href="{}?message={}#m{}">{}</a>', url, message.pk, message.pk, message.customer.uuid)

    @admin.display(description="type · protocol · purpose")
    def kind(self, message: Message) -> str:
        """``OUTGOING · TEXT · F``; a long value may break after its underscores."""
        values = [escape(value) for value in (message.type, message.protocol, message.purpose) if value]
        return mark_safe(" · ".join(values).replace("_", "_<wbr>")) if values else EMPTY  # noqa: S308 (escaped)

    @admin.display(description="subject or body")
    def excerpt(self, message: Message) -> str:
        """The subject (or body); when searching words, the matched words in their context."""
        headline = getattr(message, "search_headline", None)
        if headline is not None:
            return headline
        return Truncator(message.subject or message.body or "").chars(80)

    @admin.display(description="flags", empty_value="")
    def flags(self, message: Message) -> str:
        """Trashed, hidden and corrected as badges: one narrow column instead of three."""
        flags = [
            (name, name)
            for name, present in (
                ("trashed", message.is_trashed),
                ("hidden", not message.show_in_customer_conversation),
                ("corrected", message.corrected_at is not None),
            )
            if present
        ]
        return format_html_join(" ", '<span class="flag flag-{}">{}</span>', flags)

    @admin.display(description="conversation")
    def browse(self, message: Message) -> str:
        transcript = admin_url(Conversation, "transcript", message.conversation_id)
        return format_html(
            '<a href="{}?message={}#m{}">Transcript at this message</a> · '
            '<a href="{}">Conversation with {}</a> · <a href="{}">All its messages</a>',
            transcript,
            message.pk,
            message.pk,
            admin_url(Conversation, "change", message.conversation_id),
            message.customer.uuid,
            customer_messages_url(message.customer_id),
        )

    @admin.display(description="imported by")
    def imported_by(self, message: Message) -> str:
        links = [
            (label, admin_url(batch), str(batch))
            for label, batch in (("created", message.created_batch), ("last updated", message.updated_batch))
            if batch is not None
        ]
        if not links:
            return EMPTY
        return format_html_join(" · ", '{}: <a href="{}">{}</a>', links)

    @admin.display(description="source payload")
    def source_payload_json(self, message: Message) -> str:
        return pretty_json(message.source_payload)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(require_POST(self.revert_view))
        return [path("<path:object_id>/revert/", view, name="messages_app_message_revert"), *super().get_urls()]

    def revert_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Rebuild one message from its source payload (the button on its page)."""
        message = self.get_object(request, unquote(object_id))
        if not self.has_change_permission(request, message):
            raise PermissionDenied
        self._report_revert(
            request, corrections.revert_to_import(self.get_queryset(request).filter(pk=message.pk), user=request.user)
        )
        return redirect(admin_url(message))

    def _report_revert(self, request: HttpRequest, result: corrections.RevertResult) -> None:
        if result.reverted:
            count = result.reverted
            self.message_user(
                request,
                ngettext(
                    "Reverted %(count)d message to its imported state.",
                    "Reverted %(count)d messages to their imported state.",
                    count,
                )
                % {"count": count},
            )
        for source_uuid, errors in result.failed[:20]:
            self.message_user(
                request, f"{source_uuid} could not be reverted: {'; '.join(errors)}", level=messages.ERROR
            )

    @admin.action(description="Move selected messages to the trash", permissions=["change"])
    def move_to_trash(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        changed = corrections.set_trashed(queryset, True, user=request.user)
        self.message_user(request, f"Moved {messages_count(changed)} to the trash.")

    @admin.action(description="Restore selected messages from the trash", permissions=["change"])
    def restore_from_trash(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        changed = corrections.set_trashed(queryset, False, user=request.user)
        self.message_user(request, f"Restored {messages_count(changed)} from the trash.")

    @admin.action(description="Hide selected messages from the customer conversation", permissions=["change"])
    def hide_from_customer(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        changed = corrections.set_shown(queryset, False, user=request.user)
        self.message_user(request, f"Hid {messages_count(changed)} from the customer conversation.")

    @admin.action(description="Show selected messages in the customer conversation", permissions=["change"])
    def show_to_customer(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        changed = corrections.set_shown(queryset, True, user=request.user)
        self.message_user(request, f"Showed {messages_count(changed)} in the customer conversation.")

    @admin.action(description="Revert selected messages to their imported state", permissions=["change"])
    def revert(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        self._report_revert(request, corrections.revert_to_import(queryset, user=request.user))

    @admin.action(description="Export selected messages (JSON Lines, import format)", permissions=["view"])
    def export(self, request: HttpRequest, queryset: QuerySet[Message]) -> HttpResponse:
        lines = (
            json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False) + "\n"
            for document in exporting.export_documents(queryset)
        )
        response = StreamingHttpResponse(lines, content_type="application/x-ndjson")
        response["Content-Disposition"] = 'attachment; filename="messages.jsonl"'
        return response


@admin.register(MessageTag)
class MessageTagAdmin(CorrectionMixin, ScopedAdmin):
    """One tag of a message with its secondary attributes and parent tags (one link from the message).

    Not listed on the admin index: it is reached from its message.
    """

    staff_may_change = True
    part_prefix = "message_tags."
    fields = (
        "message_link",
        "position",
        "tag_type_uuid",
        "reference_identifier",
        "primary_attribute_value",
        "value",
    )
    readonly_fields = ("message_link", "position")
    list_display = ("__str__", "message_link")
    list_select_related = ("message",)

    class SecondaryAttributeInline(ScopedInline, admin.TabularInline):
        model = MessageTagSecondaryAttribute
        fk_name = "tag"
        fields = ("position", "value")
        readonly_fields = ("position",)
        verbose_name_plural = "secondary attributes"

    class ParentTagInline(ScopedInline, admin.TabularInline):
        model = MessageTagParent
        fk_name = "tag"
        fields = ("position", "tag_type_uuid", "reference_identifier")
        readonly_fields = ("position",)
        verbose_name_plural = "parent tags"

    inlines = (SecondaryAttributeInline, ParentTagInline)

    def message_of(self, obj: MessageTag) -> Message:
        """The tag's message, read once, by department and id (one partition)."""
        if not MessageTag._meta.get_field("message").is_cached(obj):
            obj.message = Message.objects.get(department_id=obj.department_id, pk=obj.message_id)
        return obj.message

    def get_model_perms(self, request: HttpRequest) -> dict[str, bool]:
        return {}

    @admin.display(description="message")
    def message_link(self, tag: MessageTag) -> str:
        return format_html('<a href="{}">{}</a>', admin_url(Message, "change", tag.message_id), tag.message)

    def response_change(self, request: HttpRequest, obj: MessageTag) -> HttpResponse:
        if "_continue" not in request.POST and "_addanother" not in request.POST:
            self.message_user(request, f"The tag {obj} was changed.")
            return redirect(admin_url(Message, "change", obj.message_id))
        return super().response_change(request, obj)
