"""The project's routes.

The API documentation (schema, Swagger UI, ReDoc) is routed explicitly and before the
API's own routes, so that a catch-all of the API under ``communications/`` never hides
it; both pages are served entirely by this server (``api_docs``).
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from .api_docs import RedocView, SwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("communications/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("communications/docs/", SwaggerView.as_view(url_name="schema"), name="docs"),
    path("communications/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    path("communications/", include("messages_app.api.urls")),
]
