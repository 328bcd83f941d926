"""Registering API clients and their per-department grants."""

from collections.abc import Iterable

from django.db import transaction

from .callbacks.policy import normalize_base_url, normalize_origin
from .enums import ApiScope
from .models import ApiClient, ApiClientGrant, Department


@transaction.atomic
def register_client(
    name: str,
    department_uuids: Iterable[str],
    scopes: Iterable[str] = tuple(ApiScope.values),
    secret: str | None = None,
    callback_base_url: str | None = None,
    callback_origins: Iterable[str] | None = None,
) -> tuple[ApiClient, str | None]:
    """Create or update a client and grant it ``scopes`` in each department.

    Departments are created when missing. Without ``secret`` a new client gets a
    generated one, returned once (only its keyed hash is stored); an existing client
    keeps its secret unless one is given. ``callback_base_url`` / ``callback_origins``
    replace the client's callback registration when given (ValueError if malformed).
    """
    client = ApiClient.objects.filter(name=name).first()
    new_secret = secret
    if client is None:
        client = ApiClient(name=name)
        new_secret = secret or ApiClient.generate_secret()
    if new_secret is not None:
        client.set_secret(new_secret)
    client.is_active = True
    if callback_base_url is not None:
        client.callback_base_url = normalize_base_url(callback_base_url) if callback_base_url else ""
    if callback_origins is not None:
        client.callback_origins = sorted({normalize_origin(origin) for origin in callback_origins})
    client.save()
    for department_uuid in department_uuids:
        department, _ = Department.objects.get_or_create(uuid=department_uuid)
        for scope in scopes:
            ApiClientGrant.objects.get_or_create(client=client, department=department, scope=scope)
    return client, new_secret


def ensure_callback_secret(client: ApiClient, *, rotate: bool = False) -> str | None:
    """Give the client a callback signing secret if it has none (or a new one with ``rotate``).

    Returns the new secret so the caller can show it once; None when it was kept.
    """
    if client.callback_secret and not rotate:
        return None
    client.callback_secret = ApiClient.generate_callback_secret()
    client.save(update_fields=["callback_secret"])
    return client.callback_secret
