"""Rolling an import batch back: the messages it created go, the ones it only updated stay.

A batch records one run of the ingest service (an API request, a command run, an admin
revert). Rolling it back deletes the messages whose ``created_batch`` it is, with all
their parts, and recomputes the counters of the conversations they were in. Messages the
batch only updated were stored before it; their previous state is not kept, so they stay
as they are (a revert from their source payload, or a re-send, restores them).

``plan_rollback`` says what would go, for the confirmation page; ``rollback_batches``
does it in one transaction, holding the conversation locks the ingest service takes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Q

from .conversations import lock_conversations, recount_conversations
from .ingest.rows import delete_messages
from .models import Conversation, ImportBatch, Message

SAMPLE_SIZE = 20
# Messages deleted per statement: within SQLite's limit of bound parameters.
DELETE_CHUNK = 5000


@dataclass
class RollbackPlan:
    """What rolling one batch back would do."""

    batch: ImportBatch
    deleted: int
    kept: int
    changed_later: int
    corrected: int
    sample: list[Message] = field(default_factory=list)


@dataclass
class RollbackResult:
    """What a rollback did."""

    deleted: int = 0
    kept: int = 0
    conversation_ids: list[int] = field(default_factory=list)


def plan_rollback(batches: Iterable[ImportBatch], *, sample_size: int = SAMPLE_SIZE) -> list[RollbackPlan]:
    """For each batch: how many messages go (and of those, how many were changed since), how many stay."""
    plans = []
    for batch in batches:
        created = Message.objects.filter(department_id=batch.department_id, created_batch=batch)
        counts = created.aggregate(
            deleted=Count("pk"),
            changed_later=Count("pk", filter=~Q(updated_batch=batch) & Q(updated_batch__isnull=False)),
            corrected=Count("pk", filter=Q(corrected_at__isnull=False)),
        )
        kept = (
            Message.objects.filter(department_id=batch.department_id, updated_batch=batch)
            .exclude(created_batch=batch)
            .count()
        )
        sample = list(created.select_related("customer").order_by("message_at", "pk")[:sample_size])
        plans.append(RollbackPlan(batch=batch, kept=kept, sample=sample, **counts))
    return plans


def rollback_batches(batches: Iterable[ImportBatch]) -> RollbackResult:
    """Delete the messages the batches created, with their parts, and recompute the counters.

    Everything happens in one transaction: either every batch is rolled back or none.
    A batch belongs to one department, so every statement names the department of the
    batches it reads (one partition of each table, models/partitioning.py).
    """
    batch_ids_by_department: dict[int, list[int]] = defaultdict(list)
    for batch in batches:
        batch_ids_by_department[batch.department_id].append(batch.pk)
    result = RollbackResult()
    with transaction.atomic():
        created: dict[int, list[tuple[int, int]]] = {
            department_id: list(
                Message.objects.filter(department_id=department_id, created_batch_id__in=batch_ids)
                .order_by("pk")
                .values_list("pk", "conversation_id")
            )
            for department_id, batch_ids in sorted(batch_ids_by_department.items())
        }
        conversation_ids = sorted({conversation_id for rows in created.values() for _, conversation_id in rows})
        lock_conversations(conversation_ids)
        for department_id, batch_ids in sorted(batch_ids_by_department.items()):
            result.kept += (
                Message.objects.filter(department_id=department_id, updated_batch_id__in=batch_ids)
                .exclude(created_batch_id__in=batch_ids)
                .count()
            )
            message_ids = [pk for pk, _ in created[department_id]]
            for start in range(0, len(message_ids), DELETE_CHUNK):
                delete_messages(message_ids[start : start + DELETE_CHUNK], department_id=department_id)
            result.deleted += len(message_ids)
            if message_ids:
                recount_conversations(
                    Conversation.objects.filter(pk__in={conversation for _, conversation in created[department_id]}),
                    department_id=department_id,
                )
    result.conversation_ids = conversation_ids
    return result
