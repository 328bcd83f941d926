"""The project's URLs plus the peer baseline at /peer/… (benchmarks only)."""

from django.urls import path

from comms_project.urls import urlpatterns as project_urlpatterns

from .peer_baseline import PeerHistoricalView

urlpatterns = [
    *project_urlpatterns,
    path(
        "peer/department/<str:departmentUUID>/customer/<str:customerUUID>/communication/historical",
        PeerHistoricalView.as_view(),
        name="peer-historical-messages",
    ),
]
