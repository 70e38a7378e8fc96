"""Buyer and guest pages of the inquiries app (under /inquiries/)."""

from django.urls import path

from . import views

app_name = "inquiries"

urlpatterns = [
    path("", views.inquiry_list, name="list"),
    path("new/", views.inquiry_new, name="new"),
    path("thanks/", views.inquiry_thanks, name="thanks"),
    path("<int:pk>/", views.inquiry_detail, name="detail"),
    path("<int:pk>/messages/", views.inquiry_message, name="message"),
    path("<int:pk>/attachments/<int:event_pk>/", views.attachment, name="attachment"),
    path("<int:pk>/quotes/<int:quote_pk>/accept/", views.quote_accept, name="accept"),
    path("<int:pk>/quotes/<int:quote_pk>/decline/", views.quote_decline, name="decline"),
    # The guest's private link (the token is the only key: keep it out of logs and caches).
    path("track/<str:token>/", views.inquiry_track, name="track"),
    path("track/<str:token>/messages/", views.track_message, name="track_message"),
    path("track/<str:token>/attachments/<int:event_pk>/", views.track_attachment,
         name="track_attachment"),
    path("track/<str:token>/quotes/<int:quote_pk>/decline/", views.track_quote_decline,
         name="track_decline"),
    path("track/<str:token>/claim/", views.track_claim, name="track_claim"),
]
