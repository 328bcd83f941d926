"""The catalogue of error and warning codes users see, declared once, and the errors
that refuse a whole request.

Codes are stable UPPER_SNAKE strings; clients branch on them, so never rename one. The
label of each member is its documented meaning (README and OpenAPI description are
generated from it). The request errors live here, at the bottom of the house, because
the wire format, the JSON decoder, authentication and the import command raise them
alike; the API's exception handler turns them into the response envelope.
"""

import logging
import re
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import models
from rest_framework import exceptions, status

from .identifiers import IDENTIFIER_RULE

UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")


def find_unstorable(value: Any, path: str) -> list[str]:
    """Paths of strings (keys included) that hold NUL or a lone surrogate."""
    found = []
    stack = [(value, path)]
    while stack:
        node, node_path = stack.pop()
        if isinstance(node, str):
            if UNSTORABLE_RE.search(node):
                found.append(node_path)
        elif isinstance(node, dict):
            for key, child in node.items():
                if isinstance(key, str) and UNSTORABLE_RE.search(key):
                    found.append(f"{node_path} (a key)")
                stack.append((child, f"{node_path}.{key}"))
        elif isinstance(node, list):
            stack.extend((child, f"{node_path}[{i}]") for i, child in enumerate(node))
    return sorted(found)


def escape_unstorable(text: str) -> str:
    """Spell NUL and lone surrogates as \\uXXXX so a message about them can be stored and sent."""
    if UNSTORABLE_RE.search(text) is None:
        return text
    return UNSTORABLE_RE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class ErrorCode(models.TextChoices):
    """Errors: an item that was not stored, or a request that was refused."""

    # Item level: the item is not stored, the others are.
    MISSING_SOURCE_UUID = "MISSING_SOURCE_UUID", "sourceUuid is absent, null or empty."
    DUPLICATE_SOURCE_UUID = "DUPLICATE_SOURCE_UUID", "The same sourceUuid appears earlier in this request."
    SOURCE_UUID_CUSTOMER_CONFLICT = (
        "SOURCE_UUID_CUSTOMER_CONFLICT",
        "The sourceUuid is already stored under another customer of this department.",
    )
    MESSAGE_UUID_CONFLICT = (
        "MESSAGE_UUID_CONFLICT",
        "The messageUuid belongs to another message (in any department), or differs from the one "
        "already stored for this sourceUuid.",
    )
    MISSING_TIMESTAMP = "MISSING_TIMESTAMP", "Neither sentOn nor receivedOn is given."
    TIMESTAMP_IN_FUTURE = "TIMESTAMP_IN_FUTURE", "A date-time is more than 5 minutes in the future."
    INVALID_DATETIME = "INVALID_DATETIME", "A date-time is not ISO 8601 (for example 2025-03-28T11:34:43.227Z)."
    INVALID_ENUM_VALUE = "INVALID_ENUM_VALUE", "A value is not in the field's list of values (case-sensitive)."
    INVALID_FIELD_TYPE = (
        "INVALID_FIELD_TYPE",
        "A value has the wrong JSON type (string, boolean, integer, object, list).",
    )
    INVALID_IDENTIFIER = (
        "INVALID_IDENTIFIER",
        f"An identifier is not {IDENTIFIER_RULE}.",
    )
    VALUE_OUT_OF_RANGE = "VALUE_OUT_OF_RANGE", "A number is outside the 64-bit signed integer range."
    UNSTORABLE_STRING = (
        "UNSTORABLE_STRING",
        "A string, key or value contains a NUL character (\\u0000) or a lone surrogate, which no database stores.",
    )
    NESTING_TOO_DEEP = (
        "NESTING_TOO_DEEP",
        "A free JSON object is nested more than 32 levels deep, or any field of an item more than 64.",
    )
    INVALID_ITEM = "INVALID_ITEM", "An entry of saveMessageRequestList is not a JSON object."
    # Request level: nothing is written.
    MALFORMED_JSON = "MALFORMED_JSON", "The body is not valid UTF-8 JSON. (400)"
    INVALID_REQUEST_SHAPE = (
        "INVALID_REQUEST_SHAPE",
        "The body is not an object with a saveMessageRequestList array, or a top-level field is invalid. (400)",
    )
    EMPTY_REQUEST = "EMPTY_REQUEST", "saveMessageRequestList is empty. (400)"
    TOO_MANY_MESSAGES = "TOO_MANY_MESSAGES", "More items than MAX_MESSAGES_PER_REQUEST. (413)"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE", "The body is larger than MAX_REQUEST_BYTES. (413)"
    LENGTH_REQUIRED = (
        "LENGTH_REQUIRED",
        "A body without Content-Length (chunked) that this server cannot read to its end; send Content-Length. (411)",
    )
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE", "The Content-Type is not application/json. (415)"
    INVALID_PATH_PARAMETER = (
        "INVALID_PATH_PARAMETER",
        "The path's departmentUUID, customerUUID or messageUuid is not a valid identifier (percent-decoded, "
        "it must be UTF-8), or the path has a dot segment (. or ..). (400)",
    )
    INVALID_QUERY_PARAMETER = "INVALID_QUERY_PARAMETER", "A query parameter has an invalid value. (400)"
    BAD_REQUEST = (
        "BAD_REQUEST",
        "The HTTP request was refused before the API read it (for example a Host header this server "
        "does not serve). (400)",
    )
    AUTHENTICATION_REQUIRED = "AUTHENTICATION_REQUIRED", "No HTTP Basic credentials were sent. (401)"
    AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED", "The credentials are wrong, malformed or inactive. (401)"
    PERMISSION_DENIED = (
        "PERMISSION_DENIED",
        "The client has no grant with the needed scope for this department. (403)",
    )
    NOT_FOUND = "NOT_FOUND", "No such resource. (404)"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED", "The HTTP method is not allowed here. (405)"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE", "The Accept header asks for something other than JSON. (406)"
    TOO_MANY_FAILED_LOGINS = (
        "TOO_MANY_FAILED_LOGINS",
        "Too many failed logins for this client from this address; retry after Retry-After seconds. (429)",
    )
    THROTTLED = "THROTTLED", "Too many requests; retry after Retry-After seconds. (429)"
    INTERNAL_ERROR = "INTERNAL_ERROR", "An unexpected server error; the errorUID is in the server log. (500)"


class WarningCode(models.TextChoices):
    """Warnings: the item or request succeeded, with something worth knowing."""

    MESSAGE_UNCHANGED = "MESSAGE_UNCHANGED", "An identical item was already stored; nothing was written."
    MESSAGE_UPDATED = "MESSAGE_UPDATED", "The stored message with this sourceUuid was replaced by this item."
    MESSAGE_LOCKED_BY_CORRECTION = (
        "MESSAGE_LOCKED_BY_CORRECTION",
        "Staff corrected the stored message; it was left as corrected.",
    )
    TIMEZONE_ASSUMED_UTC = "TIMEZONE_ASSUMED_UTC", "A date-time had no UTC offset and was taken as UTC."
    UNKNOWN_FIELD = "UNKNOWN_FIELD", "A field is not part of the format; it was ignored (kept in the source payload)."
    DRAFT_ATTRIBUTES_ON_NON_DRAFT = (
        "DRAFT_ATTRIBUTES_ON_NON_DRAFT",
        "draftAttributes on a type other than DRAFT or DISCARDED_DRAFT; stored as given.",
    )
    VOICE_CALL_ATTRIBUTES_ON_NON_VOICE_CALL = (
        "VOICE_CALL_ATTRIBUTES_ON_NON_VOICE_CALL",
        "voiceCallAttributes on a protocol other than VOICE_CALL; stored as given.",
    )
    CALLBACK_REFUSED = (
        "CALLBACK_REFUSED",
        "callBackPathUrl was stored but no callback will be sent to it; the description says why "
        "(no registered base URL, origin not allowed, not http(s), or a private/loopback address).",
    )
    DRY_RUN = "DRY_RUN", "dryRun=true: the answer is what the real call would give; nothing was written."


@dataclass(frozen=True)
class Problem:
    """One error or warning occurrence: a code, the field path and what was wrong."""

    code: str
    path: str
    detail: str

    @cached_property
    def uid(self) -> str:
        """The errorUID that ties the answer to the log line (drawn when first asked for:
        warnings have none, and a re-send of 500 messages answers 500 of them).

        Whoever builds an answer logs its errorUIDs once (``log_errors``), not one line each.
        """
        return str(uuid.uuid4())

    @property
    def description(self) -> str:
        text = f"{self.path}: {self.detail}" if self.path else self.detail
        return escape_unstorable(text)

    def as_error(self) -> dict[str, str]:
        # str(): a plain string, which every renderer (the schema view's YAML one too) can write.
        return {"errorCode": str(self.code), "errorDescription": self.description, "errorUID": self.uid}

    def as_warning(self) -> dict[str, str]:
        return {"warningCode": str(self.code), "warningDescription": self.description}


def log_errors(logger: logging.Logger, what: str, problems: Sequence[Problem], failed_items: int = 0) -> None:
    """One INFO line for every error of one answer: counts by code and every errorUID.

    An import of 1,000 bad items writes one line, not 1,000; each errorUID a client sees is
    still in the log (and in ``error_uids`` of a JSON line). Callers check that there are
    errors first, so an answer without any costs nothing here.
    """
    codes = Counter(problem.code for problem in problems)
    uids = [problem.uid for problem in problems]
    counts = ", ".join(f"{code} {count}" for code, count in sorted(codes.items()))
    subject = f"{failed_items} items failed" if failed_items else f"{len(problems)} errors"
    logger.info(
        "%s: %s (%s) errorUIDs=%s",
        what,
        subject,
        counts,
        ",".join(uids),
        extra={"error_uids": uids, "error_codes": dict(codes)},
    )


# --- Request-level errors: the request is refused as a whole and nothing is written -------


class RequestError(exceptions.APIException):
    """A request refused as a whole: nothing is written."""

    status_code = status.HTTP_400_BAD_REQUEST
    error_code = ErrorCode.INVALID_REQUEST_SHAPE

    def __init__(self, detail: str, path: str = "") -> None:
        super().__init__(detail, code=self.error_code)
        self.path = path


class MalformedJSON(RequestError):
    error_code = ErrorCode.MALFORMED_JSON


class InvalidRequestShape(RequestError):
    error_code = ErrorCode.INVALID_REQUEST_SHAPE


class EmptyRequest(RequestError):
    error_code = ErrorCode.EMPTY_REQUEST


class InvalidPathParameter(RequestError):
    error_code = ErrorCode.INVALID_PATH_PARAMETER


class InvalidQueryParameter(RequestError):
    error_code = ErrorCode.INVALID_QUERY_PARAMETER


class RequestTooLarge(RequestError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    error_code = ErrorCode.REQUEST_TOO_LARGE


class TooManyMessages(RequestTooLarge):
    error_code = ErrorCode.TOO_MANY_MESSAGES


class LengthRequired(RequestError):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    error_code = ErrorCode.LENGTH_REQUIRED


class LoginLockedOut(exceptions.Throttled):
    """Too many failed logins for a (client, address) pair."""

    default_detail = "Too many failed logins from this address."
