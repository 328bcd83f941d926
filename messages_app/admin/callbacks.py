"""Admin for callbacks: deliveries with their attempts (scoped like the rest), and API clients'
callback registration (superusers only, since a client spans departments).

The logic lives in ``messages_app.callbacks``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import ngettext

from .. import tasks
from ..callbacks import policy
from ..clients import ensure_callback_secret
from ..models import ApiClient, CallbackAttempt, CallbackDelivery
from .base import ScopedAdmin


class CallbackAttemptInline(admin.TabularInline):
    """Every HTTP attempt of the delivery, read-only (the delivery's admin already scoped it)."""

    model = CallbackAttempt
    extra = 0
    can_delete = False
    fields = ("number", "attempted_at", "status", "response_code", "duration_ms", "error")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(ScopedAdmin):
    """Callback deliveries of the user's departments, with a resend action."""

    list_display = ("webhook_id", "department", "kind", "source_uuid", "url", "status", "attempt_count", "created_at")
    list_filter = ("status", "kind")
    list_select_related = ("department",)
    search_fields = ("=webhook_id", "=source_uuid")
    readonly_fields = (
        "webhook_id",
        "department",
        "batch",
        "client",
        "kind",
        "source_uuid",
        "url",
        "payload",
        "status",
        "attempt_count",
        "next_attempt_at",
        "last_error",
        "created_at",
        "delivered_at",
    )
    fields = readonly_fields
    inlines = (CallbackAttemptInline,)
    actions = ("resend",)

    @admin.action(description="Resend the selected callbacks")
    def resend(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = tasks.resend(queryset)
        callbacks = ngettext("callback", "callbacks", count)
        self.message_user(request, f"Queued {count} {callbacks} for a new round of attempts.", messages.SUCCESS)


class ApiClientForm(forms.ModelForm):
    """Validates and normalises the callback registration as the command does."""

    callback_base_url = forms.CharField(
        required=False, max_length=500, help_text=ApiClient._meta.get_field("callback_base_url").help_text
    )
    callback_origins = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One origin (scheme://host[:port]) per line.",
    )

    class Meta:
        model = ApiClient
        fields = ("name", "is_active", "callback_base_url", "callback_origins")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["callback_origins"] = "\n".join(self.instance.callback_origins or [])

    def clean_callback_base_url(self) -> str:
        value = self.cleaned_data.get("callback_base_url") or ""
        try:
            return policy.normalize_base_url(value) if value else ""
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_callback_origins(self) -> list[str]:
        lines = [line.strip() for line in (self.cleaned_data.get("callback_origins") or "").splitlines()]
        try:
            return sorted({policy.normalize_origin(line) for line in lines if line})
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """API clients' callback registration; clients are created with ``create_api_client``."""

    form = ApiClientForm
    list_display = ("name", "is_active", "callback_base_url", "has_callback_secret", "created_at")
    readonly_fields = ("has_callback_secret", "created_at")
    actions = ("rotate_callback_secret",)

    @admin.display(boolean=True, description="callback secret")
    def has_callback_secret(self, obj: ApiClient) -> bool:
        return bool(obj.callback_secret)

    @admin.action(description="Generate a new callback signing secret (shown once)")
    def rotate_callback_secret(self, request: HttpRequest, queryset: QuerySet) -> None:
        for client in queryset:
            secret = ensure_callback_secret(client, rotate=True)
            self.message_user(request, f"New callback signing secret of {client.name} (shown once): {secret}")

    def _superuser(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._superuser(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
