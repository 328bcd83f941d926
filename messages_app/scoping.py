"""Which departments a staff user may see: the one rule every admin page, lookup and action uses.

A superuser sees every department. Any other active staff user sees the departments they
are a member of (``Department.members``) and nothing else; membership is the grant, so an
operator gives a person access by adding them to a department. The ids are read once per
request and kept on it, so scoping costs one query per page however many querysets use it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest

from .models import Department

ModelT = TypeVar("ModelT", bound=Model)
_CACHE_ATTRIBUTE = "_comms_department_ids"


def sees_everything(user: Any) -> bool:
    """Superusers are not scoped."""
    return bool(getattr(user, "is_active", False) and getattr(user, "is_superuser", False))


def department_ids(request: HttpRequest) -> frozenset[int] | None:
    """The ids of the departments the request's user may see; ``None`` means all of them."""
    user = request.user
    if sees_everything(user):
        return None
    cached = getattr(request, _CACHE_ATTRIBUTE, None)
    if cached is None:
        if user.is_active and user.is_staff:
            cached = frozenset(Department.objects.filter(members=user).values_list("id", flat=True))
        else:
            cached = frozenset()
        setattr(request, _CACHE_ATTRIBUTE, cached)
    return cached


def may_see_department(request: HttpRequest, department_id: int | None) -> bool:
    """True when the user may see rows of this department."""
    ids = department_ids(request)
    return ids is None or department_id in ids


def has_any_department(request: HttpRequest) -> bool:
    """Staff without any department see an empty admin rather than empty lists."""
    ids = department_ids(request)
    return ids is None or bool(ids)


def scope(queryset: QuerySet[ModelT], request: HttpRequest, field: str = "department") -> QuerySet[ModelT]:
    """Restrict ``queryset`` to the departments the user may see (``field`` names the department)."""
    ids = department_ids(request)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": sorted(ids)})
