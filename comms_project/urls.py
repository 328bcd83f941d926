"""The project's routes.

The API documentation (schema, Swagger UI, ReDoc) is routed explicitly and before the
API's own routes, so that the API's catch-all under ``communications/`` never hides it;
both pages are served entirely by this server (``api_docs``). The operational probes and
the Prometheus scrape live at the root, outside the API.
"""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from messages_app.api.edge import unknown_path
from messages_app.ops import health
from messages_app.ops import views as ops_views
from messages_app.ops.paths import HEALTHZ_PATH, METRICS_PATH, READYZ_PATH

from .api_docs import RedocView, SwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("communications/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("communications/docs/", SwaggerView.as_view(url_name="schema"), name="docs"),
    path("communications/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    path("communications/", include("messages_app.api.urls")),
    # Keep last: any other path under /communications/ is a 404 in the API's envelope.
    re_path(r"^communications(?:/|\Z)", unknown_path, name="api-unknown-path"),
    path(HEALTHZ_PATH, health.healthz, name="healthz"),
    path(READYZ_PATH, health.readyz, name="readyz"),
    path(METRICS_PATH, ops_views.metrics, name="metrics"),
]
