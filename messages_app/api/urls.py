from django.urls import path, register_converter

from .paths import IdentifierConverter
from .views import HistoricalMessageViewSet

app_name = "api"

register_converter(IdentifierConverter, "identifier")

HISTORICAL = "department/<identifier:departmentUUID>/customer/<identifier:customerUUID>/communication/historical"

urlpatterns = [
    path(
        HISTORICAL,
        HistoricalMessageViewSet.as_view({"put": "bulk_import", "get": "list"}),
        name="historical-messages",
    ),
    path(
        f"{HISTORICAL}/<identifier:messageUuid>",
        HistoricalMessageViewSet.as_view({"get": "retrieve"}),
        name="historical-message",
    ),
]
