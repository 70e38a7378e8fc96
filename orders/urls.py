"""Buyer pages: cart, checkout, orders, pickup balances, address book, licences."""

from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("cart/", views.cart, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/<int:product_id>/", views.cart_line_update, name="cart_line"),
    path("cart/<int:product_id>/remove/", views.cart_line_remove, name="cart_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/", views.order_list, name="list"),
    path("orders/balances/", views.pickup_balances, name="balances"),
    path("orders/<int:pk>/", views.order_detail, name="detail"),
    path("orders/<int:pk>/print/", views.order_print, name="print"),
    path("orders/<int:pk>/cancel/", views.order_cancel, name="cancel"),
    path("orders/<int:pk>/complete/", views.order_complete, name="complete"),
    path("orders/<int:pk>/reorder/", views.order_reorder, name="reorder"),
    path("addresses/", views.addresses, name="addresses"),
    path("addresses/<int:pk>/default/", views.address_set_default, name="address_default"),
    path("addresses/<int:pk>/remove/", views.address_remove, name="address_remove"),
    path("company/licences/", views.licences, name="licences"),
    path("company/licences/<int:pk>/document/", views.licence_document,
         name="licence_document"),
]
