from django.urls import path

from .views import HistoricalMessageViewSet

app_name = "api"

urlpatterns = [
    path(
        "department/<str:departmentUUID>/customer/<str:customerUUID>/communication/historical",
        HistoricalMessageViewSet.as_view({"put": "bulk_import"}),
        name="historical-messages",
    ),
]
