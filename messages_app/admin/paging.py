"""Paging the admin's change lists at constant cost, whatever the number of rows.

Two costs grow with a list's length in Django's admin: the ``COUNT(*)`` behind "N
messages", and the ``OFFSET`` of page N (PostgreSQL reads and discards every row before
the page). ``EstimatedCountPaginator`` bounds the first, ``PagedChangeList`` the second:

- a list ordered by a non-null time column and the id (``keyset_field`` on the admin: the
  message list, the import batches) pages by keyset: *Newest*, *Newer*, *Older* and
  *Oldest* links carry the ``(time, id)`` of the row at the page's edge (``?before=`` /
  ``?after=``), and the next page starts there through the index, so the thousandth page
  costs what the first does and rows of equal time are neither repeated nor skipped;
- any other list keeps Django's page numbers, up to ``MAX_PAGE``: beyond it a user is sent
  to the last numbered page with a hint to refine the filters (a date, a department, a
  search), since ``OFFSET`` of page 20 is at most 1,900 rows.

Counting:

Django's paginator runs ``SELECT COUNT(*)`` over the whole filtered list for every page;
on PostgreSQL that reads every matching row, hundreds of milliseconds at a million
messages. This paginator answers from the planner's statistics instead where exact
numbers are not worth their cost:

- a list of at most ``COUNT_CAP`` rows is counted exactly (the count stops at the cap);
- a longer one takes the planner's estimate: ``pg_class.reltuples`` (kept by autovacuum's
  ANALYZE) for an unfiltered list, the row estimate of ``EXPLAIN`` for a filtered one.

Both queries always run, so a page costs the same number of queries at any size.

Other databases (SQLite, the embedded demo) count exactly. When the count is an estimate,
any page number is accepted (a page past the real end is simply empty), and templates
can say so through ``is_estimate``.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import EmptyResultSet
from django.core.paginator import InvalidPage, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

COUNT_CAP = 1_000
# Page numbers stop here: OFFSET of the last numbered page stays small (19 pages of rows).
MAX_PAGE = 20
# Keyset query parameters: the rows strictly before / after an edge, in (time, id) order.
BEFORE_VAR = "before"
AFTER_VAR = "after"
# ``after=start``: the oldest rows; ``before=end``: the newest ones.
OLDEST = "start"
NEWEST = "end"
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


class EstimatedCountPaginator(Paginator):
    """A paginator whose ``count`` costs a bounded amount of work on PostgreSQL."""

    count_cap = COUNT_CAP

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_estimate = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return super().count
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return queryset.count()
        # Always the same two queries, whatever the size: an estimate, and a count that
        # stops at the cap. The estimate is used only when the count reaches the cap.
        if queryset.query.where:
            estimate = _query_estimate(connection, queryset)
        else:
            estimate = _table_estimate(connection, queryset.model._meta.db_table)
        capped = queryset.order_by()[: self.count_cap + 1].count()
        if capped <= self.count_cap:
            return capped
        self.is_estimate = True
        return max(estimate, capped)

    @cached_property
    def num_pages(self) -> int:
        """Page numbers stop at ``MAX_PAGE``: deeper pages are reached by filtering."""
        return min(super().num_pages, MAX_PAGE)

    @property
    def is_capped(self) -> bool:
        """More rows follow the last numbered page."""
        return self.count > self.num_pages * self.per_page

    def validate_number(self, number: Any) -> int:
        if not self.is_estimate:
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger("That page number is not an integer") from error
        if number < 1:
            raise InvalidPage("That page number is less than 1")
        if number > self.num_pages:
            raise InvalidPage("That page number is past the last numbered page")
        return number


# pg_partition_tree() of a plain table lists nothing: hence the relkind test.
_ESTIMATE_SQL = (
    "SELECT (CASE WHEN r.relkind <> 'p' THEN r.reltuples ELSE ("
    "SELECT CASE WHEN bool_and(c.reltuples < 0) THEN -1 ELSE sum(greatest(c.reltuples, 0)) END "
    "FROM pg_partition_tree(r.oid) AS t JOIN pg_class AS c ON c.oid = t.relid WHERE t.isleaf) END)::bigint "
    "FROM pg_class AS r WHERE r.oid = to_regclass(%s)"
)


def _table_estimate(connection: Any, table: str) -> int:
    """Rows in ``table`` by the statistics; -1 when the table was never analysed.

    A partitioned table's own ``reltuples`` is set only by an ANALYZE of the parent itself
    (autovacuum analyses the partitions, never the parent): its estimate is the sum of its
    leaf partitions', -1 when none was analysed.
    """
    with connection.cursor() as cursor:
        cursor.execute(_ESTIMATE_SQL, [table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else -1


def _query_estimate(connection: Any, queryset: QuerySet) -> int:
    """The planner's estimate of the rows ``queryset`` returns."""
    try:
        sql, params = queryset.order_by().query.sql_with_params()
    except EmptyResultSet:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str | bytes):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class InvalidCursor(ValueError):
    """A page edge that ``encode_edge`` did not make."""


def encode_edge(moment: datetime.datetime, pk: int) -> str:
    """A row's place in a keyset list: microseconds since the epoch and the id."""
    delta = moment - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}_{pk}"


def decode_edge(value: str) -> tuple[datetime.datetime, int]:
    """The ``(time, id)`` of an edge; ``InvalidCursor`` for anything ``encode_edge`` did not make."""
    try:
        micros, pk = (int(part) for part in value.split("_"))
        if pk < 1 or pk >= 2**63:
            raise ValueError(value)
        return _EPOCH + datetime.timedelta(microseconds=micros), pk
    except (ValueError, OverflowError) as error:
        raise InvalidCursor(value) from error


@dataclass(frozen=True)
class KeysetLink:
    """One navigation link of a keyset page; ``url`` is None where there is nothing to go to."""

    label: str
    url: str | None
    rel: str


class PagedChangeList(ChangeList):
    """Django's change list with keyset pages where the order allows, capped page numbers elsewhere.

    Keyset pages apply when the admin names a non-null ``keyset_field`` and the list is
    ordered by it (either way: the default, or a click on its column header); the id follows
    it in the same direction, so one index on ``(time, id)`` serves both orders. The edges
    live only in ``?before=`` / ``?after=``: filters, search, the date drill-down and the
    actions' "select all" work on the whole filtered list as before, and every other link
    (a filter, a sort, a search) starts again from the first page. An old ``?p=`` link
    still opens its page (by OFFSET, at most ``MAX_PAGE``).
    """

    keyset_field: str | None = None
    keyset_descending = True
    keyset_links: tuple[KeysetLink, ...] = ()
    is_keyset = False
    # The page number asked for was past the last numbered page, which is shown instead.
    page_capped = False

    def get_filters_params(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        lookup_params = super().get_filters_params(params)
        for name in (BEFORE_VAR, AFTER_VAR):
            lookup_params.pop(name, None)
        return lookup_params

    def get_query_string(self, new_params: dict[str, Any] | None = None, remove: list[str] | None = None) -> str:
        """Every link the page builds starts from the first page, except the keyset links."""
        return super().get_query_string(new_params, [*(remove or []), BEFORE_VAR, AFTER_VAR])

    def get_ordering(self, request: HttpRequest, queryset: QuerySet) -> list[Any]:
        ordering = super().get_ordering(request, queryset)
        self.keyset_field = getattr(self.model_admin, "keyset_field", None)
        first = ordering[0] if ordering else None
        self.is_keyset = bool(self.keyset_field) and isinstance(first, str) and first.lstrip("-") == self.keyset_field
        if self.is_keyset:
            self.keyset_descending = first.startswith("-")
            return [first, "-pk" if self.keyset_descending else "pk"]
        return ordering

    def get_results(self, request: HttpRequest) -> None:
        """Django's ``get_results`` with the page number capped, or a keyset page."""
        for name in (BEFORE_VAR, AFTER_VAR):
            self.params.pop(name, None)
            self.filter_params.pop(name, None)
        paginator = self.model_admin.get_paginator(request, self.queryset, self.list_per_page)
        self.paginator = paginator
        self.result_count = paginator.count
        self.show_full_result_count = self.model_admin.show_full_result_count
        self.full_result_count = self.root_queryset.count() if self.show_full_result_count else None
        self.show_admin_actions = not self.show_full_result_count or bool(self.full_result_count)
        if self.page_num > paginator.num_pages > 0:
            self.page_num, self.page_capped = paginator.num_pages, True
        if self.is_keyset:
            self._keyset_results(request)
            return
        self.can_show_all = self.result_count <= self.list_max_show_all
        self.multi_page = self.result_count > self.list_per_page
        if (self.show_all and self.can_show_all) or not self.multi_page:
            self.result_list = self.queryset._clone()
            return
        try:
            self.result_list = paginator.page(self.page_num).object_list
        except InvalidPage as error:
            raise IncorrectLookupParameters from error

    def _keyset_results(self, request: HttpRequest) -> None:
        self.can_show_all = self.multi_page = self.show_all = False
        before, after = request.GET.get(BEFORE_VAR), request.GET.get(AFTER_VAR)
        try:
            rows, has_previous, has_next = self._keyset_rows(before, after)
        except InvalidCursor:
            messages.warning(
                request, "That page link is not valid (it may come from another list): the first page is shown."
            )
            rows, has_previous, has_next = self._keyset_rows(None, None)
        self.result_list = rows
        self.keyset_links = self._links(rows, has_previous, has_next)

    def _keyset_rows(self, before: str | None, after: str | None) -> tuple[list[Model], bool, bool]:
        """One page of rows in the list's order, and whether rows precede and follow it.

        The list's own direction is "forward" (newest first for a descending list): its
        first page, and the page past an edge in that direction, read forward; the page
        on the other side of an edge, and the far end of the list, read backward through
        the same index and turn around.
        """
        field, size = self.keyset_field, self.list_per_page
        if before is not None and after is not None:
            raise InvalidCursor("before and after together")
        edge, offset = None, 0
        if before is not None:
            descending_read, edge = True, None if before == NEWEST else decode_edge(before)
        elif after is not None:
            descending_read, edge = False, None if after == OLDEST else decode_edge(after)
        else:
            descending_read, offset = self.keyset_descending, (self.page_num - 1) * size
        forward = descending_read == self.keyset_descending
        queryset = self.queryset.order_by(*((f"-{field}", "-pk") if descending_read else (field, "pk")))
        if edge is not None:
            moment, pk = edge
            # The plain bound lets the index start at the edge; the OR settles equal times by id.
            if descending_read:
                keyset = Q(**{f"{field}__lt": moment}) | Q(**{field: moment, "pk__lt": pk})
                queryset = queryset.filter(keyset, **{f"{field}__lte": moment})
            else:
                keyset = Q(**{f"{field}__gt": moment}) | Q(**{field: moment, "pk__gt": pk})
                queryset = queryset.filter(keyset, **{f"{field}__gte": moment})
        fetched = list(queryset[offset : offset + size + 1])
        rows, more = fetched[:size], len(fetched) > size
        if forward:
            return rows, edge is not None or offset > 0, more
        rows.reverse()
        return rows, more, edge is not None

    def _links(self, rows: list[Model], has_previous: bool, has_next: bool) -> tuple[KeysetLink, ...]:
        """Newest / Newer / Older / Oldest for a newest-first list; oldest first, the mirror."""
        field = self.keyset_field

        def edge(row: Model) -> str:
            return encode_edge(getattr(row, field), row.pk)

        if self.keyset_descending:
            names, toward_start, toward_end, far_end = (
                ("Newest", "Newer", "Older", "Oldest"),
                AFTER_VAR,
                BEFORE_VAR,
                OLDEST,
            )
        else:
            names, toward_start, toward_end, far_end = (
                ("Oldest", "Older", "Newer", "Newest"),
                BEFORE_VAR,
                AFTER_VAR,
                NEWEST,
            )
        url = self.get_query_string
        return (
            KeysetLink(names[0], url() if has_previous else None, "first"),
            KeysetLink(names[1], url({toward_start: edge(rows[0])}) if has_previous and rows else None, "prev"),
            KeysetLink(names[2], url({toward_end: edge(rows[-1])}) if has_next and rows else None, "next"),
            KeysetLink(names[3], url({toward_start: far_end}) if has_next else None, "last"),
        )
