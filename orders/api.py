"""/api/v1/ routes of the orders app: cart, orders, pickups."""

urlpatterns: list = []
