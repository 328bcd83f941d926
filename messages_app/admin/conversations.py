"""Conversations: a customer's counters, transcript (a page at a time) and messages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import ngettext

from .. import scoping, textsearch, transcripts
from ..identifiers import is_identifier
from ..models import Conversation, Customer, Department, Message
from .base import ScopedAdmin, admin_url, customer_messages_url, replica_page
from .filters import DepartmentListFilter
from .paging import PagedChangeList

# Where get_search_results leaves the words it searched for, for the page's match counts.
_TEXT_QUERY = "_comms_text_query"
# Conversations a word search counts exactly before it shows an estimate.
SEARCH_COUNT_CAP = 100


class ConversationChangeList(PagedChangeList):
    """The conversation list; a word search also counts each shown conversation's matching
    messages (one query for the page)."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        query = getattr(request, _TEXT_QUERY, "")
        if query:
            page = list(self.result_list)
            counts = textsearch.match_counts(page, query)
            for conversation in page:
                conversation.search_matches = counts.get(conversation.pk, 0)


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
        "search_matches",
    )
    list_display_links = ("customer_uuid",)
    list_filter = (DepartmentListFilter,)
    list_select_related = ("customer", "department")
    # An exact customer UUID first, otherwise words of the messages (get_search_results).
    search_fields = ("customer__uuid",)
    search_help_text = (
        'An exact customer UUID; or words of its messages\' subject or body: "a phrase", -excluded, one OR other.'
    )
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

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[PagedChangeList]:
        return ConversationChangeList

    def get_list_display(self, request: HttpRequest) -> Any:
        """A "matches" column only while searching words."""
        columns = super().get_list_display(request)
        if not request.GET.get("q", "").strip():
            columns = tuple(name for name in columns if name != "search_matches")
        return columns

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Conversation], search_term: str
    ) -> tuple[QuerySet[Conversation], bool]:
        """A customer UUID finds its conversation through the (department, uuid) index;
        anything else finds the conversations whose messages match (``textsearch``).

        The autocomplete of a message's conversation keeps Django's substring search of
        the customer UUID: it completes what is typed.
        """
        term = search_term.strip()
        match = getattr(request, "resolver_match", None)
        if not term or (match is not None and match.url_name == "autocomplete"):
            return super().get_search_results(request, queryset, search_term)
        if is_identifier(term):
            # Department-led, as the unique (department, uuid) index is.
            departments: Any = scoping.department_ids(request)
            departments = Department.objects.values("pk") if departments is None else sorted(departments)
            customers = Customer.objects.filter(department_id__in=departments, uuid=term)
            by_customer = queryset.filter(customer__in=customers)
            if by_customer.exists():
                return by_customer, False
        setattr(request, _TEXT_QUERY, search_term)
        return textsearch.conversations_matching(queryset, search_term, scoping.department_ids(request)), False

    def get_paginator(self, request: HttpRequest, queryset: QuerySet, per_page: int, **kwargs: Any) -> Any:
        """A word search counts at most ``SEARCH_COUNT_CAP`` conversations exactly: each one
        counted is an index probe of its messages (a common word's 1,001 cost 300-400 ms at
        10 M messages); above it the planner's estimate is shown, as for any long list."""
        paginator = super().get_paginator(request, queryset, per_page, **kwargs)
        if getattr(request, _TEXT_QUERY, ""):
            paginator.count_cap = SEARCH_COUNT_CAP
        return paginator

    @admin.display(description="matches")
    def search_matches(self, conversation: Conversation) -> int | None:
        """How many of the conversation's messages match the words searched for."""
        return getattr(conversation, "search_matches", None)

    @admin.display(description="customer", ordering="customer__uuid")
    def customer_uuid(self, conversation: Conversation) -> str:
        return conversation.customer.uuid

    @admin.display(description="transcript")
    def transcript_link(self, conversation: Conversation) -> str:
        return format_html('<a href="{}">Transcript</a>', admin_url(conversation, "transcript", conversation.pk))

    @admin.display(description="messages")
    def messages_link(self, conversation: Conversation) -> str:
        count = conversation.total_message_count
        return format_html(
            '<a href="{}">{} {}</a>',
            customer_messages_url(conversation.customer_id),
            count,
            ngettext("message", "messages", count),
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
        """The conversation as the customer experienced it, a page at a time (newest first),
        read from a replica when one is configured."""
        return replica_page(request, lambda: self._transcript(request, object_id))

    def _transcript(self, request: HttpRequest, object_id: str) -> HttpResponse:
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
            "messages_url": customer_messages_url(conversation.customer_id),
        }
        return TemplateResponse(request, "admin/messages_app/conversation/transcript.html", context)
