"""API paths as the client sent them: routing on the raw request target's segments.

The server percent-decodes the path before Django sees it (PATH_INFO), so a ``%2F`` inside
an identifier has become a separator, and Django re-percent-encodes bytes that are not
UTF-8, so ``x%FFy`` (the byte 0xFF) and ``x%25FFy`` (the text "%FF") look alike. API
routes are therefore resolved from the raw target (gunicorn's ``RAW_URI``, uWSGI's
``REQUEST_URI``): split on a literal "/", each segment percent-decoded to bytes and
re-encoded in full into the canonical path the URL resolver sees. The identifier
converter turns a canonical segment back into exactly the text sent; bytes that are not
UTF-8 become lone surrogates there, which the identifier rule refuses. Without a raw
target (Django's runserver), Django's decoded path serves: a ``%2F`` is then a plain
separator, and a path holding a "%" is refused as ambiguous.
"""

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlsplit

from django.http import HttpRequest
from django.urls.converters import StringConverter
from django.utils.encoding import repercent_broken_unicode

from ..identifiers import IDENTIFIER_EXPECTED, is_identifier

API_PREFIX = "/communications"
DOT_SEGMENTS = frozenset({".", ".."})
# The WSGI keys that servers use for the request target exactly as it was sent.
RAW_TARGET_KEYS = ("RAW_URI", "REQUEST_URI")


def is_api_path(path_info: str) -> bool:
    return path_info == API_PREFIX or path_info.startswith(f"{API_PREFIX}/")


def _target_path(target: str) -> str | None:
    """The path of a request target: origin form ``/p?q`` or absolute form ``http://h/p?q``."""
    if target.startswith("/"):
        return target.partition("?")[0].partition("#")[0]
    parts = urlsplit(target)
    if parts.scheme and parts.netloc:
        return parts.path or "/"
    return None


def path_segments(environ: Mapping[str, Any]) -> list[bytes] | None:
    """The path below SCRIPT_NAME as percent-decoded byte segments ("/a/b" is ``["", "a", "b"]``).

    A raw target is used only when it decodes to the path Django has (a target that
    disagrees is not what the server routed: a rewrite happened on the way). Without one,
    Django's decoded path serves, unless it holds a "%": Django writes a byte that is not
    UTF-8 as "%XX", so there a "%" may be one the client sent (%25) or a byte it did not,
    and None says that the path cannot be known exactly.
    """
    path_info = environ.get("PATH_INFO", "")
    script_name = environ.get("SCRIPT_NAME", "")
    for key in RAW_TARGET_KEYS:
        path = _target_path(environ.get(key) or "")
        if path is None or not path.startswith(script_name):
            continue
        try:
            raw = path[len(script_name) :].encode("latin-1")
        except UnicodeEncodeError:
            continue
        segments = [unquote_to_bytes(segment) for segment in raw.split(b"/")]
        if repercent_broken_unicode(b"/".join(segments)).decode() == path_info:
            return segments
    if "%" in path_info:
        return None
    return path_info.encode().split(b"/")


def canonical_path(segments: list[bytes]) -> str:
    """The path with every segment fully percent-encoded: ASCII, and a "/" only between segments."""
    return "/".join(quote(segment, safe="") for segment in segments)


def request_location(request: HttpRequest) -> str:
    """The request's path and query as sent, for links back to it (pagination).

    ``request.path`` has a %2F of an identifier decoded into a separator; the canonical
    ``path_info`` the middleware set keeps it.
    """
    query = request.META.get("QUERY_STRING", "")
    path = request.META.get("SCRIPT_NAME", "").rstrip("/") + request.path_info
    return f"{path}?{query}" if query else path


def undecodable_query_parameter(query_string: str) -> str | None:
    """The name of the first query parameter whose name or value is not UTF-8 once
    percent-decoded (an encoded surrogate such as ``%ED%A0%80`` included), or None.

    Django decodes such bytes into U+FFFD, so the view would see other text than was sent.
    """
    try:
        raw = query_string.encode("latin-1")
    except UnicodeEncodeError:
        raw = query_string.encode()
    for pair in raw.split(b"&"):
        name, _, value = (unquote_to_bytes(part.replace(b"+", b" ")) for part in pair.partition(b"="))
        try:
            name.decode()
            value.decode()
        except UnicodeDecodeError:
            return name.decode(errors="replace")
    return None


def has_dot_segment(canonical: str) -> bool:
    # quote() never encodes ".", so a dot segment sent as %2E is "." here as well.
    return any(segment in DOT_SEGMENTS for segment in canonical.split("/"))


def identifier_problem(value: str) -> str | None:
    """Why a decoded path identifier is refused, or None when it is a valid identifier."""
    if is_identifier(value):
        return None
    if any("\udc80" <= char <= "\udcff" for char in value):
        return "Not UTF-8 once percent-decoded; an identifier is never rewritten."
    if value in DOT_SEGMENTS:
        return 'A dot segment: paths are not normalised, and no identifier is "." or "..".'
    return IDENTIFIER_EXPECTED


class IdentifierConverter(StringConverter):
    """A path identifier: one canonical segment, decoded back to exactly the text sent.

    Bytes that are not UTF-8 (overlong forms and encoded surrogates included) become lone
    surrogates (``surrogateescape``): no rewritten identifier, and the view's identifier
    check refuses them. ``reverse()`` gets the identifier as text and quotes it itself.
    """

    def to_python(self, value: str) -> str:
        return unquote_to_bytes(value).decode("utf-8", "surrogateescape")
