"""Tenancy: departments, their customers and each customer's conversation."""

from django.conf import settings
from django.db import models

from ..identifiers import IDENTIFIER_MAX_LENGTH


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

    # Indexed by customer_unique_per_department, which leads with it.
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="customers", db_index=False)
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

    # Indexed by conversation_dept_last_idx, which leads with it.
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="conversations", db_index=False)
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
