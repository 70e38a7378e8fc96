"""Login throttling (django-axes) in front of the model backend."""

from axes.backends import AxesStandaloneBackend
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


class ThrottledBackend(AxesStandaloneBackend):
    """Refuses logins of a locked-out (e-mail, IP) pair. A call without a request (the test
    client's login(), a shell) has no address to throttle and is left to the next backend:
    every login a person can reach — the login page, the admin, the API — passes one."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        # DRF wraps the request; the lockout flag must land on Django's, which the axes
        # middleware reads to answer 429.
        request = getattr(request, "_request", request)
        return super().authenticate(request, username=username, password=password, **kwargs)


def login_username(request, credentials) -> str:
    """The e-mail address tried: `username` on the login forms, `email` in the API."""
    credentials = credentials or {}
    value = credentials.get("email") or credentials.get("username")
    if value is None and request is not None:
        value = request.POST.get("username") or request.POST.get("email")
    return (value or "").strip().lower()


def lockout_response(request, original_response=None, credentials=None):
    """429 with a clear message: JSON for the API, the lockout page for people."""
    from django.conf import settings

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = _("Too many failed sign-ins. Try again in %(minutes)s minutes or reset your "
                "password.") % {"minutes": minutes}
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "code": "locked_out"}, status=429)
    return render(request, "accounts/locked_out.html", {"message": message}, status=429)
