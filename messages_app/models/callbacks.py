"""Callback deliveries owed to API clients, and each HTTP attempt."""

from django.db import models

from ..identifiers import IDENTIFIER_MAX_LENGTH
from .batches import ImportBatch
from .clients import ApiClient
from .tenancy import Department


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
    source_uuid = models.CharField("source UUID", max_length=IDENTIFIER_MAX_LENGTH, blank=True)
    url = models.TextField("URL")
    payload = models.JSONField()
    webhook_id = models.CharField("webhook ID", max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "callback delivery"
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
    duration_ms = models.PositiveIntegerField("duration (ms)", default=0)
    error = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        verbose_name = "callback attempt"
        verbose_name_plural = "callback attempts"
        indexes = [models.Index(fields=["department", "-attempted_at"], name="callback_attempt_dept_idx")]

    def __str__(self) -> str:
        return f"Attempt {self.number} of {self.delivery.webhook_id}: {self.response_code or self.error[:40]}"
