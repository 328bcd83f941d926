"""A customer's conversation: the lock every writer takes, and the counters it keeps.

Every writer for one customer (an import, a staff correction, a rollback) locks the
conversation row first, so their writes queue instead of deadlocking, and the counters
are recomputed from the message rows by one writer at a time (never incremented, so a
re-sent message can never be counted twice).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Conversation, Customer, Department, Message


def lock_conversation(department: Department, customer_uuid: str) -> tuple[Customer, Conversation]:
    """Create the customer and conversation if needed and lock the conversation row.

    Every writer for the same customer takes this lock first, so their writes queue
    instead of deadlocking, and the counters are recomputed by one writer at a time.
    A known customer costs one query; a new one, the inserts as well.
    """
    locked = Conversation.objects.select_for_update(of=("self",)).select_related("customer")
    conversation = locked.filter(department=department, customer__uuid=customer_uuid).first()
    if conversation is None:
        Customer.objects.bulk_create([Customer(department=department, uuid=customer_uuid)], ignore_conflicts=True)
        customer = Customer.objects.get(department=department, uuid=customer_uuid)
        Conversation.objects.bulk_create(
            [Conversation(department=department, customer=customer)], ignore_conflicts=True
        )
        conversation = locked.get(customer=customer)
    return conversation.customer, conversation


def lock_conversations(conversation_ids: Iterable[int]) -> None:
    """Lock existing conversations, in id order (the order every multi-conversation writer uses)."""
    ids = sorted(set(conversation_ids))
    if ids:
        list(Conversation.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))


def recount_conversations(conversations: QuerySet[Conversation], *, department_id: int | None = None) -> None:
    """Recompute the thread counters from the rows (never incremented), with one statement
    however many conversations.

    Messages are found by customer (one conversation per customer), which the
    (customer, message_at, id) index serves; by conversation, PostgreSQL may walk the
    whole time index instead on a large table.
    """
    # The department too, so that a message table partitioned by it (models/partitioning.py)
    # is read in one partition: a constant prunes when the plan is made, the outer reference at run time.
    department = OuterRef("department_id") if department_id is None else department_id
    messages = Message.objects.filter(department_id=department, customer=OuterRef("customer_id"))
    counted = (
        messages.filter(update_total_message_count=True)
        .order_by()
        .values("customer")
        .annotate(n=Count("id"))
        .values("n")
    )
    latest = messages.filter(update_thread_timestamp=True).order_by("-message_at").values("message_at")[:1]
    conversations.update(
        total_message_count=Coalesce(Subquery(counted), 0),
        last_message_at=Subquery(latest),
        updated_at=timezone.now(),
    )
