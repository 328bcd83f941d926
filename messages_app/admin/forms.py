"""Forms for correcting messages in the admin.

A correction must change exactly what staff changed and nothing else, so these forms
keep values as stored: text is not stripped, a browser's CRLF line endings are not a
change, date-times keep their microseconds, and a field staff did not touch is saved with
its stored value, byte for byte. Values are checked with the same rules as the wire
format (identifiers, enumerations, string maps, strings no database can store), so a
correction can never store what an import could not.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin import widgets as admin_widgets
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils.text import capfirst

from .. import wire
from ..enums import MessageTagValue
from ..errors import find_unstorable
from ..identifiers import IDENTIFIER_EXPECTED, is_identifier
from ..models import Message

IDENTIFIER_FIELDS = frozenset({"user_uuid", "communication_uid", "tag_type_uuid", "da_uuid"})
STRING_MAP_FIELDS = frozenset({"meta_data", "button_action_event_data"})
FREE_OBJECT_FIELDS = frozenset({"value"})
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def _lines(value: Any) -> str:
    return "" if value is None else str(value).replace("\r\n", "\n")


class ExactTextField(forms.CharField):
    """Text as typed: never stripped, and CRLF from a browser's textarea is not a change."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["strip"] = False
        super().__init__(**kwargs)

    def has_changed(self, initial: Any, data: Any) -> bool:
        if self.disabled:
            return False
        return _lines(initial) != _lines(self.to_python(data))


class ExactDateTimeInput(forms.DateTimeInput):
    """A single text input that shows and keeps microseconds (the admin's split widget drops them)."""

    supports_microseconds = True

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"class": "vTextField", **(attrs or {})}, format=DATETIME_FORMAT)


class NullableJSONField(forms.JSONField):
    """JSON whose absence is an empty box, not the word ``null``; an empty box stays null."""

    def prepare_value(self, value: Any) -> Any:
        return "" if value is None else super().prepare_value(value)


def formfield_for(db_field: models.Field, **kwargs: Any) -> forms.Field | None:
    """Form fields that keep stored values exactly; ``None`` lets the admin choose."""
    if db_field.choices:
        return None
    if isinstance(db_field, models.JSONField) and db_field.null:
        return db_field.formfield(
            form_class=NullableJSONField,
            widget=admin_widgets.AdminTextareaWidget(attrs={"rows": 3}),
        )
    if isinstance(db_field, models.DateTimeField):
        return forms.DateTimeField(
            required=not db_field.blank,
            label=capfirst(db_field.verbose_name),
            widget=ExactDateTimeInput(),
            input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"],
            help_text="UTC, for example 2025-03-28 11:34:43.227000.",
        )
    if isinstance(db_field, models.TextField | models.CharField):
        short = isinstance(db_field, models.CharField) or db_field.name != "body"
        widget = (
            admin_widgets.AdminTextInputWidget()
            if isinstance(db_field, models.CharField)
            else admin_widgets.AdminTextareaWidget(attrs={"rows": 2 if short else 8})
        )
        return ExactTextField(
            required=not db_field.blank,
            max_length=db_field.max_length,
            empty_value=None if db_field.null else "",
            label=capfirst(db_field.verbose_name),
            widget=widget,
            help_text=db_field.help_text,
        )
    return None


class CorrectionFormMixin:
    """Validation and the keep-what-was-not-touched rule shared by the message and part forms."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        instance = self.instance
        for name, value in list(cleaned.items()):
            try:
                model_field = instance._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if model_field.is_relation or model_field.primary_key:
                continue
            if instance.pk is not None and name not in self.changed_data:
                cleaned[name] = model_field.value_from_object(instance)
                continue
            if isinstance(value, str) and "\r\n" in value and "\r\n" not in _lines_raw(instance, model_field):
                value = cleaned[name] = value.replace("\r\n", "\n")
            self._check(name, value, isinstance(model_field, models.JSONField))
        return cleaned

    def _check(self, name: str, value: Any, is_json: bool) -> None:
        if value is None:
            return
        if find_unstorable(value, name):
            self.add_error(name, "Contains NUL (\\u0000) or a lone surrogate, which no database stores.")
            return
        if name in IDENTIFIER_FIELDS and not is_identifier(value):
            self.add_error(name, IDENTIFIER_EXPECTED)
        elif name in STRING_MAP_FIELDS and not (
            isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        ):
            self.add_error(name, 'Expected a JSON object of strings, for example {"key": "value"}.')
        elif is_json and name in FREE_OBJECT_FIELDS and not isinstance(value, dict):
            self.add_error(name, "Expected a JSON object.")
        elif is_json and name in FREE_OBJECT_FIELDS and wire.json_depth_exceeds(value, wire.FREE_JSON_MAX_DEPTH):
            self.add_error(name, f"Nested more than {wire.FREE_JSON_MAX_DEPTH} levels deep.")
        elif name == "tags" and not (isinstance(value, list) and all(tag in MessageTagValue.values for tag in value)):
            self.add_error(name, f"Expected a JSON list of {', '.join(MessageTagValue.values)}.")


def _lines_raw(instance: models.Model, model_field: models.Field) -> str:
    if instance.pk is None:
        return ""
    value = model_field.value_from_object(instance)
    return value if isinstance(value, str) else ""


class PartForm(CorrectionFormMixin, forms.ModelForm):
    """A part of a message (draft, attachment, tag, notification, voice call)."""


class MessageCorrectionForm(CorrectionFormMixin, forms.ModelForm):
    """The editable columns of a message, with a guard against overwriting a newer import.

    ``version`` carries the ``updated_at`` the form was opened with: if an import changed
    the message in the meantime, saving would silently undo it, so the form refuses.
    """

    version = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Message
        fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["version"].initial = self.instance.updated_at.isoformat()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        version = self.data.get(self.add_prefix("version"))
        if self.instance.pk is not None and version and version != self.instance.updated_at.isoformat():
            raise ValidationError(
                "This message was changed (by an import or another person) after you opened it. "
                "Reload the page and make your correction again."
            )
        times = ("sent_on", "received_on")
        if all(name in self.fields and name not in self.errors and cleaned.get(name) is None for name in times):
            raise ValidationError("At least one of sent on and received on is required.")
        return cleaned


class DepartmentInlineFormSet(forms.BaseInlineFormSet):
    """The parts of one object, each form's row looked up by its department and id: the
    message tables are partitioned by department on PostgreSQL (models/partitioning.py)."""

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        department_id = getattr(self.instance, "department_id", None)
        row = form.fields.get(self._pk_field.name)
        if department_id is not None and isinstance(row, forms.ModelChoiceField):
            row.queryset = row.queryset.filter(department_id=department_id)
