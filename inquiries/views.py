"""Buyer and guest pages of the inquiries app."""

from django.http import Http404


def inquiry_new(request):
    raise Http404  # placeholder: the buyer pages replace it
