"""A database failure mid-request (connection lost, a statement refused) is a 503 with a
clear "nothing was saved, try again" — the request's transaction rolled back whole
(ATOMIC_REQUESTS or the service's own) — not the generic 500 page."""

import logging

from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DatabaseError):
            return None
        logger.error("database error on %s %s", request.method, request.path,
                     exc_info=exception)
        message = _("The service is briefly unavailable and nothing was saved. Please try "
                    "again in a moment.")
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": message, "code": "unavailable"}, status=503)
        else:
            try:
                response = render(request, "503.html", {"message": message}, status=503)
            except DatabaseError:  # the page's header reads the database too
                response = HttpResponse(message, status=503, content_type="text/plain")
        response["Retry-After"] = "30"
        return response
