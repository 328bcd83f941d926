"""Finding messages by the identifiers staff paste: exact, indexed, before any text search.

A sourceUuid, messageUuid or customer UUID is matched exactly (identifiers are opaque and
case-sensitive) through unique indexes: the message UUID's own, and the department-led
ones of (department, sourceUuid) and (department, customer UUID) with the departments the
user may see listed, so the lookup stays an index probe at any table size. Only a term that
matches no identifier is searched as words of the subject and body, which reads the table.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from . import wire
from .models import Customer, Department, Message


def identifier_matches(
    queryset: QuerySet[Message], term: str, department_ids: frozenset[int] | None
) -> QuerySet[Message] | None:
    """The messages of ``queryset`` whose identifiers equal ``term``; ``None`` when none do.

    ``department_ids`` limits the lookup (``None``: every department).
    """
    term = term.strip()
    if not wire.is_identifier(term):
        return None
    departments = (
        sorted(department_ids) if department_ids is not None else list(Department.objects.values_list("pk", flat=True))
    )
    customers = list(Customer.objects.filter(department_id__in=departments, uuid=term).values_list("pk", flat=True))
    matches = queryset.filter(
        Q(message_uuid=term) | Q(department_id__in=departments, source_uuid=term) | Q(customer_id__in=customers)
    )
    return matches if matches.exists() else None
