"""Cursor pagination of a conversation: stable while new messages arrive."""

from datetime import UTC, datetime
from typing import Any

from django.db.models import Model, Q, QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from ..errors import InvalidQueryParameter
from .paths import request_location

_MAX_ID = 2**63 - 1


class MessageCursorPagination(CursorPagination):
    """Ordered by message time then id, with DRF's usual ``next``/``previous``/``results``.

    DRF puts a cursor on the first ordering field alone and steps over equal times with an
    offset, so a message stored between two requests at (or just before) the page boundary's
    time would make the next page repeat or skip one. Here a cursor's position is the pair
    (message_at, id) of the message it stands after (or before): unique, so offsets stay 0
    and messages stored meanwhile never shift the pages.
    """

    ordering = ("message_at", "id")
    page_size = 100
    page_size_query_param = "pageSize"
    max_page_size = 500

    def decode_cursor(self, request: Request) -> Cursor | None:
        """A cursor that does not decode is a bad query parameter (400), not a missing page."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound as exc:
            raise InvalidQueryParameter("Not a cursor given by this API.", path=self.cursor_query_param) from exc
        if cursor is not None and cursor.position is not None:
            self._parse_position(cursor.position)
        return cursor

    def _get_position_from_instance(self, instance: Model, ordering: Any) -> str:
        return f"{instance.message_at.isoformat()},{instance.pk}"

    def _parse_position(self, position: str) -> tuple[datetime, int]:
        moment, _, pk = position.rpartition(",")
        try:
            parsed = datetime.fromisoformat(moment)
            canonical = parsed.tzinfo is not None and parsed.isoformat() == moment
            if not (canonical and pk.isascii() and pk.isdigit() and int(pk) <= _MAX_ID):
                raise ValueError(position)
            return parsed.astimezone(UTC), int(pk)
        except (ValueError, OverflowError) as exc:
            raise InvalidQueryParameter("Not a cursor given by this API.", path=self.cursor_query_param) from exc

    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list[Any] | None:
        """DRF's ``CursorPagination.paginate_queryset`` with a keyset filter on (message_at, id)."""
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri(request_location(request))
        self.ordering = self.get_ordering(request, queryset, view)
        self.cursor = self.decode_cursor(request)
        offset, reverse, position = self.cursor or (0, False, None)

        queryset = queryset.order_by(*(f"-{field}" for field in self.ordering) if reverse else self.ordering)
        if position is not None:
            moment, pk = self._parse_position(position)
            # The plain bound on message_at is what lets the index scan start at the cursor
            # (PostgreSQL does not take an index bound from the OR alone: it would read the
            # customer's messages from the first one and filter); the OR settles equal times.
            if reverse:
                keyset = Q(message_at__lt=moment) | Q(message_at=moment, id__lt=pk)
                queryset = queryset.filter(keyset, message_at__lte=moment)
            else:
                keyset = Q(message_at__gt=moment) | Q(message_at=moment, id__gt=pk)
                queryset = queryset.filter(keyset, message_at__gte=moment)

        # One more than a page, to know whether another page follows.
        results = list(queryset[offset : offset + self.page_size + 1])
        self.page = results[: self.page_size]
        following = None
        if len(results) > len(self.page):
            following = self._get_position_from_instance(results[-1], self.ordering)
        continues = position is not None or offset > 0
        if reverse:
            self.page.reverse()
            self.has_next, self.next_position = continues, position
            self.has_previous, self.previous_position = following is not None, following
        else:
            self.has_next, self.next_position = following is not None, following
            self.has_previous, self.previous_position = continues, position
        return self.page
