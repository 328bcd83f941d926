"""HTTP Basic authentication of API clients, with a lockout of repeated failures.

Failed logins are counted here, before DRF's throttles (which never see them), per
(client name, client address) in Django's cache. Any malformed credential (no colon,
bad base64, non-UTF-8, NUL, huge) is a 401, never a 500: nothing malformed reaches a
database query.
"""

import base64
import binascii
import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from ..addresses import client_address
from ..errors import UNSTORABLE_RE, LoginLockedOut
from ..models import ApiClient

REALM = "communications"
MAX_HEADER_LENGTH = 4096
MAX_NAME_LENGTH = ApiClient._meta.get_field("name").max_length
MAX_SECRET_LENGTH = 1024


def _keys(name: str, address: str) -> tuple[str, str]:
    digest = hashlib.sha256(f"{name}\n{address}".encode("utf-8", "backslashreplace")).hexdigest()[:40]
    return f"auth-failures:{digest}", f"auth-locked:{digest}"


def _raise_if_locked(name: str, address: str) -> None:
    _, lock_key = _keys(name, address)
    locked_until = cache.get(lock_key)
    if locked_until is not None and locked_until > time.time():
        raise LoginLockedOut(wait=math.ceil(locked_until - time.time()))


def _record_failure(name: str, address: str) -> None:
    failures_key, lock_key = _keys(name, address)
    window = settings.AUTH_LOCKOUT_SECONDS
    cache.add(failures_key, 0, timeout=window)
    try:
        failures = cache.incr(failures_key)
    except ValueError:
        cache.set(failures_key, 1, timeout=window)
        failures = 1
    if failures >= settings.AUTH_LOCKOUT_FAILURES:
        cache.set(lock_key, time.time() + window, timeout=window)
        cache.delete(failures_key)


class ApiClientBasicAuthentication(authentication.BaseAuthentication):
    """Authenticates an ``ApiClient``; ``request.user`` and ``request.auth`` are the client."""

    def authenticate(self, request: Request) -> tuple[ApiClient, ApiClient] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        name, secret = self._decode(token.strip())
        address = client_address(request)
        _raise_if_locked(name, address)
        client = ApiClient.objects.filter(name=name, is_active=True).first() if self._plausible(name, secret) else None
        if client is None or not client.check_secret(secret):
            _record_failure(name, address)
            raise exceptions.AuthenticationFailed("Invalid client name or secret.")
        cache.delete(_keys(name, address)[0])
        return client, client

    @staticmethod
    def _decode(token: str) -> tuple[str, str]:
        if not token or len(token) > MAX_HEADER_LENGTH or " " in token:
            raise exceptions.AuthenticationFailed("Malformed Basic credentials.")
        try:
            decoded = base64.b64decode(token.encode("ascii"), validate=True).decode("utf-8")
        except (UnicodeError, binascii.Error, ValueError) as exc:
            raise exceptions.AuthenticationFailed("Malformed Basic credentials.") from exc
        name, colon, secret = decoded.partition(":")
        if not colon:
            raise exceptions.AuthenticationFailed("Malformed Basic credentials: no colon.")
        return name, secret

    @staticmethod
    def _plausible(name: str, secret: str) -> bool:
        return (
            0 < len(name) <= MAX_NAME_LENGTH
            and len(secret) <= MAX_SECRET_LENGTH
            and not UNSTORABLE_RE.search(name)
            and not UNSTORABLE_RE.search(secret)
        )

    def authenticate_header(self, request: Request) -> str:
        return f'Basic realm="{REALM}"'
