"""Buyer pages of the orders app."""

from django.http import Http404


def cart(request):
    raise Http404  # placeholder: the buyer pages replace it


def order_list(request):
    raise Http404  # placeholder: the buyer pages replace it
