"""The exception handler that answers every API error in the seed's response envelope."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import ErrorCode, LoginLockedOut, Problem, RequestError
from ..wire import response_envelope

logger = logging.getLogger(__name__)


_CODES_BY_EXCEPTION = (
    (LoginLockedOut, ErrorCode.TOO_MANY_FAILED_LOGINS),
    (exceptions.NotAuthenticated, ErrorCode.AUTHENTICATION_REQUIRED),
    (exceptions.AuthenticationFailed, ErrorCode.AUTHENTICATION_FAILED),
    (exceptions.PermissionDenied, ErrorCode.PERMISSION_DENIED),
    (exceptions.NotFound, ErrorCode.NOT_FOUND),
    (exceptions.MethodNotAllowed, ErrorCode.METHOD_NOT_ALLOWED),
    (exceptions.NotAcceptable, ErrorCode.NOT_ACCEPTABLE),
    (exceptions.UnsupportedMediaType, ErrorCode.UNSUPPORTED_MEDIA_TYPE),
    (exceptions.Throttled, ErrorCode.THROTTLED),
    (exceptions.ParseError, ErrorCode.MALFORMED_JSON),
    (exceptions.ValidationError, ErrorCode.INVALID_QUERY_PARAMETER),
)


def _detail_text(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_detail_text(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(_detail_text(value) for value in detail)
    return str(detail)


def envelope_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's handler (status, WWW-Authenticate, Retry-After), answered in the envelope.

    Anything unexpected becomes a 500 in the same envelope, its errorUID logged with the
    traceback, so a client never has to parse an HTML error page.
    """
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        problem = Problem(ErrorCode.INTERNAL_ERROR, "", "An unexpected error occurred.")
        logger.exception("errorUID=%s unhandled error", problem.uid, exc_info=exc, extra={"error_uids": [problem.uid]})
        return Response(response_envelope(errors=[problem]), status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, RequestError):
        code, path = exc.error_code, exc.path
    else:
        code = next((c for cls, c in _CODES_BY_EXCEPTION if isinstance(exc, cls)), ErrorCode.INVALID_REQUEST_SHAPE)
        path = ""
    detail = _detail_text(exc.detail) if isinstance(exc, exceptions.APIException) else str(exc)
    problem = Problem(code, path, detail)
    response.data = response_envelope(errors=[problem])
    logger.info(
        "request refused: %s %s errorUID=%s %s",
        response.status_code,
        problem.code,
        problem.uid,
        problem.description,
        extra={"error_uids": [problem.uid]},
    )
    return response
