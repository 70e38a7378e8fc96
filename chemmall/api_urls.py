"""/api/v1/: every app's API routes, in one place."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api")),
    path("", include("catalog.api")),
    path("", include("orders.api")),
    path("", include("inquiries.api")),
    path("", include("dealers.api")),
    path("", include("reports.api")),
]
