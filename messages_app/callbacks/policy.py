"""Which callback URLs and addresses are acceptable (DESIGN.md §3.3, SSRF).

A ``callBackPathUrl`` is resolved against the client's registered base URL, or accepted
as an absolute URL only on the client's registered origins; every address its host
resolves to must be globally routable unless the host is explicitly allowed. The checks
run when the URL is accepted (so a refusal is a warning on the response) and again when
the worker connects (``delivery``), so a DNS answer that changes in between cannot point
a delivery at a private address.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from ..models import ApiClient

SCHEMES = ("http", "https")


DEFAULT_PORTS = {"http": 80, "https": 443}


class CallbackRefused(Exception):
    """A callback URL we will not send to; the message is the reason shown to the client.

    Not an OSError on purpose: raised inside urllib3 at connect time, it must propagate
    as itself instead of being retried as a network error.
    """


def _allowed_hosts() -> set[str]:
    return {_bare_host(host) for host in getattr(settings, "CALLBACK_ALLOWED_HOSTS", [])}


def _bare_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def checked_addresses(host: str, port: int) -> list[str]:
    """Resolve ``host`` and return its addresses, refusing any that is not globally routable.

    ``is_global`` (not ``is_private``) is the test: it also rejects shared (100.64/10),
    reserved, documentation and benchmarking ranges. IPv4-mapped IPv6 addresses are judged
    by the IPv4 address they carry. Every address must pass, not just one, since the
    resolver's order is not ours to choose. Hosts in CALLBACK_ALLOWED_HOSTS are exempt.
    """
    bare = _bare_host(host)
    try:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise CallbackRefused(f"The host {host} does not resolve.") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if bare in _allowed_hosts():
        return addresses
    for text in addresses:
        if not _is_public(ipaddress.ip_address(text.split("%", 1)[0])):
            raise CallbackRefused(f"The host {host} resolves to {text}, which is not a public address.")
    return addresses


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast; an IPv6 address carrying an IPv4 one must pass for both.

    ``is_global`` alone lets multicast through (224/4, ff00::/8), hence the extra tests.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _is_public(address.ipv4_mapped)
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None and not _is_public(embedded):
            return False
    return True


def normalize_origin(value: str) -> str:
    """``scheme://host[:port]`` in canonical form (lower case, default port dropped)."""
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise ValueError(f"Not an http(s) origin: {value!r}")
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"An origin is scheme://host[:port] only: {value!r}")
    return _origin(parts)


def normalize_base_url(value: str) -> str:
    """An http(s) URL without credentials, query or fragment, ending in ``/``."""
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise ValueError(f"Not an http(s) URL: {value!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(f"A callback base URL has no credentials, query or fragment: {value!r}")
    return _origin(parts) + (parts.path.rstrip("/") + "/")


def origin_of(url: str) -> str:
    """The canonical origin of an absolute http(s) URL (ValueError if it has none)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise ValueError(f"Not an http(s) URL: {url!r}")
    return _origin(parts)


def _origin(parts: Any) -> str:
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    return f"{scheme}://{host}" if port in (None, DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def resolve_callback_url(client: ApiClient | None, value: Any) -> str:
    """The absolute URL a ``callBackPathUrl`` value names for this client, or CallbackRefused.

    A path is joined to the client's callback base URL and must stay under it; an absolute
    URL must be on one of the client's registered origins (or the base URL's origin).
    """
    if not isinstance(value, str) or not value.strip():
        raise CallbackRefused("Empty callBackPathUrl.")
    if client is None or not client.callback_secret:
        raise CallbackRefused("Callbacks need an API client registered for callbacks.")
    if any(char in value for char in "\\\r\n\t "):
        raise CallbackRefused("A callback URL may not contain whitespace or backslashes.")
    parts = urlsplit(value)
    try:
        if parts.scheme or value.startswith("//"):
            if not parts.scheme:
                raise CallbackRefused("A scheme-relative URL is not accepted; give a path or an http(s) URL.")
            if parts.scheme.lower() not in SCHEMES:
                raise CallbackRefused(f"Only http and https callbacks are sent, not {parts.scheme or 'no'} scheme.")
            allowed = set(client.callback_origins or [])
            if client.callback_base_url:
                allowed.add(origin_of(client.callback_base_url))
            if not parts.hostname or origin_of(value) not in allowed:
                raise CallbackRefused("The URL's origin is not one of the client's registered callback origins.")
            url = value
        else:
            if not client.callback_base_url:
                raise CallbackRefused("The client has no registered callback base URL to resolve a path against.")
            base = normalize_base_url(client.callback_base_url)
            url = urljoin(base, value.lstrip("/"))
            if not url.startswith(base):
                raise CallbackRefused("The path leaves the client's callback base URL.")
        final = urlsplit(url)
        if final.username or final.password:
            raise CallbackRefused("A callback URL may not carry credentials.")
        port = final.port or DEFAULT_PORTS[final.scheme.lower()]
    except ValueError as exc:
        raise CallbackRefused(f"Not a valid URL: {exc}") from exc
    checked_addresses(final.hostname or "", port)
    return url
