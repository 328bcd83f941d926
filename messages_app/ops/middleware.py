"""The request middleware: log context, request id, access line and request metrics.

First in ``MIDDLEWARE``, so everything after it (redirects, authentication, the view, the
error handler) logs inside the request's context (``logcontext``): ``request_id`` and
``address`` from here, ``client`` and ``department`` from the API view, ``status`` and
``duration_ms`` once the answer is known.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.log import log_response

from ..addresses import client_address
from ..logcontext import bind, request_context
from ..metrics import HTTP_REQUESTS
from .paths import OPS_PATHS

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept when it is a plain token: printable ASCII without spaces, ≤ 128.
_SANE_REQUEST_ID = re.compile(r"[!-~]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

access_logger = logging.getLogger("messages_app.access")


def request_id_from(value: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is sane, a fresh one otherwise."""
    if value is not None and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def _route(request: HttpRequest) -> str:
    """The URL pattern that served the request (bounded, unlike the path itself)."""
    match = request.resolver_match
    return match.route if match is not None and match.route else "unmatched"


class RequestContextMiddleware:
    """Opens the log context, echoes ``X-Request-ID``, writes one access line per request
    (probes and scrapes at DEBUG, so a probe every few seconds does not fill the log) and
    counts the request in ``comms_http_requests_total``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        with request_context(request_id=request_id, address=client_address(request)):
            response = self.get_response(request)
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            bind(status=response.status_code, duration_ms=duration_ms)
            response[REQUEST_ID_HEADER] = request_id
            access_logger.log(
                logging.DEBUG if request.path.strip("/") in OPS_PATHS else logging.INFO,
                "%s %s %s %sms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={"method": request.method, "path": request.path},
            )
            if response.status_code >= 400:
                # Django's own "Not Found: /x" warning, written here inside the context
                # (Django would write it after this middleware returns, without it).
                log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
        method = request.method if request.method in _METHODS else "other"
        HTTP_REQUESTS.labels(method=method, route=_route(request), status=str(response.status_code)).inc()
        return response
