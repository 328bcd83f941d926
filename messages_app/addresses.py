"""The client's address, as far as trusted proxies vouch for it.

Behind a load balancer every connection comes from the balancer; the client's address is
in ``X-Forwarded-For``, which any client can also send. The header is believed only as
far as trusted proxies (``TRUSTED_PROXIES``, CIDRs) wrote it: read from the right (the
entry the nearest proxy appended), the first address that is not a trusted proxy is the
client. A request whose peer is not a trusted proxy is its ``REMOTE_ADDR``, whatever
headers it carries, so a spoofed header never moves a lockout onto someone else. Where the
proxies' addresses are not known in advance (a cloud load balancer), ``TRUSTED_PROXY_HOPS``
says how many proxies stand in front instead: each appended the address it received the
request from, so the client is that many entries from the right (Werkzeug's ``ProxyFix``
rule); entries further left are whatever the client sent and are never believed.

django-ipware was considered: its trusted proxies are string prefixes, not networks, and
it counts hops rather than checking each one; this is the nginx ``real_ip_recursive``
rule in a few lines. One function, used by the API lockout, the admin login lockout
(django-axes), the import batches' origin and the logs.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"


@lru_cache(maxsize=4)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())
    except ValueError as error:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {error}") from error


def trusted_networks() -> tuple[Network, ...]:
    """The networks of ``TRUSTED_PROXIES`` (ImproperlyConfigured for an entry that is not one)."""
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ()))


def _parse(text: str) -> Address | None:
    """An address as proxies write it: bare, ``1.2.3.4:port``, ``[v6]`` or ``[v6]:port``."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_address(request: Any) -> str:
    """The address of the client that sent ``request`` (a Django or DRF request)."""
    meta = request.META
    remote = _parse(meta.get("REMOTE_ADDR") or "")
    if remote is None:
        return meta.get("REMOTE_ADDR") or UNKNOWN
    networks = trusted_networks()
    if not networks:
        return _counted_hop(meta, remote)
    if not _trusted(remote, networks):
        return str(remote)
    client = remote
    for entry in reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        if not entry.strip():
            continue
        hop = _parse(entry)
        if hop is None:  # a hop we cannot read: believe nothing beyond it
            break
        client = hop
        if not _trusted(hop, networks):
            break
    return str(client)


def _counted_hop(meta: Any, remote: Address) -> str:
    """The client by ``TRUSTED_PROXY_HOPS``: the entry that many from the right of
    X-Forwarded-For; the peer itself when there are no hops, too few entries, or that
    entry cannot be read."""
    hops = int(getattr(settings, "TRUSTED_PROXY_HOPS", 0) or 0)
    if hops <= 0:
        return str(remote)
    entries = [entry for entry in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
    if len(entries) < hops:
        return str(remote)
    client = _parse(entries[-hops])
    return str(client) if client is not None else str(remote)


def client_ip(request: Any) -> str | None:
    """``client_address`` where an IP address column stores it (django-axes): None when the
    request has no peer address (an in-process login, a Unix socket)."""
    address = client_address(request)
    return address if _parse(address) is not None else None
