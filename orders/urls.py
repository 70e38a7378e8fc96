"""Buyer pages: cart, checkout, orders, pickup balances, address book, licences."""

from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("cart/", views.cart, name="cart"),
    path("orders/", views.order_list, name="list"),
]
