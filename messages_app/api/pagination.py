"""Cursor pagination of a conversation: stable while new messages arrive."""

from rest_framework.pagination import CursorPagination


class MessageCursorPagination(CursorPagination):
    """Ordered by message time then id, with DRF's usual ``next``/``previous``/``results``."""

    ordering = ("message_at", "id")
    page_size = 100
    page_size_query_param = "pageSize"
    max_page_size = 500
