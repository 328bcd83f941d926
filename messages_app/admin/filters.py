"""List filters of the admin's change lists.

A filter with many values (a message's purpose has 113; a dealership group can have
dozens of departments) is a ``<select>`` (``DropdownFilterMixin``) instead of a column of
links as tall as the list itself; the query parameters stay Django's own.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .. import scoping
from ..models import Department

DROPDOWN_FILTER_TEMPLATE = "admin/messages_app/dropdown_filter.html"


class DropdownFilterMixin:
    """Shows the filter's choices as one ``<select>``: choosing one opens its query string
    (``dropdown_filter.js``, loaded by ``ScopedAdmin``)."""

    template = DROPDOWN_FILTER_TEMPLATE


class DropdownChoicesFilter(DropdownFilterMixin, admin.ChoicesFieldListFilter):
    """A field with a long list of choices, filtered by ``<field>__exact`` as Django does."""


class DepartmentListFilter(DropdownFilterMixin, admin.SimpleListFilter):
    """The departments the user may see (never the names of any other)."""

    title = "department"
    parameter_name = "department"
    field = "department"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        departments = scoping.scope(Department.objects.all(), request, "pk").only("pk", "name", "uuid")
        return [(str(department.pk), str(department)) for department in departments]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        try:
            department_id = int(value)
        except ValueError:
            return queryset.none()
        return queryset.filter(**{f"{self.field}_id": department_id})


class CorrectedListFilter(admin.SimpleListFilter):
    """Messages staff corrected, or those they did not."""

    title = "corrected by staff"
    parameter_name = "corrected"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(corrected_at__isnull=self.value() == "no")
        return queryset


class HiddenListFilter(admin.SimpleListFilter):
    """Messages hidden from the customer conversation, or shown in it."""

    title = "hidden from customer conversation"
    parameter_name = "hidden"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(show_in_customer_conversation=self.value() == "no")
        return queryset
