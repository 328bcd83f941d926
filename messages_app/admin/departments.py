"""Departments: superusers register them and choose their staff members."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import ngettext

from .. import scoping
from ..models import Conversation, Department, ImportBatch, Message
from .base import EMPTY, ScopedAdmin, admin_url


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
        url = f"{admin_url(Conversation, 'changelist')}?department={department.pk}"
        count = department.conversation_count
        return format_html('<a href="{}">{} {}</a>', url, count, ngettext("conversation", "conversations", count))

    @admin.display(description="messages")
    def messages_link(self, department: Department) -> str:
        return format_html('<a href="{}?department={}">Messages</a>', admin_url(Message, "changelist"), department.pk)

    @admin.display(description="import batches")
    def batches_link(self, department: Department) -> str:
        url = admin_url(ImportBatch, "changelist")
        return format_html('<a href="{}?department={}">Import batches</a>', url, department.pk)

    @admin.display(description="browse")
    def links(self, department: Department) -> str:
        if department.pk is None:
            return EMPTY
        return format_html(
            "{} · {} · {}",
            self.conversations_link(department),
            self.messages_link(department),
            self.batches_link(department),
        )
