"""Depot operator pages (under /depot/): look up a pickup code, record pickups, receipts."""

from django.urls import path

from . import staff_views

app_name = "depot"

urlpatterns = [
    path("", staff_views.depot_lookup, name="lookup"),
    path("pickup/<str:code>/", staff_views.depot_pickup, name="pickup"),
    path("pickups/", staff_views.depot_pickups, name="pickups"),
    path("receipts/<int:pk>/", staff_views.depot_receipt, name="receipt"),
]
