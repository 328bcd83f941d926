"""The API documentation pages (Swagger UI and ReDoc), served entirely by this server.

Their scripts and styles are static files of drf-spectacular-sidecar (``SPECTACULAR_SETTINGS``
in settings), so the pages work without internet access and run no unpinned third-party
code. A Content-Security-Policy keeps them to this origin: ReDoc always shows the Redocly
logo from ``cdn.redoc.ly`` in its menu, and the policy stops that request before it is made.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

# The pages' own inline bootstrap script and styles are allowed; nothing from elsewhere.
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
    )
)


class SameOriginMixin:
    """Answers with ``DOCS_CONTENT_SECURITY_POLICY``."""

    @extend_schema(exclude=True)
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response


class SwaggerView(SameOriginMixin, SpectacularSwaggerView):
    """Swagger UI at ``/communications/docs/``."""


class RedocView(SameOriginMixin, SpectacularRedocView):
    """ReDoc at ``/communications/redoc/``, without the stock page's Google Fonts links."""

    template_name = "api_docs/redoc.html"
