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
    so a typo is an error rather than an empty run."""
    messages = Message.objects.all()
    if department_uuid is not None:
        if not Department.objects.filter(uuid=department_uuid).exists():
            raise UnusableInput(f"No department {department_uuid!r} is registered.")
        messages = messages.filter(department__uuid=department_uuid)
    if customer_uuid is not None:
        customers = Customer.objects.filter(uuid=customer_uuid)
        if department_uuid is not None:
            customers = customers.filter(department__uuid=department_uuid)
        if not customers.exists():
            where = f" in department {department_uuid!r}" if department_uuid else ""
            raise UnusableInput(f"No customer {customer_uuid!r}{where}.")
        messages = messages.filter(customer__uuid=customer_uuid)
    if batch_id is not None:
        if not ImportBatch.objects.filter(pk=batch_id).exists():
            raise UnusableInput(f"No import batch {batch_id}.")
        messages = messages.filter(Q(created_batch_id=batch_id) | Q(updated_batch_id=batch_id))
    if since is not None:
        messages = messages.filter(message_at__gte=since)
    return messages


def keyset_pages(messages: QuerySet[Message], page_size: int, *, by_time: bool = True) -> Iterator[list[int]]:
    """The ids of ``messages``, page by page, ordered by customer then time and id (or id).

    Keyset pagination: a page continues the current customer after the last row, then
    moves on to the next customers, so every query starts an index range scan at the
    cursor instead of skipping rows (OFFSET) or sorting the table.
    """
    order = ("customer_id", "message_at", "id") if by_time else ("customer_id", "id")
    ordered = messages.order_by(*order).values_list(*order)
    last: tuple[Any, ...] | None = None
    while True:
        if last is None:
            rows = list(ordered[:page_size])
        else:
            customer_id, message_id = last[0], last[-1]
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
        yield [row[-1] for row in rows]
        last = rows[-1]
