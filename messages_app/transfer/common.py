"""What the transfer commands share: unusable input, batch sizes, and the messages a
command works on, read in keyset pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from ..models import Customer, Department, ImportBatch, Message

DEFAULT_BATCH_SIZE = 500


class UnusableInput(Exception):
    """The input cannot be used at all (missing file, unreadable folder): nothing is imported."""


def capped_batch_size(requested: int) -> int:
    """Items per ingest call: never more than an API request may carry."""
    if requested < 1:
        raise UnusableInput("--batch-size must be at least 1.")
    return min(requested, settings.MAX_MESSAGES_PER_REQUEST)


def select_messages(
    *,
    department_uuid: str | None = None,
    customer_uuid: str | None = None,
    since: datetime | None = None,
    batch_id: int | None = None,
) -> QuerySet[Message]:
    """The messages a command works on; a filter that names nothing is unusable input,
    so a typo is an error rather than an empty run.

    Departments and customers are filtered by id, so that the message tables partitioned
    by department (models/partitioning.py) are read in the departments named."""
    messages = Message.objects.all()
    if department_uuid is not None:
        department_id = Department.objects.filter(uuid=department_uuid).values_list("pk", flat=True).first()
        if department_id is None:
            raise UnusableInput(f"No department {department_uuid!r} is registered.")
        messages = messages.filter(department_id=department_id)
    if customer_uuid is not None:
        customers = Customer.objects.filter(uuid=customer_uuid)
        if department_uuid is not None:
            customers = customers.filter(department__uuid=department_uuid)
        found = list(customers.values_list("department_id", "pk"))
        if not found:
            where = f" in department {department_uuid!r}" if department_uuid else ""
            raise UnusableInput(f"No customer {customer_uuid!r}{where}.")
        messages = messages.filter(
            department_id__in=sorted({department for department, _ in found}),
            customer_id__in=sorted(customer for _, customer in found),
        )
    if batch_id is not None:
        if not ImportBatch.objects.filter(pk=batch_id).exists():
            raise UnusableInput(f"No import batch {batch_id}.")
        messages = messages.filter(Q(created_batch_id=batch_id) | Q(updated_batch_id=batch_id))
    if since is not None:
        messages = messages.filter(message_at__gte=since)
    return messages


def _keyset_rows(messages: QuerySet[Message], page_size: int, by_time: bool) -> Iterator[list[tuple[Any, ...]]]:
    """Pages of ``(customer_id, [message_at,] id, department_id)`` in the keyset order."""
    order = ("customer_id", "message_at", "id") if by_time else ("customer_id", "id")
    ordered = messages.order_by(*order).values_list(*order, "department_id")
    last: tuple[Any, ...] | None = None
    while True:
        if last is None:
            rows = list(ordered[:page_size])
        else:
            customer_id, message_id = last[0], last[-2]
            if by_time:
                same = ordered.filter(customer_id=customer_id, message_at__gte=last[1]).exclude(
                    message_at=last[1], id__lte=message_id
                )
            else:
                same = ordered.filter(customer_id=customer_id, id__gt=message_id)
            rows = list(same[:page_size])
            if len(rows) < page_size:
                rows += list(ordered.filter(customer_id__gt=customer_id)[: page_size - len(rows)])
        if not rows:
            return
        yield rows
        last = rows[-1]


def keyset_pages(messages: QuerySet[Message], page_size: int, *, by_time: bool = True) -> Iterator[list[int]]:
    """The ids of ``messages``, page by page, ordered by customer then time and id (or id).

    Keyset pagination: a page continues the current customer after the last row, then
    moves on to the next customers, so every query starts an index range scan at the
    cursor instead of skipping rows (OFFSET) or sorting the table.
    """
    for rows in _keyset_rows(messages, page_size, by_time):
        yield [row[-2] for row in rows]


def department_pages(
    messages: QuerySet[Message], page_size: int, *, by_time: bool = True
) -> Iterator[dict[int, list[int]]]:
    """``keyset_pages`` with each page's ids by department (in page order), so that what
    reads a page can name the department of every id it asks for."""
    for rows in _keyset_rows(messages, page_size, by_time):
        page: dict[int, list[int]] = {}
        for row in rows:
            page.setdefault(row[-1], []).append(row[-2])
        yield page
