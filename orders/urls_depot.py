"""Depot operator pages (under /depot/): look up a pickup code, record pickups, receipts."""

from django.urls import path

from . import staff_views

app_name = "depot"

urlpatterns = [
    path("", staff_views.depot_lookup, name="lookup"),
]
