"""Reading messages back: querysets that fetch a message with all its parts in a fixed
number of queries, their wire records, and finding messages by an identifier."""

from typing import Any

from django.db.models import Prefetch, Q, QuerySet, Value

from .identifiers import is_identifier
from .models import (
    Attachment,
    Customer,
    Department,
    Message,
    MessageTag,
    MessageTagParent,
    MessageTagSecondaryAttribute,
    MessageUuid,
    NotificationButton,
    NotificationNotifier,
)
from .models.partitioning import ONE_TO_ONE_PARTS, select_parts


def messages_with_parts(
    queryset: QuerySet[Message] | None = None, *, department_id: int | None = None
) -> QuerySet[Message]:
    """Messages with every part joined or prefetched: 1 + 6 queries whatever the count.

    ``department_id``: the one department of the messages, named in every prefetch so that
    a table partitioned by department (models/partitioning.py) is read in one partition;
    the one-to-one parts are joined on the message's department (``select_parts``)."""
    queryset = Message.objects.all() if queryset is None else queryset

    def part(name: str, model: Any, inner: QuerySet | None = None) -> Prefetch:
        parts = model.objects.all() if inner is None else inner
        if department_id is not None:
            # By position alone: the models' ordering by "message"/"tag" joins the message
            # (its Meta.ordering) and reads every partition of it.
            parts = parts.filter(department_id=department_id).order_by("position")
        return Prefetch(name, queryset=parts)

    tags = MessageTag.objects.prefetch_related(
        part("secondary_attributes", MessageTagSecondaryAttribute), part("parent_tags", MessageTagParent)
    )
    return select_parts(queryset, *ONE_TO_ONE_PARTS).prefetch_related(
        part("attachments", Attachment),
        part("message_tags", MessageTag, tags),
        part("notification_notifiers", NotificationNotifier),
        part("notification_buttons", NotificationButton),
    )


def _one_to_one(message: Message, name: str) -> Any:
    try:
        return getattr(message, name)
    except Message._meta.get_field(name).related_model.DoesNotExist:
        return None


def _columns(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


def message_record(message: Message) -> dict[str, Any]:
    """The normalised record of a stored message, in the shape ``wire`` validates into.

    Built from the rows (not from ``source_payload``), so staff corrections show.
    """
    draft = _one_to_one(message, "draft_attributes")
    notification = _one_to_one(message, "notification_attributes")
    voice = _one_to_one(message, "voice_call_attributes")
    attributes = _columns(
        message,
        (
            "body",
            "type",
            "protocol",
            "purpose",
            "is_manual",
            "subject",
            "meta_data",
            "tags",
            "default_reply_action",
            "update_thread_timestamp",
            "update_total_message_count",
            "show_in_customer_conversation",
        ),
    )
    if draft is not None:
        attributes["draft_attributes"] = _columns(draft, ("draft_status", "scheduled_on", "draft_failure_reason"))
    attributes["attachments"] = [
        _columns(
            attachment,
            (
                "file_url",
                "attachment_extension",
                "mime_type",
                "original_file_name",
                "doc_size",
                "thumbnail_url",
                "media_preview_url",
            ),
        )
        for attachment in message.attachments.all()
    ]
    attributes["message_tags"] = [
        {
            **_columns(tag, ("tag_type_uuid", "reference_identifier", "value")),
            "primary_attribute": None
            if tag.primary_attribute_value is None
            else {"value": tag.primary_attribute_value},
            "secondary_attributes": [{"value": s.value} for s in tag.secondary_attributes.all()],
            "parent_tags": [_columns(p, ("tag_type_uuid", "reference_identifier")) for p in tag.parent_tags.all()],
        }
        for tag in message.message_tags.all()
    ]
    record = {
        **_columns(
            message,
            (
                "source_uuid",
                "message_uuid",
                "callback_path_url",
                "sent_on",
                "received_on",
                "user_uuid",
                "communication_uid",
            ),
        ),
        "message_attributes": attributes,
    }
    if notification is not None:
        record["notification_attributes"] = {
            **_columns(
                notification,
                (
                    "internal_subscribers_notifier_pop",
                    "external_subscribers_notifier_pop",
                    "thread_owner_notifier_pop",
                    "send_phone_notification",
                ),
            ),
            "additional_notifier_notification_da_uuids": [n.da_uuid for n in message.notification_notifiers.all()],
            "notification_buttons": [
                _columns(
                    button,
                    (
                        "button_text_translation_widget_key",
                        "button_text_translation_key",
                        "button_default_text",
                        "button_theme",
                        "button_action_event_data",
                        "is_primary_button",
                    ),
                )
                for button in message.notification_buttons.all()
            ],
        }
    if voice is not None:
        record["voice_call_attributes"] = _columns(
            voice,
            (
                "calling_party",
                "party2",
                "party1_prompt",
                "party2_prompt",
                "call_status",
                "call_identifier",
                "call_date_time",
                "call_broker",
                "recording_url",
                "record_call",
                "transcribe_call",
                "transcribe_text",
            ),
        )
    return record


# Staff paste identifiers into the admin's search box. A sourceUuid, messageUuid or customer
# UUID is matched exactly (identifiers are opaque and case-sensitive) through unique indexes:
# the messageUuid registry's, and the department-led ones of (department, sourceUuid) and
# (department, customer UUID) with the departments the user may see listed, so the lookup
# stays an index probe at any table size, and every arm of it names its department (one
# partition each, models/partitioning.py). Only a term that matches no identifier is
# searched as words of the subject and body, which reads the table.
def identifier_matches(
    queryset: QuerySet[Message], term: str, department_ids: frozenset[int] | None
) -> QuerySet[Message] | None:
    """The messages of ``queryset`` whose identifiers equal ``term``; ``None`` when none do.

    ``department_ids`` limits the lookup (``None``: every department).
    """
    term = term.strip()
    if not is_identifier(term):
        return None
    departments = (
        sorted(department_ids) if department_ids is not None else list(Department.objects.values_list("pk", flat=True))
    )
    # The customers with that UUID and the message registered under it, in one query.
    customers = (
        Customer.objects.filter(department_id__in=departments, uuid=term)
        .annotate(kind=Value("customer"))
        .values_list("kind", "department_id", "pk")
        .order_by()
    )
    registered = (
        MessageUuid.objects.filter(message_uuid=term, department_id__in=departments)
        .annotate(kind=Value("message"))
        .values_list("kind", "department_id", "message_id")
        .order_by()
    )
    found = Q(department_id__in=departments, source_uuid=term)
    for kind, department_id, row_id in customers.union(registered, all=True):
        found |= Q(department_id=department_id, **{"customer_id" if kind == "customer" else "id": row_id})
    matches = queryset.filter(found)
    return matches if matches.exists() else None
