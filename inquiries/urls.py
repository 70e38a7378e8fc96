"""Buyer and guest pages of the inquiries app (under /inquiries/)."""

from django.urls import path

from . import views

app_name = "inquiries"

urlpatterns = [
    path("new/", views.inquiry_new, name="new"),
]
