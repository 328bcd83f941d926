"""API clients (service subscribers) and their per-department grants."""

import base64
import hashlib
import hmac
import secrets

from django.db import models

from ..enums import ApiScope
from .tenancy import Department

MIN_CLIENT_SECRET_LENGTH = 24


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
        "callback base URL",
        max_length=500,
        blank=True,
        help_text="callBackPathUrl paths are resolved against this URL.",
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
        verbose_name = "API client"
        verbose_name_plural = "API clients"

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
        verbose_name = "API client grant"
        verbose_name_plural = "API client grants"
        constraints = [
            models.UniqueConstraint(
                fields=["client", "department", "scope"],
                name="grant_unique_scope",
                violation_error_message="The client already has this scope in this department.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.scope} @ {self.department}"
