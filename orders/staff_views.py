"""Depot operator and finance pages of the orders app."""

from django.http import Http404


def depot_lookup(request):
    raise Http404  # placeholder: the depot pages replace it


def finance_home(request):
    raise Http404  # placeholder: the finance pages replace it
