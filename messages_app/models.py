"""Normalised storage of historical customer communications.

Every table carries its department so that the schema can later be partitioned or
distributed by department. Identifiers that come from integrations are opaque strings
stored exactly as given (``IDENTIFIER_MAX_LENGTH``); primary keys are our own.
"""

import base64
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models

from .enums import (
    ApiScope,
    ButtonTheme,
    DraftFailureReason,
    DraftStatus,
    ImportSource,
    MessageType,
    Protocol,
    Purpose,
)

IDENTIFIER_MAX_LENGTH = 255
ENUM_MAX_LENGTH = 64
MIN_CLIENT_SECRET_LENGTH = 24


class Department(models.Model):
    """A dealership department: the tenant every message belongs to."""

    uuid = models.CharField("department UUID", max_length=IDENTIFIER_MAX_LENGTH, unique=True)
    name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="departments",
        help_text="Staff users who may see and correct this department's messages.",
    )

    class Meta:
        ordering = ["name", "uuid"]

    def __str__(self) -> str:
        return self.name or self.uuid


class Customer(models.Model):
    """A customer of one department, created on first import."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="customers")
    uuid = models.CharField("customer UUID", max_length=IDENTIFIER_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["department", "uuid"]
        constraints = [
            models.UniqueConstraint(
                fields=["department", "uuid"],
                name="customer_unique_per_department",
                violation_error_message="This customer already exists in the department.",
            )
        ]

    def __str__(self) -> str:
        return self.uuid


class Conversation(models.Model):
    """The thread of one customer in one department, with its derived counters.

    The counters are recomputed from the message rows after every write, never
    incremented, so a re-sent message can never be counted twice.
    """

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="conversations")
    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="conversation")
    total_message_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_message_at", "id"]
        indexes = [
            models.Index(fields=["department", "-last_message_at"], name="conversation_dept_last_idx"),
            # The admin's conversation list across departments (superusers), newest first.
            models.Index(fields=["-last_message_at", "id"], name="conversation_last_idx"),
        ]

    def __str__(self) -> str:
        return f"Conversation with {self.customer}"


class ApiClient(models.Model):
    """A service subscriber that authenticates with HTTP Basic.

    The secret is stored as an HMAC-SHA256 keyed with a per-client salt: secrets are
    generated high-entropy tokens (or operator-chosen, at least 24 characters), so a fast
    keyed hash is safe and a credential check costs microseconds, not PBKDF2 rounds.
    """

    name = models.CharField(max_length=150, unique=True)
    secret_salt = models.CharField(max_length=64, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    callback_base_url = models.URLField(
        max_length=500, blank=True, help_text="callBackPathUrl paths are resolved against this URL."
    )
    callback_origins = models.JSONField(
        default=list,
        blank=True,
        help_text="Origins (scheme://host[:port]) an absolute callBackPathUrl may point to.",
    )
    # Kept in clear (not hashed): it signs every callback, so the server must be able to use it.
    callback_secret = models.CharField(max_length=100, blank=True, editable=False)

    is_authenticated = True

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def generate_secret() -> str:
        return secrets.token_urlsafe(32)

    def _digest(self, secret: str) -> str:
        return hmac.new(self.secret_salt.encode(), secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def set_secret(self, secret: str) -> None:
        if len(secret) < MIN_CLIENT_SECRET_LENGTH:
            raise ValueError(f"A client secret needs at least {MIN_CLIENT_SECRET_LENGTH} characters.")
        self.secret_salt = secrets.token_hex(16)
        self.secret_hash = self._digest(secret)

    def check_secret(self, secret: str) -> bool:
        return bool(self.secret_hash) and hmac.compare_digest(self._digest(secret), self.secret_hash)

    @staticmethod
    def generate_callback_secret() -> str:
        """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
        return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class ApiClientGrant(models.Model):
    """One scope of one API client in one department."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="grants")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="grants")
    scope = models.CharField(max_length=32, choices=ApiScope.choices)

    class Meta:
        ordering = ["client", "department", "scope"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "department", "scope"],
                name="grant_unique_scope",
                violation_error_message="The client already has this scope in this department.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.scope} @ {self.department}"


class ImportBatch(models.Model):
    """One run of the ingest service: an API request, a command run or a re-import."""

    source = models.CharField(max_length=16, choices=ImportSource.choices)
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="import_batches")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="import_batches", null=True, blank=True
    )
    client = models.ForeignKey(ApiClient, on_delete=models.SET_NULL, null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    origin = models.CharField(max_length=500, blank=True, help_text="Client address, file name or command line.")
    callback_path_url = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    item_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    response = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"
        indexes = [
            models.Index(fields=["department", "-created_at"], name="batch_dept_created_idx"),
            # The admin's batch list across departments (superusers), newest first.
            models.Index(fields=["-created_at", "-id"], name="batch_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.get_source_display()}, {self.item_count} items)"


class Message(models.Model):
    """One historical message, with the item exactly as received.

    ``(department, source_uuid)`` is the idempotency key; ``message_uuid`` is the server's
    id, unique across departments. ``message_at`` is the later of sent/received and orders
    the conversation.
    """

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="messages")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="messages")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    source_uuid = models.CharField(max_length=IDENTIFIER_MAX_LENGTH)
    message_uuid = models.CharField(max_length=IDENTIFIER_MAX_LENGTH, unique=True)
    callback_path_url = models.TextField(null=True, blank=True)
    sent_on = models.DateTimeField(null=True, blank=True)
    received_on = models.DateTimeField(null=True, blank=True)
    message_at = models.DateTimeField(help_text="The later of sentOn and receivedOn.")
    user_uuid = models.CharField(max_length=IDENTIFIER_MAX_LENGTH, null=True, blank=True)
    communication_uid = models.CharField(max_length=IDENTIFIER_MAX_LENGTH, null=True, blank=True)

    body = models.TextField(null=True, blank=True)
    type = models.CharField(max_length=ENUM_MAX_LENGTH, choices=MessageType.choices, null=True, blank=True)
    protocol = models.CharField(max_length=ENUM_MAX_LENGTH, choices=Protocol.choices, null=True, blank=True)
    purpose = models.CharField(max_length=ENUM_MAX_LENGTH, choices=Purpose.choices, null=True, blank=True)
    is_manual = models.BooleanField(null=True, blank=True)
    subject = models.TextField(null=True, blank=True)
    meta_data = models.JSONField(null=True, blank=True)
    tags = models.JSONField(null=True, blank=True)
    is_trashed = models.BooleanField(default=False, help_text="tags contains TRASH.")
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
        ImportBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="created_messages"
    )
    updated_batch = models.ForeignKey(
        ImportBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="updated_messages"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    corrected_at = models.DateTimeField(null=True, blank=True)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    corrected_fields = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["message_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["department", "source_uuid"],
                name="message_unique_source_uuid_per_department",
                violation_error_message="A message with this sourceUuid already exists in the department.",
            )
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
        ]

    def __str__(self) -> str:
        return f"{self.type or 'MESSAGE'} {self.source_uuid}"

    @property
    def is_corrected(self) -> bool:
        return self.corrected_at is not None


class MessagePart(models.Model):
    """Common columns of the rows that belong to one message."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


class DraftAttributes(MessagePart):
    """``messageAttributes.draftAttributes``."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="draft_attributes")
    draft_status = models.CharField(max_length=ENUM_MAX_LENGTH, choices=DraftStatus.choices, null=True, blank=True)
    scheduled_on = models.TextField(null=True, blank=True, help_text="A plain string in the source.")
    draft_failure_reason = models.CharField(
        max_length=ENUM_MAX_LENGTH, choices=DraftFailureReason.choices, null=True, blank=True
    )

    class Meta:
        ordering = ["message"]
        verbose_name_plural = "draft attributes"

    def __str__(self) -> str:
        return f"Draft {self.draft_status or ''}".strip()


class Attachment(MessagePart):
    """One of ``messageAttributes.attachments``."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    position = models.PositiveIntegerField()
    file_url = models.TextField(null=True, blank=True)
    attachment_extension = models.TextField(null=True, blank=True)
    mime_type = models.TextField(null=True, blank=True)
    original_file_name = models.TextField(null=True, blank=True)
    doc_size = models.TextField(null=True, blank=True, help_text="A plain string in the source.")
    thumbnail_url = models.TextField(null=True, blank=True)
    media_preview_url = models.TextField(null=True, blank=True)

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

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="message_tags")
    position = models.PositiveIntegerField()
    tag_type_uuid = models.CharField(max_length=IDENTIFIER_MAX_LENGTH, null=True, blank=True)
    reference_identifier = models.TextField(null=True, blank=True)
    value = models.JSONField(null=True, blank=True)
    primary_attribute_value = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["message", "position"]
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

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(MessageTag, on_delete=models.DO_NOTHING, related_name="secondary_attributes")
    position = models.PositiveIntegerField()
    value = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["tag", "position"]
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

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(MessageTag, on_delete=models.DO_NOTHING, related_name="parent_tags")
    position = models.PositiveIntegerField()
    tag_type_uuid = models.CharField(max_length=IDENTIFIER_MAX_LENGTH, null=True, blank=True)
    reference_identifier = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["tag", "position"]
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

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="notification_attributes")
    internal_subscribers_notifier_pop = models.BooleanField(null=True, blank=True)
    external_subscribers_notifier_pop = models.BooleanField(null=True, blank=True)
    thread_owner_notifier_pop = models.BooleanField(null=True, blank=True)
    send_phone_notification = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["message"]
        verbose_name_plural = "notification attributes"

    def __str__(self) -> str:
        return f"Notification attributes of message {self.message_id}"


class NotificationNotifier(MessagePart):
    """One of ``notificationAttributes.additionalNotifierNotificationDAUUIDs``."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="notification_notifiers")
    position = models.PositiveIntegerField()
    da_uuid = models.CharField("DA UUID", max_length=IDENTIFIER_MAX_LENGTH)

    class Meta:
        ordering = ["message", "position"]
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

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="notification_buttons")
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

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="voice_call_attributes")
    calling_party = models.TextField(null=True, blank=True)
    party2 = models.TextField(null=True, blank=True)
    party1_prompt = models.TextField(null=True, blank=True)
    party2_prompt = models.TextField(null=True, blank=True)
    call_status = models.BigIntegerField(null=True, blank=True)
    call_identifier = models.TextField(null=True, blank=True)
    call_date_time = models.DateTimeField(null=True, blank=True)
    call_broker = models.TextField(null=True, blank=True)
    recording_url = models.TextField(null=True, blank=True)
    record_call = models.BooleanField(null=True, blank=True)
    transcribe_call = models.BooleanField(null=True, blank=True)
    transcribe_text = models.TextField(null=True, blank=True)

    class Meta:
        ordering = ["message"]
        verbose_name_plural = "voice call attributes"

    def __str__(self) -> str:
        return f"Voice call {self.call_identifier or self.message_id}"


class CallbackDelivery(models.Model):
    """One callback POST owed to a client: created with its batch, retried until delivered or failed.

    ``webhook_id`` stays the same across attempts so the receiver can de-duplicate
    (delivery is at-least-once).
    """

    class Kind(models.TextChoices):
        REQUEST = "request", "Request (whole response)"
        ITEM = "item", "Item (saveMessageResponse entry)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="callback_deliveries")
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="callback_deliveries")
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="callback_deliveries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source_uuid = models.CharField(max_length=IDENTIFIER_MAX_LENGTH, blank=True)
    url = models.TextField()
    payload = models.JSONField()
    webhook_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "callback deliveries"
        indexes = [
            models.Index(fields=["department", "-created_at"], name="callback_dept_created_idx"),
            models.Index(fields=["status", "next_attempt_at"], name="callback_status_next_idx"),
        ]

    def __str__(self) -> str:
        return f"Callback {self.webhook_id} ({self.get_status_display()})"


class CallbackAttempt(models.Model):
    """One HTTP attempt of a delivery, kept for the admin and for support."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="callback_attempts")
    delivery = models.ForeignKey(CallbackDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=CallbackDelivery.Status.choices)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        indexes = [models.Index(fields=["department", "-attempted_at"], name="callback_attempt_dept_idx")]

    def __str__(self) -> str:
        return f"Attempt {self.number} of {self.delivery.webhook_id}: {self.response_code or self.error[:40]}"
