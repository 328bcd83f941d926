"""The rule for identifiers that integrations send: one definition, used everywhere.

Identifiers (departmentUUID, customerUUID, sourceUuid, messageUuid, userUuid, ...) are
opaque strings stored exactly as given; real ones are 64 hex characters or 43-character
base64-like tokens, so the rule is only what every database and URL can carry. "." and
".." are refused: in a URL path they are dot segments, which clients and proxies remove
(RFC 3986 §5.2.4) even when percent-encoded, so such an identifier could never be read back.
"""

import re

IDENTIFIER_MAX_LENGTH = 255
# What a user is told when an identifier breaks the rule (errors, forms, commands, OpenAPI).
IDENTIFIER_RULE = f'1-{IDENTIFIER_MAX_LENGTH} printable characters without whitespace, other than "." and ".."'
IDENTIFIER_EXPECTED = f"Expected {IDENTIFIER_RULE}."
# The OpenAPI pattern of an identifier (its length is stated separately).
IDENTIFIER_PATTERN = r"^(?!\.\.?$)[^\s\x00-\x1f\x7f-\x9f]+$"
_IDENTIFIER_RE = re.compile(rf"[^\s\x00-\x1f\x7f-\x9f]{{1,{IDENTIFIER_MAX_LENGTH}}}")
_DOT_SEGMENTS = frozenset({".", ".."})


def is_identifier(value: object) -> bool:
    """Whether ``value`` is an opaque identifier: a string that follows ``IDENTIFIER_RULE``."""
    return (
        isinstance(value, str)
        and _IDENTIFIER_RE.fullmatch(value) is not None
        and value.isprintable()
        and value not in _DOT_SEGMENTS
    )
