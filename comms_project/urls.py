from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from messages_app.api.edge import unknown_path
from messages_app.ops import health
from messages_app.ops import views as ops_views
from messages_app.ops.paths import HEALTHZ_PATH, METRICS_PATH, READYZ_PATH

urlpatterns = [
    path("admin/", admin.site.urls),
    path("communications/", include("messages_app.api.urls")),
    path("communications/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("communications/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Keep last: any other path under /communications/ is a 404 in the API's envelope.
    re_path(r"^communications(?:/|\Z)", unknown_path, name="api-unknown-path"),
]

# Operations, at the root, outside the API: probes and the Prometheus scrape.
urlpatterns += [
    path(HEALTHZ_PATH, health.healthz, name="healthz"),
    path(READYZ_PATH, health.readyz, name="readyz"),
    path(METRICS_PATH, ops_views.metrics, name="metrics"),
]
