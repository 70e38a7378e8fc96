from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("products/", views.product_list, name="products"),
    path("products/<int:pk>/", views.product_detail, name="product"),
    path("products/<int:pk>/sds/", views.product_sds, name="product-sds"),
    path("categories/<slug:key>/", views.category_detail, name="category"),
]
