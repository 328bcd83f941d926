"""What every admin page shares: the scoping of staff to their departments, and links.

Staff see only the departments they are members of (every queryset, object URL, lookup
and action is scoped, through ``scoping``); an object outside them is a 404, the same
answer as an object that does not exist. Nobody adds or deletes rows here: imports
create messages, rollbacks remove them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from .. import routing, scoping
from ..models import Conversation, Customer, Department, ImportBatch, Message, MessageTag
from .forms import DepartmentInlineFormSet, PartForm, formfield_for
from .paging import EstimatedCountPaginator, PagedChangeList

ESTIMATED_CHANGE_LIST = "admin/messages_app/estimated_change_list.html"
# What every admin page shows for an absent value (None, an empty JSON list or object).
EMPTY = "—"


_SCOPED_MODELS = (Department, Customer, Conversation, Message, ImportBatch, MessageTag)


def admin_url(obj_or_model: Any, view: str = "change", *args: Any) -> str:
    """The admin URL of an object's (or a model's) ``view``: change, changelist, transcript..."""
    opts = obj_or_model._meta
    if view == "change" and not args:
        args = (obj_or_model.pk,)
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def customer_messages_url(customer_id: int) -> str:
    """A customer's message list: filtered by customer, it walks the (customer, time) index."""
    return f"{admin_url(Message, 'changelist')}?customer__id__exact={customer_id}"


def pretty_json(value: Any) -> str:
    """JSON for a read-only field, escaped by ``format_html``; ``EMPTY`` for null, {} and []."""
    if value is None or value in ({}, [], ""):
        return EMPTY
    return format_html(
        '<pre style="white-space: pre-wrap; margin: 0">{}</pre>',
        json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False),
    )


def replica_page(request: HttpRequest, view: Callable[[], HttpResponse]) -> HttpResponse:
    """A list page read from a replica (``routing``): GET only, rendered inside the block
    (a TemplateResponse runs its queries when rendered), after the user and their
    departments were read from the primary. The staff user's own recent write keeps it on
    the primary (read-your-writes)."""
    if request.method not in ("GET", "HEAD"):
        return view()
    scoping.department_ids(request)
    with routing.replica_reads(routing.writer_key(request.user)):
        response = view()
        if isinstance(response, TemplateResponse) and not response.is_rendered:
            response.render()
    return response


def is_staff(request: HttpRequest) -> bool:
    """An active staff user: the only kind the admin shows anything."""
    user = request.user
    return bool(user.is_active and user.is_staff)


class ScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin that shows staff only their departments' rows.

    Membership of a department is the grant: a member may view its rows, and change them
    where ``staff_may_change``. Nobody adds or deletes here (imports create messages,
    rollbacks remove them), except superusers where a subclass says so.
    """

    department_field = "department"
    staff_may_change = False
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    change_list_template = ESTIMATED_CHANGE_LIST
    # A non-null time column the list is ordered by: pages by keyset on (it, id) (paging.py).
    keyset_field: str | None = None

    class Media:
        css = {"all": ("messages_app/admin/comms_admin.css",)}
        js = ("messages_app/admin/dropdown_filter.js",)

    def department_id_of(self, obj: Any) -> int | None:
        return obj.department_id

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Lists read a replica when one is configured; change forms and actions never do."""
        changelist = super().changelist_view
        return replica_page(request, lambda: changelist(request, extra_context))

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[PagedChangeList]:
        """Keyset pages for time-ordered lists, page numbers capped at ``MAX_PAGE`` elsewhere."""
        return PagedChangeList

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoping.scope(super().get_queryset(request), request, self.department_field)

    def get_list_display(self, request: HttpRequest) -> Any:
        """No department column for someone who sees only one department: room for the rest."""
        departments = scoping.department_ids(request)
        if departments is not None and len(departments) <= 1:
            return tuple(name for name in self.list_display if name != "department")
        return self.list_display

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        """404 for an object outside the user's departments, exactly as for a missing one."""
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with this id.")
        return obj

    def get_formset_kwargs(self, request: HttpRequest, obj: Any, inline: Any, prefix: str) -> dict[str, Any]:
        """An object's inline parts are read in its department: the message tables are
        partitioned by department on PostgreSQL (models/partitioning.py)."""
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        department_id = None if obj is None or obj.pk is None else self.department_id_of(obj)
        if department_id is not None and "department" in {f.name for f in inline.model._meta.fields}:
            kwargs["queryset"] = kwargs["queryset"].filter(department_id=department_id)
        return kwargs

    def _may_view(self, request: HttpRequest, obj: Any = None) -> bool:
        if not (is_staff(request) and scoping.has_any_department(request)):
            return False
        return obj is None or scoping.may_see_department(request, self.department_id_of(obj))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may_view(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_view(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.staff_may_change and self._may_view(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def formfield_for_foreignkey(self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any) -> Any:
        """Choices of related rows come from the user's departments only."""
        model = db_field.related_model
        if model in _SCOPED_MODELS and "queryset" not in kwargs:
            field = "pk" if model is Department else "department"
            kwargs["queryset"] = scoping.scope(model._default_manager.all(), request, field)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScopedInline(admin.options.InlineModelAdmin):
    """An inline part of a message: editable by whoever may correct the message."""

    form = PartForm
    formset = DepartmentInlineFormSet
    extra = 0
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        """By position (or id) alone: the parts' default order by their message or tag
        joins that table, on its id alone, which reads every partition of it."""
        parts = scoping.scope(super().get_queryset(request), request)
        names = {field.name for field in self.model._meta.fields}
        return parts.order_by("position" if "position" in names else "pk")

    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest, **kwargs: Any) -> Any:
        return formfield_for(db_field) or super().formfield_for_dbfield(db_field, request, **kwargs)

    def _may(self, request: HttpRequest, obj: Any = None) -> bool:
        if not (is_staff(request) and scoping.has_any_department(request)):
            return False
        return obj is None or scoping.may_see_department(request, obj.department_id)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj)
