"""Registering API clients and their per-department grants."""

from collections.abc import Iterable

from django.db import transaction

from .enums import ApiScope
from .models import ApiClient, ApiClientGrant, Department


@transaction.atomic
def register_client(
    name: str,
    department_uuids: Iterable[str],
    scopes: Iterable[str] = tuple(ApiScope.values),
    secret: str | None = None,
) -> tuple[ApiClient, str | None]:
    """Create or update a client and grant it ``scopes`` in each department.

    Departments are created when missing. Without ``secret`` a new client gets a
    generated one, returned once (only its keyed hash is stored); an existing client
    keeps its secret unless one is given.
    """
    client = ApiClient.objects.filter(name=name).first()
    new_secret = secret
    if client is None:
        client = ApiClient(name=name)
        new_secret = secret or ApiClient.generate_secret()
    if new_secret is not None:
        client.set_secret(new_secret)
    client.is_active = True
    client.save()
    for department_uuid in department_uuids:
        department, _ = Department.objects.get_or_create(uuid=department_uuid)
        for scope in scopes:
            ApiClientGrant.objects.get_or_create(client=client, department=department, scope=scope)
    return client, new_secret
