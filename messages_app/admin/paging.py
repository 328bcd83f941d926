"""Paging the admin's change lists without counting a million rows on every page.

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

import json
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.core.paginator import InvalidPage, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

COUNT_CAP = 1_000


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

    def validate_number(self, number: Any) -> int:
        if not self.is_estimate:
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger("That page number is not an integer") from error
        if number < 1:
            raise InvalidPage("That page number is less than 1")
        return number


def _table_estimate(connection: Any, table: str) -> int:
    """Rows in ``table`` by the statistics; -1 when the table was never analysed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table])
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
