from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("communications/", include("messages_app.api.urls")),
    path("communications/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("communications/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
