"""/api/v1/ routes of the inquiries app: inquiries, messages, quotes."""

urlpatterns: list = []
