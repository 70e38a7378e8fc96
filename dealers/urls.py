"""The dealer portal (under /dealer/): routed inquiries, commissions, statements."""

from django.urls import path

from . import views

app_name = "dealers"

urlpatterns = [
    path("", views.assignment_list, name="home"),
    path("inquiries/<int:pk>/", views.assignment_detail, name="assignment"),
    path("inquiries/<int:pk>/accept/", views.assignment_accept, name="accept"),
    path("inquiries/<int:pk>/decline/", views.assignment_decline, name="decline"),
    path("inquiries/<int:pk>/quote/", views.assignment_quote, name="quote"),
    path("inquiries/<int:pk>/messages/", views.assignment_message, name="message"),
    path("commissions/", views.commission_list, name="commissions"),
    path("statements/", views.statement_list, name="statements"),
    path("statements/<int:pk>/", views.statement_detail, name="statement"),
    path("statements/<int:pk>/xlsx/", views.statement_xlsx, name="statement-xlsx"),
]
