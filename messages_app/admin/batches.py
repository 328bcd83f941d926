"""Import batches: every API request and command run, with a rollback behind a confirmation."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import ngettext

from .. import rollback
from ..models import ImportBatch, Message
from .base import EMPTY, ScopedAdmin, admin_url, pretty_json
from .filters import DepartmentListFilter


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
        "outcome",
        "messages_link",
    )
    list_display_links = ("id", "created_at")
    list_filter = ("source", DepartmentListFilter)
    list_select_related = ("department", "customer", "client", "user")
    search_fields = ("=customer__uuid", "origin")
    sortable_by = ("created_at",)
    ordering = ("-created_at", "-id")
    keyset_field = "created_at"
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
        return str(batch.client or batch.user or batch.origin or EMPTY)

    @admin.display(description="items")
    def outcome(self, batch: ImportBatch) -> str:
        """``3 items: 2 created, 1 failed``: the counts that are not zero, in one column."""
        counts = [
            (count, label)
            for count, label in (
                (batch.created_count, "created"),
                (batch.updated_count, "updated"),
                (batch.unchanged_count, "unchanged"),
                (batch.failed_count, "failed"),
            )
            if count
        ]
        total = f"{batch.item_count:,} {ngettext('item', 'items', batch.item_count)}"
        return f"{total}: {', '.join(f'{count:,} {label}' for count, label in counts)}" if counts else total

    @admin.display(description="messages")
    def messages_link(self, batch: ImportBatch) -> str:
        # With the batch's department and customer in the filter, the list reads the
        # department's partition (models/partitioning.py) and walks the customer's time index.
        url = admin_url(Message, "changelist")
        customer = f"&department={batch.department_id}"
        customer += f"&customer__id__exact={batch.customer_id}" if batch.customer_id else ""
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
        return pretty_json(batch.response)

    def has_rollback_permission(self, request: HttpRequest) -> bool:
        return self._may_view(request)

    @admin.action(description="Roll back selected batches (delete the messages they created)", permissions=["rollback"])
    def rollback(self, request: HttpRequest, queryset: QuerySet[ImportBatch]) -> HttpResponse | None:
        chosen = list(queryset.select_related("department", "customer"))
        if request.POST.get("confirm") == "yes":
            result = rollback.rollback_batches(chosen)
            for batch in chosen:
                self.log_change(
                    request, batch, f"Rolled back: deleted the messages this batch created ({result.deleted} in all)."
                )
            batches, deleted, kept = len(chosen), result.deleted, result.kept
            self.message_user(
                request,
                f"Rolled back {batches} {ngettext('batch', 'batches', batches)}: "
                f"deleted {deleted} {ngettext('message', 'messages', deleted)} "
                f"{ngettext('it', 'they', batches)} created; kept {kept} {ngettext('message', 'messages', kept)} "
                f"{ngettext('it', 'they', batches)} only updated.",
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Roll back import batches?",
            "plans": rollback.plan_rollback(chosen),
            "queryset": chosen,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/messages_app/importbatch/rollback_confirmation.html", context)
