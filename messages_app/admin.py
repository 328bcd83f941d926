"""Django admin: staff browse departments, conversations and messages, and correct imports.

Navigation: Department -> its conversations (message count, last activity) -> a
conversation's transcript or message list -> a message (with every part on its page or
one link away) -> back to its conversation. Import batches list every request or command
run, lead to their messages, and can be rolled back.

Every class here is thin: who may see what comes from ``scoping``, corrections and
their bookkeeping from ``corrections``, rollbacks from ``batches``, transcript pages from
``transcripts``, cheap page counts from ``admin_paging``. Staff see only the departments
they are members of (every queryset, object URL, lookup and action is scoped); an object
outside them is a 404, the same answer as an object that does not exist.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from . import batches, corrections, exporting, scoping, search, transcripts
from .admin_forms import MessageCorrectionForm, PartForm, formfield_for
from .admin_paging import EstimatedCountPaginator
from .models import (
    Attachment,
    Conversation,
    Customer,
    Department,
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

ESTIMATED_CHANGE_LIST = "admin/messages_app/estimated_change_list.html"
_SCOPED_MODELS = (Department, Customer, Conversation, Message, ImportBatch, MessageTag)


def _admin_url(obj_or_model: Any, view: str = "change", *args: Any) -> str:
    opts = obj_or_model._meta
    if view == "change" and not args:
        args = (obj_or_model.pk,)
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def _customer_messages(customer_id: int) -> str:
    """A customer's message list: filtered by customer, it walks the (customer, time) index."""
    return f"{_admin_url(Message, 'changelist')}?customer__id__exact={customer_id}"


def _pretty_json(value: Any) -> str:
    """JSON for a read-only field, escaped by ``format_html``."""
    return format_html(
        '<pre style="white-space: pre-wrap; margin: 0">{}</pre>',
        json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False),
    )


def _is_staff(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff)


class DepartmentListFilter(admin.SimpleListFilter):
    """The departments the user may see (never the names of any other)."""

    title = "department"
    parameter_name = "department"
    field = "department"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        departments = scoping.scope(Department.objects.all(), request, "pk").only("pk", "name", "uuid")
        return [(str(department.pk), str(department)) for department in departments]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        try:
            department_id = int(value)
        except ValueError:
            return queryset.none()
        return queryset.filter(**{f"{self.field}_id": department_id})


class CorrectedListFilter(admin.SimpleListFilter):
    title = "corrected by staff"
    parameter_name = "corrected"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(corrected_at__isnull=self.value() == "no")
        return queryset


class HiddenListFilter(admin.SimpleListFilter):
    title = "hidden from customer conversation"
    parameter_name = "hidden"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(show_in_customer_conversation=self.value() == "no")
        return queryset


class ScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin that shows staff only their departments' rows.

    Membership of a department is the grant: a member may view its rows, and change them
    where ``staff_may_change``. Nobody adds or deletes here (imports create messages,
    rollbacks remove them), except superusers where a subclass says so.
    """

    department_field = "department"
    staff_may_change = False
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    change_list_template = ESTIMATED_CHANGE_LIST

    def department_id_of(self, obj: Any) -> int | None:
        return obj.department_id

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoping.scope(super().get_queryset(request), request, self.department_field)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        """404 for an object outside the user's departments, exactly as for a missing one."""
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id.")
        return obj

    def _may_view(self, request: HttpRequest, obj: Any = None) -> bool:
        if not (_is_staff(request) and scoping.has_any_department(request)):
            return False
        return obj is None or scoping.may_see_department(request, self.department_id_of(obj))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may_view(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_view(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.staff_may_change and self._may_view(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def formfield_for_foreignkey(self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any) -> Any:
        """Choices of related rows come from the user's departments only."""
        model = db_field.related_model
        if model in _SCOPED_MODELS and "queryset" not in kwargs:
            field = "pk" if model is Department else "department"
            kwargs["queryset"] = scoping.scope(model._default_manager.all(), request, field)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScopedInline(admin.options.InlineModelAdmin):
    """An inline part of a message: editable by whoever may correct the message."""

    form = PartForm
    extra = 0
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoping.scope(super().get_queryset(request), request)

    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest, **kwargs: Any) -> Any:
        return formfield_for(db_field) or super().formfield_for_dbfield(db_field, request, **kwargs)

    def _may(self, request: HttpRequest, obj: Any = None) -> bool:
        if not (_is_staff(request) and scoping.has_any_department(request)):
            return False
        return obj is None or scoping.may_see_department(request, obj.department_id)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj)


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
        return format_html('<a href="{}">Edit secondary attributes and parent tags</a>', _admin_url(tag))


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


class CorrectionMixin:
    """Records a correction after the admin saved a form and its inlines.

    The changed fields are collected from the form and every formset while the admin
    saves them (all inside the admin's transaction), then ``record_correction`` marks the
    message once. ``part_prefix`` names the parts of a page below the message.
    """

    part_prefix = ""

    def message_of(self, obj: Any) -> Message:
        return obj

    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest, **kwargs: Any) -> Any:
        return formfield_for(db_field) or super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        message = self.message_of(obj)
        corrections.lock_conversations([message.conversation_id])
        columns = {f.name for f in obj._meta.fields}
        request._corrected_fields = {f"{self.part_prefix}{name}" for name in form.changed_data if name in columns}
        if request._corrected_fields or not change:
            super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        message = self.message_of(form.instance)
        instances = formset.save(commit=False)
        corrections.delete_parts(formset.deleted_objects)
        parent_field = formset.fk.name
        corrections.attach_parts(
            [obj for obj in instances if obj.pk is None],
            message=message,
            parent_field=parent_field,
            parent=form.instance,
        )
        for obj in instances:
            obj.save()
        formset.save_m2m()
        name = f"{self.part_prefix}{formset.fk.remote_field.get_accessor_name() or formset.model._meta.model_name}"
        fields = request.__dict__.setdefault("_corrected_fields", set())
        if formset.new_objects or formset.deleted_objects:
            fields.add(name)
        for _obj, changed in formset.changed_objects:
            fields.update(f"{name}.{field}" for field in changed)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        message = self.message_of(form.instance)
        message.refresh_from_db()
        corrections.record_correction(message, user=request.user, fields=getattr(request, "_corrected_fields", ()))


@admin.register(Department)
class DepartmentAdmin(ScopedAdmin):
    """Departments; superusers register them and choose their staff members."""

    department_field = "pk"
    list_display = ("__str__", "uuid", "conversations_link", "messages_link", "batches_link")
    search_fields = ("uuid", "name")
    filter_horizontal = ("members",)
    fields = ("uuid", "name", "members", "created_at", "links")
    readonly_fields = ("created_at", "links")

    def department_id_of(self, obj: Department) -> int:
        return obj.pk

    def get_queryset(self, request: HttpRequest) -> QuerySet[Department]:
        return super().get_queryset(request).annotate(conversation_count=Count("conversations"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if scoping.sees_everything(request.user):
            return self.readonly_fields
        return ("uuid", "name", "created_at", "links")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if scoping.sees_everything(request.user):
            return self.fields
        return ("uuid", "name", "created_at", "links")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return scoping.sees_everything(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return scoping.sees_everything(request.user)

    @admin.display(description="conversations")
    def conversations_link(self, department: Department) -> str:
        url = f"{_admin_url(Conversation, 'changelist')}?department={department.pk}"
        return format_html('<a href="{}">{} conversations</a>', url, department.conversation_count)

    @admin.display(description="messages")
    def messages_link(self, department: Department) -> str:
        return format_html('<a href="{}?department={}">Messages</a>', _admin_url(Message, "changelist"), department.pk)

    @admin.display(description="import batches")
    def batches_link(self, department: Department) -> str:
        url = _admin_url(ImportBatch, "changelist")
        return format_html('<a href="{}?department={}">Import batches</a>', url, department.pk)

    @admin.display(description="browse")
    def links(self, department: Department) -> str:
        if department.pk is None:
            return "-"
        return format_html(
            "{} · {} · {}",
            self.conversations_link(department),
            self.messages_link(department),
            self.batches_link(department),
        )


@admin.register(Conversation)
class ConversationAdmin(ScopedAdmin):
    """A customer's conversation in a department: counters, transcript, messages."""

    list_display = (
        "customer_uuid",
        "department",
        "total_message_count",
        "last_message_at",
        "transcript_link",
        "messages_link",
    )
    list_display_links = ("customer_uuid",)
    list_filter = (DepartmentListFilter,)
    list_select_related = ("customer", "department")
    search_fields = ("customer__uuid",)
    sortable_by = ("last_message_at",)
    ordering = ("-last_message_at", "id")
    list_per_page = 50
    fields = (
        "customer_uuid",
        "department",
        "total_message_count",
        "last_message_at",
        "created_at",
        "updated_at",
        "browse",
    )
    readonly_fields = fields

    @admin.display(description="customer", ordering="customer__uuid")
    def customer_uuid(self, conversation: Conversation) -> str:
        return conversation.customer.uuid

    @admin.display(description="transcript")
    def transcript_link(self, conversation: Conversation) -> str:
        return format_html('<a href="{}">Transcript</a>', _admin_url(conversation, "transcript", conversation.pk))

    @admin.display(description="messages")
    def messages_link(self, conversation: Conversation) -> str:
        return format_html(
            '<a href="{}">{} messages</a>',
            _customer_messages(conversation.customer_id),
            conversation.total_message_count,
        )

    @admin.display(description="browse")
    def browse(self, conversation: Conversation) -> str:
        return format_html("{} · {}", self.transcript_link(conversation), self.messages_link(conversation))

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.transcript_view)
        return [
            path("<path:object_id>/transcript/", view, name="messages_app_conversation_transcript"),
            *super().get_urls(),
        ]

    def transcript_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The conversation as the customer experienced it, a page at a time (newest first)."""
        try:
            conversation = self.get_queryset(request).select_related("customer", "department").get(pk=int(object_id))
        except (ValueError, Conversation.DoesNotExist) as error:
            raise Http404("No conversation with this id.") from error
        if not self.has_view_permission(request, conversation):
            raise PermissionDenied
        customer_view = request.GET.get("view") == "customer"
        focus = request.GET.get("message")
        try:
            page = transcripts.transcript_page(
                conversation,
                before=request.GET.get("before"),
                after=request.GET.get("after"),
                focus=int(focus) if focus else None,
                customer_view=customer_view,
            )
        except (transcripts.InvalidCursor, ValueError):
            return HttpResponseBadRequest("Invalid page cursor.")
        except Message.DoesNotExist as error:
            raise Http404("No such message in this conversation.") from error
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Transcript: {conversation.customer.uuid}",
            "subtitle": str(conversation.department),
            "conversation": conversation,
            "page": page,
            "customer_view": customer_view,
            "view_param": "&view=customer" if customer_view else "",
            "messages_url": _customer_messages(conversation.customer_id),
        }
        return TemplateResponse(request, "admin/messages_app/conversation/transcript.html", context)


@admin.register(Message)
class MessageAdmin(CorrectionMixin, ScopedAdmin):
    """Messages: find, read and correct; the imported item stays read-only beside the correction."""

    staff_may_change = True
    form = MessageCorrectionForm
    change_list_template = "admin/messages_app/message/change_list.html"
    list_display = (
        "message_at",
        "customer_link",
        "department",
        "type",
        "protocol",
        "purpose",
        "excerpt",
        "trashed",
        "hidden",
        "corrected",
    )
    list_display_links = ("message_at",)
    list_select_related = ("customer", "department")
    list_filter = (
        DepartmentListFilter,
        "type",
        "protocol",
        "purpose",
        "is_trashed",
        HiddenListFilter,
        CorrectedListFilter,
    )
    # Identifiers are matched exactly first (get_search_results); these are for words.
    search_fields = ("subject", "body")
    search_help_text = "An exact customer UUID, sourceUuid or messageUuid; or words of the subject or body."
    date_hierarchy = "message_at"
    sortable_by = ("message_at",)
    ordering = ("-message_at", "-id")
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

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        """An identifier finds its messages through an index; anything else is a text search."""
        matches = search.identifier_matches(queryset, search_term, scoping.department_ids(request))
        if matches is not None:
            return matches, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="customer", ordering="customer__uuid")
    def customer_link(self, message: Message) -> str:
        url = _admin_url(Conversation, "transcript", message.conversation_id)
        return format_html('<a href="{}?message={}#m{}">{}</a>', url, message.pk, message.pk, message.customer.uuid)

    @admin.display(description="body")
    def excerpt(self, message: Message) -> str:
        return Truncator(message.subject or message.body or "").chars(80)

    @admin.display(description="trashed", boolean=True)
    def trashed(self, message: Message) -> bool:
        return message.is_trashed

    @admin.display(description="hidden", boolean=True)
    def hidden(self, message: Message) -> bool:
        return not message.show_in_customer_conversation

    @admin.display(description="corrected", boolean=True)
    def corrected(self, message: Message) -> bool:
        return message.corrected_at is not None

    @admin.display(description="conversation")
    def browse(self, message: Message) -> str:
        transcript = _admin_url(Conversation, "transcript", message.conversation_id)
        return format_html(
            '<a href="{}?message={}#m{}">Transcript at this message</a> · '
            '<a href="{}">Conversation with {}</a> · <a href="{}">All its messages</a>',
            transcript,
            message.pk,
            message.pk,
            _admin_url(Conversation, "change", message.conversation_id),
            message.customer.uuid,
            _customer_messages(message.customer_id),
        )

    @admin.display(description="imported by")
    def imported_by(self, message: Message) -> str:
        links = [
            (label, _admin_url(batch), str(batch))
            for label, batch in (("created", message.created_batch), ("last updated", message.updated_batch))
            if batch is not None
        ]
        if not links:
            return "-"
        return format_html_join(" · ", '{}: <a href="{}">{}</a>', links)

    @admin.display(description="source payload")
    def source_payload_json(self, message: Message) -> str:
        return _pretty_json(message.source_payload)

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
        return redirect(_admin_url(message))

    def _report_revert(self, request: HttpRequest, result: corrections.RevertResult) -> None:
        if result.reverted:
            self.message_user(request, f"Reverted {result.reverted} message(s) to their imported state.")
        for source_uuid, errors in result.failed[:20]:
            self.message_user(
                request, f"{source_uuid} could not be reverted: {'; '.join(errors)}", level=messages.ERROR
            )

    @admin.action(description="Move selected messages to the trash", permissions=["change"])
    def move_to_trash(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        changed = corrections.set_trashed(queryset, True, user=request.user)
        self.message_user(request, f"Moved {changed} message(s) to the trash.")

    @admin.action(description="Restore selected messages from the trash", permissions=["change"])
    def restore_from_trash(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        changed = corrections.set_trashed(queryset, False, user=request.user)
        self.message_user(request, f"Restored {changed} message(s) from the trash.")

    @admin.action(description="Hide selected messages from the customer conversation", permissions=["change"])
    def hide_from_customer(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        changed = corrections.set_shown(queryset, False, user=request.user)
        self.message_user(request, f"Hid {changed} message(s) from the customer conversation.")

    @admin.action(description="Show selected messages in the customer conversation", permissions=["change"])
    def show_to_customer(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        changed = corrections.set_shown(queryset, True, user=request.user)
        self.message_user(request, f"Showed {changed} message(s) in the customer conversation.")

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
        return obj.message

    def get_model_perms(self, request: HttpRequest) -> dict[str, bool]:
        return {}

    @admin.display(description="message")
    def message_link(self, tag: MessageTag) -> str:
        return format_html('<a href="{}">{}</a>', _admin_url(Message, "change", tag.message_id), tag.message)

    def response_change(self, request: HttpRequest, obj: MessageTag) -> HttpResponse:
        if "_continue" not in request.POST and "_addanother" not in request.POST:
            self.message_user(request, f"The tag {obj} was changed.")
            return redirect(_admin_url(Message, "change", obj.message_id))
        return super().response_change(request, obj)


@admin.register(ImportBatch)
class ImportBatchAdmin(ScopedAdmin):
    """Every API request and command run: who, when, where, counts, the stored response."""

    list_display = (
        "id",
        "created_at",
        "source",
        "department",
        "customer",
        "who",
        "item_count",
        "created_count",
        "updated_count",
        "unchanged_count",
        "failed_count",
        "messages_link",
    )
    list_display_links = ("id", "created_at")
    list_filter = ("source", DepartmentListFilter)
    list_select_related = ("department", "customer", "client", "user")
    search_fields = ("=customer__uuid", "origin")
    sortable_by = ("created_at",)
    ordering = ("-created_at", "-id")
    list_per_page = 50
    actions = ("rollback",)
    fields = (
        "source",
        "created_at",
        "department",
        "customer",
        "client",
        "user",
        "origin",
        "callback_path_url",
        ("item_count", "created_count", "updated_count", "unchanged_count", "failed_count"),
        "messages_link",
        "response_json",
    )
    readonly_fields = (
        "source",
        "created_at",
        "department",
        "customer",
        "client",
        "user",
        "origin",
        "callback_path_url",
        "item_count",
        "created_count",
        "updated_count",
        "unchanged_count",
        "failed_count",
        "messages_link",
        "response_json",
    )

    @admin.display(description="who")
    def who(self, batch: ImportBatch) -> str:
        return str(batch.client or batch.user or batch.origin or "-")

    @admin.display(description="messages")
    def messages_link(self, batch: ImportBatch) -> str:
        # With the batch's customer in the filter, the list walks that customer's time index.
        url = _admin_url(Message, "changelist")
        customer = f"&customer__id__exact={batch.customer_id}" if batch.customer_id else ""
        return format_html(
            '<a href="{}?created_batch__id__exact={}{}">created</a> · '
            '<a href="{}?updated_batch__id__exact={}{}">updated</a>',
            url,
            batch.pk,
            customer,
            url,
            batch.pk,
            customer,
        )

    @admin.display(description="response")
    def response_json(self, batch: ImportBatch) -> str:
        return _pretty_json(batch.response)

    def has_rollback_permission(self, request: HttpRequest) -> bool:
        return self._may_view(request)

    @admin.action(description="Roll back selected batches (delete the messages they created)", permissions=["rollback"])
    def rollback(self, request: HttpRequest, queryset: QuerySet[ImportBatch]) -> HttpResponse | None:
        chosen = list(queryset.select_related("department", "customer"))
        if request.POST.get("confirm") == "yes":
            result = batches.rollback_batches(chosen)
            for batch in chosen:
                self.log_change(
                    request, batch, f"Rolled back: deleted the messages this batch created ({result.deleted} in all)."
                )
            self.message_user(
                request,
                f"Rolled back {len(chosen)} batch(es): deleted {result.deleted} message(s) they created; "
                f"kept {result.kept} message(s) they only updated.",
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Roll back import batches?",
            "plans": batches.plan_rollback(chosen),
            "queryset": chosen,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/messages_app/importbatch/rollback_confirmation.html", context)


from . import admin_callbacks  # noqa: E402, F401  (registers the callback admin)
