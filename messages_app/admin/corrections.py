"""Recording staff corrections made through the admin's forms.

Which fields a save corrects is a pure function of the submitted form and its formsets
(``corrected_fields``), computed before anything is saved; ``CorrectionMixin`` saves as
the admin does, adds what parts staff added or removed need, and marks the message once,
all inside the admin's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.http import HttpRequest

from .. import corrections
from ..conversations import lock_conversations
from ..models import Message
from .forms import formfield_for


def corrected_fields(form: Any, formsets: Iterable[Any] = (), prefix: str = "") -> set[str]:
    """The names of what a valid admin submission changes: ``body``, ``attachments`` (a part
    added or removed), ``draft_attributes.draft_status`` (a part's field); ``prefix`` names
    the parts of a page below the message (``message_tags.``)."""
    columns = {field.name for field in form.instance._meta.fields}
    changed = {f"{prefix}{name}" for name in form.changed_data if name in columns}
    for formset in formsets:
        name = f"{prefix}{formset.fk.remote_field.get_accessor_name() or formset.model._meta.model_name}"
        deleted = formset.deleted_forms if formset.can_delete else []
        for part_form in formset.initial_forms:
            if part_form in deleted:
                changed.add(name)
            elif part_form.has_changed():
                changed.update(f"{name}.{field}" for field in part_form.changed_data)
        if any(part_form.has_changed() and part_form not in deleted for part_form in formset.extra_forms):
            changed.add(name)
    return changed


class CorrectionMixin:
    """Saves a message (or a part's page) as the admin does and marks the correction once.

    ``part_prefix`` names the parts of a page below the message (a tag's page).
    """

    part_prefix = ""

    def message_of(self, obj: Any) -> Message:
        return obj

    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest, **kwargs: Any) -> Any:
        return formfield_for(db_field) or super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Take the conversation lock every writer takes; save only what staff changed."""
        lock_conversations([self.message_of(obj).conversation_id])
        if corrected_fields(form, prefix=self.part_prefix) or not change:
            super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Save the parts; a new one gets its department, message and position, and a removed
        tag takes its secondary attributes and parent references with it."""
        instances = formset.save(commit=False)
        corrections.delete_parts(formset.deleted_objects)
        corrections.attach_parts(
            [obj for obj in instances if obj.pk is None],
            message=self.message_of(form.instance),
            parent_field=formset.fk.name,
            parent=form.instance,
        )
        for obj in instances:
            obj.save()
        formset.save_m2m()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        fields = corrected_fields(form, formsets, prefix=self.part_prefix)
        super().save_related(request, form, formsets, change)
        message = self.message_of(form.instance)
        message.refresh_from_db()
        corrections.record_correction(message, user=request.user, fields=fields)
