"""Filters of the read API (django-filter), named in the wire's camelCase."""

from datetime import datetime
from typing import Any

from django import forms
from django.db.models import Exists, OuterRef, QuerySet
from django_filters import rest_framework as filters

from .. import textsearch
from ..enums import MessageType, Protocol, Purpose
from ..errors import InvalidQueryParameter
from ..models import Message, MessageTag
from ..wire.fields import parse_datetime


class _FlagField(forms.NullBooleanField):
    """true / false / 1 / 0 in any case, as ``dryRun``; anything else is invalid (400), where
    django-filter's own boolean would silently not filter at all."""

    widget = forms.TextInput
    _VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or value.lower() not in self._VALUES:
            raise forms.ValidationError("Expected true or false.", code="invalid")
        return self._VALUES[value.lower()]


class FlagFilter(filters.BooleanFilter):
    field_class = _FlagField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class _UtcDateTimeField(forms.Field):
    """An ISO 8601 date-time read as the wire reads ``sentOn`` (no offset means UTC), turned
    into UTC here: PostgreSQL refuses offsets beyond ±15:59 that Python accepts (-23:19),
    and a moment with no UTC date-time (0001-01-01T00:00+01:00) is invalid, not a 500."""

    widget = forms.TextInput

    def to_python(self, value: Any) -> datetime | None:
        if value in (None, ""):
            return None
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise forms.ValidationError("Expected an ISO 8601 date-time.", code="invalid")
        return parsed[0]


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = _UtcDateTimeField


class MessageFilterSet(filters.FilterSet):
    """Trashed messages (tags contains TRASH) and hidden ones (showInCustomerConversation
    false) are left out unless asked for, as a customer conversation shows them."""

    # distinct=False: these are columns of the message itself, so no row can repeat, and
    # django-filter's default SELECT DISTINCT would sort every matching message of the
    # customer (body and payload included) before taking a page.
    type = filters.MultipleChoiceFilter(
        choices=MessageType.choices, distinct=False, help_text="One or several message types."
    )
    protocol = filters.MultipleChoiceFilter(
        choices=Protocol.choices, distinct=False, help_text="One or several protocols."
    )
    purpose = filters.MultipleChoiceFilter(
        choices=Purpose.choices, distinct=False, help_text="One or several purposes."
    )
    sentOnAfter = UtcDateTimeFilter(field_name="sent_on", lookup_expr="gte", help_text="sentOn >= this.")
    sentOnBefore = UtcDateTimeFilter(field_name="sent_on", lookup_expr="lt", help_text="sentOn < this.")
    receivedOnAfter = UtcDateTimeFilter(field_name="received_on", lookup_expr="gte", help_text="receivedOn >= this.")
    receivedOnBefore = UtcDateTimeFilter(field_name="received_on", lookup_expr="lt", help_text="receivedOn < this.")
    isManual = FlagFilter(field_name="is_manual")
    tag = filters.CharFilter(method="filter_tag", help_text="Messages with a messageTags entry of this tagTypeUuid.")
    includeTrashed = FlagFilter(method="include", help_text="Also list messages tagged TRASH.")
    includeHidden = FlagFilter(method="include", help_text="Also list messages with showInCustomerConversation false.")
    q = filters.CharFilter(
        method="filter_text",
        help_text=(
            "Words of the subject or body, as typed in a search engine: every word must match, "
            '"a quoted phrase" matches its words in order, -word excludes, OR gives alternatives '
            '(brake pads, "brake pads", brake -invoice, brake OR tyre). On PostgreSQL words match whole words '
            "of the server's text-search configuration (SEARCH_CONFIG); on SQLite, substrings, ignoring case. "
            f"At most {textsearch.MAX_QUERY_LENGTH} characters; empty means no filter."
        ),
    )

    class Meta:
        model = Message
        fields: list[str] = []

    def filter_tag(self, queryset: QuerySet[Message], name: str, value: str) -> QuerySet[Message]:
        return queryset.filter(Exists(MessageTag.objects.filter(message=OuterRef("pk"), tag_type_uuid=value)))

    def filter_text(self, queryset: QuerySet[Message], name: str, value: str) -> QuerySet[Message]:
        if len(value) > textsearch.MAX_QUERY_LENGTH:
            raise InvalidQueryParameter(f"At most {textsearch.MAX_QUERY_LENGTH} characters.", path=name)
        return textsearch.matching(queryset, value)

    def include(self, queryset: QuerySet[Message], name: str, value: bool | None) -> QuerySet[Message]:
        return queryset

    def filter_queryset(self, queryset: QuerySet[Message]) -> QuerySet[Message]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("includeTrashed"):
            queryset = queryset.filter(is_trashed=False)
        if not self.form.cleaned_data.get("includeHidden"):
            queryset = queryset.filter(show_in_customer_conversation=True)
        return queryset
