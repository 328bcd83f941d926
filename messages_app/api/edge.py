"""The HTTP edge of the API: every answer under /communications/ is JSON in the envelope.

``ApiEdgeMiddleware`` rewrites ``request.path_info`` of an API request to its canonical
path (see ``paths``), so routes see the segments the client sent and an identifier keeps
its ``%2F``. A path no route takes is answered by ``unknown_path``, the last route under
/communications/: being routed, it is never redirected by APPEND_SLASH. Error answers made
by Django rather than the API (its 400, 403, 404 and 500 pages) get the envelope in place
of their HTML, and the API's own error envelope rendered in another format (the schema
view renders YAML) is rendered as JSON; status and headers are kept.
"""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from rest_framework.renderers import JSONRenderer

from ..errors import ErrorCode, Problem
from ..wire import response_envelope
from .paths import canonical_path, has_dot_segment, is_api_path, path_segments

_AMBIGUOUS = (
    'The path holds a "%", and this server does not pass the raw request target (RAW_URI or REQUEST_URI), '
    'so a "%" sent as %25 cannot be told from a byte that is not UTF-8; serve the API with gunicorn.'
)
_ENVELOPE_KEYS = tuple(response_envelope())
_CODES_BY_STATUS = {
    400: ErrorCode.BAD_REQUEST,
    403: ErrorCode.PERMISSION_DENIED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    411: ErrorCode.LENGTH_REQUIRED,
    413: ErrorCode.REQUEST_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    429: ErrorCode.THROTTLED,
}


def _envelope_bytes(problem: Problem) -> bytes:
    return JSONRenderer().render(response_envelope(errors=[problem]))


def envelope_response(problem: Problem, status: int) -> HttpResponse:
    """An error answer of the API made outside DRF, in the same envelope and encoding."""
    return HttpResponse(_envelope_bytes(problem), status=status, content_type="application/json")


def _is_json(response: HttpResponseBase) -> bool:
    return response.get("Content-Type", "").partition(";")[0].strip().lower() == "application/json"


def in_envelope(response: HttpResponseBase) -> HttpResponseBase:
    """An error answer that is not JSON, with the envelope as its body (status and headers kept)."""
    if response.status_code < 400 or response.streaming or _is_json(response):
        return response
    data = getattr(response, "data", None)
    if isinstance(data, dict) and "errors" in data:  # the API's own answer, rendered otherwise
        # Only the envelope's keys: an HTML renderer adds its own (status_code) to the data.
        body = JSONRenderer().render({key: data[key] for key in _ENVELOPE_KEYS if key in data})
    else:
        code = _CODES_BY_STATUS.get(response.status_code)
        if code is None:
            code = ErrorCode.INTERNAL_ERROR if response.status_code >= 500 else ErrorCode.BAD_REQUEST
        body = _envelope_bytes(Problem(code, "", f"{response.status_code} {response.reason_phrase}."))
    response.content = body
    response["Content-Type"] = "application/json"
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(body))
    return response


class ApiEdgeMiddleware:
    """Routes API requests on their raw path segments and answers every API error in JSON.

    First in MIDDLEWARE, so Django's own error answers (a disallowed Host, a failure in
    another middleware) reach it too. Other paths (admin, static) pass untouched.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not is_api_path(request.path_info):
            return self.get_response(request)
        segments = path_segments(request.META)
        if segments is None:
            return envelope_response(Problem(ErrorCode.INVALID_PATH_PARAMETER, "", _AMBIGUOUS), 400)
        request.path_info = canonical_path(segments)
        return in_envelope(self.get_response(request))


@csrf_exempt
def unknown_path(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any method on an API path that no route takes: 404, or 400 for a dot segment.

    Dot segments ("." and "..") are not resolved: resolving them here would answer for a
    path the client did not send, so the client is told to send the path it means.
    """
    if has_dot_segment(request.path_info):
        detail = 'The path has a dot segment ("." or ".."); dot segments are not resolved, send the path without them.'
        return envelope_response(Problem(ErrorCode.INVALID_PATH_PARAMETER, "", detail), 400)
    return envelope_response(Problem(ErrorCode.NOT_FOUND, "", "No such resource under /communications/."), 404)
