"""Finance pages (under /finance/): payments, credit approvals, licences, pickup codes."""

from django.urls import path

from . import staff_views

app_name = "finance"

urlpatterns = [
    path("", staff_views.finance_home, name="home"),
]
