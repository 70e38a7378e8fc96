"""Finance pages (under /finance/): payments, credit approvals, licences, pickup codes."""

from django.urls import path

from . import staff_views

app_name = "finance"

urlpatterns = [
    path("", staff_views.finance_home, name="home"),
    path("orders/<int:pk>/payment/", staff_views.finance_payment_confirm, name="payment"),
    path("orders/<int:pk>/invoice-paid/", staff_views.finance_invoice_paid,
         name="invoice-paid"),
    path("orders/<int:pk>/credit/", staff_views.finance_credit_approve, name="credit-approve"),
    path("orders/<int:pk>/cancel/", staff_views.finance_order_cancel, name="cancel"),
    path("orders/<int:pk>/pickup-code/", staff_views.finance_pickup_code_extend,
         name="pickup-code-extend"),
    path("licences/<int:pk>/review/", staff_views.finance_licence_review,
         name="licence-review"),
    path("pickup-codes/", staff_views.finance_pickup_codes, name="pickup-codes"),
]
