"""Filters of the read API (django-filter), named in the wire's camelCase."""

from django.db.models import Exists, OuterRef, QuerySet
from django_filters import rest_framework as filters

from ..enums import MessageType, Protocol, Purpose
from ..models import Message, MessageTag


class MessageFilterSet(filters.FilterSet):
    """Trashed messages (tags contains TRASH) and hidden ones (showInCustomerConversation
    false) are left out unless asked for, as a customer conversation shows them."""

    type = filters.MultipleChoiceFilter(choices=MessageType.choices, help_text="One or several message types.")
    protocol = filters.MultipleChoiceFilter(choices=Protocol.choices, help_text="One or several protocols.")
    purpose = filters.MultipleChoiceFilter(choices=Purpose.choices, help_text="One or several purposes.")
    sentOnAfter = filters.IsoDateTimeFilter(field_name="sent_on", lookup_expr="gte", help_text="sentOn >= this.")
    sentOnBefore = filters.IsoDateTimeFilter(field_name="sent_on", lookup_expr="lt", help_text="sentOn < this.")
    receivedOnAfter = filters.IsoDateTimeFilter(
        field_name="received_on", lookup_expr="gte", help_text="receivedOn >= this."
    )
    receivedOnBefore = filters.IsoDateTimeFilter(
        field_name="received_on", lookup_expr="lt", help_text="receivedOn < this."
    )
    isManual = filters.BooleanFilter(field_name="is_manual")
    tag = filters.CharFilter(method="filter_tag", help_text="Messages with a messageTags entry of this tagTypeUuid.")
    includeTrashed = filters.BooleanFilter(method="include", help_text="Also list messages tagged TRASH.")
    includeHidden = filters.BooleanFilter(
        method="include", help_text="Also list messages with showInCustomerConversation false."
    )

    class Meta:
        model = Message
        fields: list[str] = []

    def filter_tag(self, queryset: QuerySet[Message], name: str, value: str) -> QuerySet[Message]:
        return queryset.filter(Exists(MessageTag.objects.filter(message=OuterRef("pk"), tag_type_uuid=value)))

    def include(self, queryset: QuerySet[Message], name: str, value: bool | None) -> QuerySet[Message]:
        return queryset

    def filter_queryset(self, queryset: QuerySet[Message]) -> QuerySet[Message]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("includeTrashed"):
            queryset = queryset.filter(is_trashed=False)
        if not self.form.cleaned_data.get("includeHidden"):
            queryset = queryset.filter(show_in_customer_conversation=True)
        return queryset
