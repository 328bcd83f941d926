"""Import batches: one record per run of the ingest service."""

from django.conf import settings
from django.db import models
from django.utils.translation import ngettext

from ..enums import ImportSource
from .clients import ApiClient
from .tenancy import Customer, Department


class ImportBatch(models.Model):
    """One run of the ingest service: an API request, a command run or a re-import."""

    source = models.CharField(max_length=16, choices=ImportSource.choices)
    # Indexed by batch_dept_created_idx, which leads with it.
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="import_batches", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="import_batches", null=True, blank=True
    )
    client = models.ForeignKey(ApiClient, on_delete=models.SET_NULL, null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    origin = models.CharField(max_length=500, blank=True, help_text="Client address, file name or command line.")
    callback_path_url = models.TextField("callback path URL", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    item_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    response = models.JSONField(default=dict, blank=True)
    # Set when every item was stored and the request named no callback: the same bytes sent
    # again are answered from the stored rows without being decoded (ingest/resend.py).
    request_digest = models.CharField(
        max_length=64, blank=True, editable=False, help_text="SHA-256 of the request body, when it can be re-sent."
    )
    items_digest = models.CharField(
        max_length=64, blank=True, editable=False, help_text="SHA-256 of its items' source hashes, in request order."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "import batch"
        verbose_name_plural = "import batches"
        indexes = [
            models.Index(fields=["department", "-created_at"], name="batch_dept_created_idx"),
            # The admin's batch list across departments (superusers), newest first.
            models.Index(fields=["-created_at", "-id"], name="batch_created_idx"),
            # An identical re-send finds the batch that answered its bytes before.
            models.Index(
                fields=["department", "request_digest"],
                name="batch_request_digest_idx",
                condition=~models.Q(request_digest=""),
            ),
        ]

    def __str__(self) -> str:
        items = ngettext("item", "items", self.item_count)
        return f"Batch {self.pk} ({self.get_source_display()}, {self.item_count} {items})"
