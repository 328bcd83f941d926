"""Cursor pagination of a conversation: stable while new messages arrive."""

from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from .exceptions import InvalidQueryParameter


class MessageCursorPagination(CursorPagination):
    """Ordered by message time then id, with DRF's usual ``next``/``previous``/``results``."""

    ordering = ("message_at", "id")
    page_size = 100
    page_size_query_param = "pageSize"
    max_page_size = 500

    def decode_cursor(self, request: Request) -> Cursor | None:
        """A cursor that does not decode is a bad query parameter (400), not a missing page."""
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise InvalidQueryParameter("Not a cursor given by this API.", path=self.cursor_query_param) from exc
