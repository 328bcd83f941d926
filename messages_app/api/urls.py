from django.urls import path

from .views import HistoricalMessageViewSet

app_name = "api"

HISTORICAL = "department/<str:departmentUUID>/customer/<str:customerUUID>/communication/historical"

urlpatterns = [
    path(
        HISTORICAL,
        HistoricalMessageViewSet.as_view({"put": "bulk_import", "get": "list"}),
        name="historical-messages",
    ),
    path(
        f"{HISTORICAL}/<str:messageUuid>",
        HistoricalMessageViewSet.as_view({"get": "retrieve"}),
        name="historical-message",
    ),
]
