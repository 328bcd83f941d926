"""A message and the rows of its parts."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models

from ..enums import ButtonTheme, DraftFailureReason, DraftStatus, MessageTagValue, MessageType, Protocol, Purpose
from ..identifiers import IDENTIFIER_MAX_LENGTH
from .batches import ImportBatch
from .tenancy import Conversation, Customer, Department

ENUM_MAX_LENGTH = 64


class DepartmentRow(models.Model):
    """A row of a table partitioned by department on PostgreSQL (models/partitioning.py).

    The primary key there is ``(department_id, id)``: a statement by ``id`` alone probes
    every partition. A save or a reload of an instance names its department too, the
    same rows on both databases."""

    class Meta:
        abstract = True

    def _known_department_id(self) -> int | None:
        # From __dict__: a deferred department_id would be loaded by refresh_from_db, this method's caller.
        return self.__dict__.get("department_id")

    def _do_update(
        self, base_qs: Any, using: Any, pk_val: Any, values: Any, update_fields: Any, forced_update: Any
    ) -> bool:
        department_id = self._known_department_id()
        if department_id is not None:
            base_qs = base_qs.filter(department_id=department_id)
        return super()._do_update(base_qs, using, pk_val, values, update_fields, forced_update)

    def _get_unique_checks(self, exclude: Any = None, include_meta_constraints: bool = False) -> Any:
        """Uniqueness is checked within the department (a part's one message), as the
        constraints on PostgreSQL lead with it; the messageUuid registry keeps it global."""
        unique_checks, date_checks = super()._get_unique_checks(
            exclude=exclude, include_meta_constraints=include_meta_constraints
        )
        named = [
            (model, fields if "department" in fields else ("department", *fields)) for model, fields in unique_checks
        ]
        return named, date_checks

    def refresh_from_db(self, using: str | None = None, fields: Any = None, from_queryset: Any = None) -> None:
        department_id = self._known_department_id()
        if from_queryset is None and department_id is not None:
            from_queryset = (
                type(self)._base_manager.db_manager(using, hints={"instance": self}).filter(department_id=department_id)
            )
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)


class Message(DepartmentRow):
    """One historical message, with the item exactly as received.

    ``(department, source_uuid)`` is the idempotency key; ``message_uuid`` is the server's
    id, unique across departments. ``message_at`` is the later of sent/received and orders
    the conversation.

    Every index costs every write, so each one serves a named query (README, Performance;
    tests/project/test_indexes.py): the foreign keys have none of their own where a
    composite index leads with the column (department, customer) or where nothing reads
    by it (conversation: messages are read by customer, one conversation each).
    """

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="messages", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="messages", db_index=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False)
    source_uuid = models.CharField("source UUID", max_length=IDENTIFIER_MAX_LENGTH)
    message_uuid = models.CharField("message UUID", max_length=IDENTIFIER_MAX_LENGTH)
    callback_path_url = models.TextField("callback path URL", null=True, blank=True)
    sent_on = models.DateTimeField(null=True, blank=True)
    received_on = models.DateTimeField(null=True, blank=True)
    message_at = models.DateTimeField("message time", help_text="The later of sentOn and receivedOn.")
    user_uuid = models.CharField("user UUID", max_length=IDENTIFIER_MAX_LENGTH, null=True, blank=True)
    communication_uid = models.CharField("communication UID", max_length=IDENTIFIER_MAX_LENGTH, null=True, blank=True)

    body = models.TextField(null=True, blank=True)
    type = models.CharField(max_length=ENUM_MAX_LENGTH, choices=MessageType.choices, null=True, blank=True)
    protocol = models.CharField(max_length=ENUM_MAX_LENGTH, choices=Protocol.choices, null=True, blank=True)
    purpose = models.CharField(max_length=ENUM_MAX_LENGTH, choices=Purpose.choices, null=True, blank=True)
    is_manual = models.BooleanField(null=True, blank=True)
    subject = models.TextField(null=True, blank=True)
    meta_data = models.JSONField(null=True, blank=True)
    tags = models.JSONField(null=True, blank=True)
    is_trashed = models.BooleanField("trashed", default=False, help_text="tags contains TRASH.")
    default_reply_action = models.TextField(null=True, blank=True)
    update_thread_timestamp = models.BooleanField(default=True)
    update_total_message_count = models.BooleanField(default=True)
    show_in_customer_conversation = models.BooleanField(default=True)

    source_payload = models.JSONField(help_text="The item exactly as received.")
    payload_hash = models.CharField(max_length=64, help_text="SHA-256 of the canonical item.")
    source_hash = models.CharField(
        max_length=64, blank=True, default="", help_text="SHA-256 of the item exactly as received (in its key order)."
    )
    intake_warnings = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text=(
            "The warnings validation gave the item, as [code, path within the item, detail]: a byte-identical "
            "re-send skips validation and repeats them. Null for messages stored before they were kept."
        ),
    )
    created_batch = models.ForeignKey(
        ImportBatch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_messages",
        db_index=False,
    )
    updated_batch = models.ForeignKey(
        ImportBatch,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="updated_messages",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    corrected_at = models.DateTimeField(null=True, blank=True)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    corrected_fields = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["message_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["department", "source_uuid"],
                name="message_unique_source_uuid_per_department",
                violation_error_message="A message with this sourceUuid already exists in the department.",
            ),
            # Exact lookups only (ingest, admin search): a named constraint, not unique=True,
            # which would add a second, varchar_pattern_ops index for LIKE.
            models.UniqueConstraint(
                fields=["message_uuid"],
                name="message_unique_message_uuid",
                violation_error_message="A message with this messageUuid already exists.",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "message_at", "id"], name="message_customer_time_idx"),
            models.Index(fields=["department", "message_at"], name="message_dept_time_idx"),
            # The admin's message list: newest first across departments, and its filters.
            models.Index(fields=["message_at", "id"], name="message_time_idx"),
            models.Index(fields=["purpose", "message_at"], name="message_purpose_time_idx"),
            models.Index(
                fields=["message_at"], name="message_corrected_time_idx", condition=models.Q(corrected_at__isnull=False)
            ),
            models.Index(fields=["message_at"], name="message_trashed_time_idx", condition=models.Q(is_trashed=True)),
            models.Index(
                fields=["message_at"],
                name="message_hidden_time_idx",
                condition=models.Q(show_in_customer_conversation=False),
            ),
            # Rollback, the batch links of the admin and export --batch. Batches are written
            # in id order, so a block range index finds a batch's pages at a fraction of a
            # btree's cost per write (PostgreSQL; a btree elsewhere: migration 0009).
            BrinIndex(
                fields=["created_batch"], name="message_created_batch_brin", pages_per_range=32, autosummarize=True
            ),
            BrinIndex(
                fields=["updated_batch"], name="message_updated_batch_brin", pages_per_range=32, autosummarize=True
            ),
            # Deleting a user sets corrected_by to NULL: only corrected messages are indexed.
            models.Index(
                fields=["corrected_by"],
                name="message_corrected_by_idx",
                condition=models.Q(corrected_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type or 'MESSAGE'} {self.source_uuid}"

    @property
    def is_corrected(self) -> bool:
        return self.corrected_at is not None

    @staticmethod
    def derived_columns(
        *, sent_on: datetime | None, received_on: datetime | None, tags: list[str] | None
    ) -> dict[str, Any]:
        """The columns computed from others, by the one rule every writer uses (the ingest
        service, staff corrections, the demo generator): ``message_at`` is the later of
        sentOn and receivedOn, ``is_trashed`` says whether ``tags`` holds TRASH."""
        times = [moment for moment in (sent_on, received_on) if moment is not None]
        return {
            "message_at": max(times) if times else None,
            "is_trashed": bool(tags) and MessageTagValue.TRASH in tags,
        }

    def refresh_derived(self) -> None:
        """Bring ``message_at`` and ``is_trashed`` in line with the columns they come from."""
        derived = self.derived_columns(sent_on=self.sent_on, received_on=self.received_on, tags=self.tags)
        for name, value in derived.items():
            setattr(self, name, value)


class MessagePart(DepartmentRow):
    """Common columns of the rows that belong to one message.

    ``department`` is there for scoping with the message; nothing reads parts by
    department alone, so it has no index (a department's deletion scans the part tables).
    A ``message`` foreign key has no index of its own where a (message, position)
    constraint leads with it, nor ``tag`` where (tag, position) does.
    """

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+", db_index=False)

    class Meta:
        abstract = True


# The ``message`` and ``tag`` keys of the parts say ``db_constraint=False``: on PostgreSQL the
# real constraints are composite, (department_id, message_id) between matching partitions
# (models/partitioning.py), which a Django field cannot express; SQLite keeps the
# single-column keys of migration 0001.


class DraftAttributes(MessagePart):
    """``messageAttributes.draftAttributes``."""

    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="draft_attributes", db_constraint=False
    )
    draft_status = models.CharField(max_length=ENUM_MAX_LENGTH, choices=DraftStatus.choices, null=True, blank=True)
    scheduled_on = models.TextField(null=True, blank=True, help_text="A plain string in the source.")
    draft_failure_reason = models.CharField(
        max_length=ENUM_MAX_LENGTH, choices=DraftFailureReason.choices, null=True, blank=True
    )

    class Meta:
        ordering = ["message"]
        verbose_name = "draft attributes"
        verbose_name_plural = "draft attributes"

    def __str__(self) -> str:
        return f"Draft {self.draft_status or ''}".strip()


class Attachment(MessagePart):
    """One of ``messageAttributes.attachments``."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", db_index=False, db_constraint=False
    )
    position = models.PositiveIntegerField()
    file_url = models.TextField("file URL", null=True, blank=True)
    attachment_extension = models.TextField(null=True, blank=True)
    mime_type = models.TextField(null=True, blank=True)
    original_file_name = models.TextField(null=True, blank=True)
    doc_size = models.TextField(null=True, blank=True, help_text="A plain string in the source.")
    thumbnail_url = models.TextField("thumbnail URL", null=True, blank=True)
    media_preview_url = models.TextField("media preview URL", null=True, blank=True)

    class Meta:
        ordering = ["message", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "position"],
                name="attachment_unique_position",
                violation_error_message="The message already has an attachment at this position.",
            )
        ]

    def __str__(self) -> str:
        return self.original_file_name or self.file_url or f"Attachment {self.position}"


class MessageTag(MessagePart):
    """One of ``messageAttributes.messageTags``; ``value`` is a free JSON object."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="message_tags", db_index=False, db_constraint=False
    )
    position = models.PositiveIntegerField()
    tag_type_uuid = models.CharField("tag type UUID", max_length=IDENTIFIER_MAX_LENGTH, null=True, blank=True)
    reference_identifier = models.TextField(null=True, blank=True)
    value = models.JSONField(null=True, blank=True)
    primary_attribute_value = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["message", "position"]
        verbose_name = "message tag"
        verbose_name_plural = "message tags"
        constraints = [
            models.UniqueConstraint(
                fields=["message", "position"],
                name="message_tag_unique_position",
                violation_error_message="The message already has a tag at this position.",
            )
        ]
        indexes = [models.Index(fields=["department", "tag_type_uuid"], name="message_tag_type_idx")]

    def __str__(self) -> str:
        return f"{self.tag_type_uuid}:{self.reference_identifier}"


class MessageTagSecondaryAttribute(MessagePart):
    """One of ``messageTags[].secondaryAttributes``.

    Deleted through ``message`` (CASCADE); the ``tag`` reference is DO_NOTHING so that a
    message's tags can be replaced with one DELETE per table (the foreign key is checked
    at commit, after the ingest service has removed both).
    """

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    tag = models.ForeignKey(
        MessageTag,
        on_delete=models.DO_NOTHING,
        related_name="secondary_attributes",
        db_index=False,
        db_constraint=False,
    )
    position = models.PositiveIntegerField()
    value = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["tag", "position"]
        verbose_name = "secondary attribute"
        verbose_name_plural = "secondary attributes"
        constraints = [
            models.UniqueConstraint(
                fields=["tag", "position"],
                name="secondary_attribute_unique_position",
                violation_error_message="The tag already has a secondary attribute at this position.",
            )
        ]

    def __str__(self) -> str:
        return self.value or ""


class MessageTagParent(MessagePart):
    """One of ``messageTags[].parentTags``: a reference to another tag (``tag`` as above)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    tag = models.ForeignKey(
        MessageTag, on_delete=models.DO_NOTHING, related_name="parent_tags", db_index=False, db_constraint=False
    )
    position = models.PositiveIntegerField()
    tag_type_uuid = models.CharField("tag type UUID", max_length=IDENTIFIER_MAX_LENGTH, null=True, blank=True)
    reference_identifier = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["tag", "position"]
        verbose_name = "parent tag"
        verbose_name_plural = "parent tags"
        constraints = [
            models.UniqueConstraint(
                fields=["tag", "position"],
                name="parent_tag_unique_position",
                violation_error_message="The tag already has a parent tag at this position.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tag_type_uuid}:{self.reference_identifier}"


class NotificationAttributes(MessagePart):
    """``notificationAttributes``: stored as a fact; historical import notifies nobody."""

    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="notification_attributes", db_constraint=False
    )
    internal_subscribers_notifier_pop = models.BooleanField(null=True, blank=True)
    external_subscribers_notifier_pop = models.BooleanField(null=True, blank=True)
    thread_owner_notifier_pop = models.BooleanField(null=True, blank=True)
    send_phone_notification = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["message"]
        verbose_name = "notification attributes"
        verbose_name_plural = "notification attributes"

    def __str__(self) -> str:
        return f"Notification attributes of message {self.message_id}"


class NotificationNotifier(MessagePart):
    """One of ``notificationAttributes.additionalNotifierNotificationDAUUIDs``."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="notification_notifiers", db_index=False, db_constraint=False
    )
    position = models.PositiveIntegerField()
    da_uuid = models.CharField("DA UUID", max_length=IDENTIFIER_MAX_LENGTH)

    class Meta:
        ordering = ["message", "position"]
        verbose_name = "additional notifier"
        verbose_name_plural = "additional notifiers"
        constraints = [
            models.UniqueConstraint(
                fields=["message", "position"],
                name="notifier_unique_position",
                violation_error_message="The message already has a notifier at this position.",
            )
        ]

    def __str__(self) -> str:
        return self.da_uuid


class NotificationButton(MessagePart):
    """One of ``notificationAttributes.notificationButtons``."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="notification_buttons", db_index=False, db_constraint=False
    )
    position = models.PositiveIntegerField()
    button_text_translation_widget_key = models.TextField(null=True, blank=True)
    button_text_translation_key = models.TextField(null=True, blank=True)
    button_default_text = models.TextField(null=True, blank=True)
    button_theme = models.CharField(max_length=ENUM_MAX_LENGTH, choices=ButtonTheme.choices, null=True, blank=True)
    button_action_event_data = models.JSONField(null=True, blank=True)
    is_primary_button = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["message", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "position"],
                name="button_unique_position",
                violation_error_message="The message already has a button at this position.",
            )
        ]

    def __str__(self) -> str:
        return self.button_default_text or f"Button {self.position}"


class VoiceCallAttributes(MessagePart):
    """``voiceCallAttributes``: stored as a fact; historical import rings nobody."""

    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="voice_call_attributes", db_constraint=False
    )
    calling_party = models.TextField(null=True, blank=True)
    party2 = models.TextField(null=True, blank=True)
    party1_prompt = models.TextField(null=True, blank=True)
    party2_prompt = models.TextField(null=True, blank=True)
    call_status = models.BigIntegerField(null=True, blank=True)
    call_identifier = models.TextField(null=True, blank=True)
    call_date_time = models.DateTimeField(null=True, blank=True)
    call_broker = models.TextField(null=True, blank=True)
    recording_url = models.TextField("recording URL", null=True, blank=True)
    record_call = models.BooleanField(null=True, blank=True)
    transcribe_call = models.BooleanField(null=True, blank=True)
    transcribe_text = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["message"]
        verbose_name = "voice call attributes"
        verbose_name_plural = "voice call attributes"

    def __str__(self) -> str:
        return f"Voice call {self.call_identifier or self.message_id}"


class MessageUuid(models.Model):
    """The registry of messageUuids: each message's, unique across departments.

    The message table is partitioned by department on PostgreSQL, where a unique
    constraint must include the department; this table (primary key ``message_uuid``)
    keeps the contract's global uniqueness. Triggers on the message table write and delete
    its rows in the same statement, on both databases (models/partitioning.py), so no
    writer keeps it by hand; the ingest service reads other departments' messageUuids here.
    """

    message_uuid = models.CharField("message UUID", max_length=IDENTIFIER_MAX_LENGTH, primary_key=True)
    department = models.ForeignKey(Department, on_delete=models.DO_NOTHING, related_name="+", db_index=False)
    message = models.ForeignKey(
        Message, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )

    class Meta:
        ordering = ["message_uuid"]
        verbose_name = "message UUID"
        constraints = [
            # The trigger that follows a deleted message finds its row by this index.
            models.UniqueConstraint(
                fields=["department", "message"],
                name="message_uuid_registry_unique_message",
                violation_error_message="A message has one messageUuid.",
            ),
        ]

    def __str__(self) -> str:
        return self.message_uuid
