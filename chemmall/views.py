import logging

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from catalog import storefront

logger = logging.getLogger(__name__)


def home(request):
    return render(request, "home.html", {
        "categories": storefront.category_tree().roots,
        "featured": storefront.products_featured(),
    })


def healthz(request):
    """The process is up and answering."""
    return JsonResponse({"status": "ok"})


def readyz(request):
    """Ready to serve: the database and the broker answer."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    status = 200 if all(checks.values()) else 503
    return JsonResponse({"status": "ok" if status == 200 else "unavailable", **checks},
                        status=status)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # any failure means "not ready"; the reason goes to the log
        logger.exception("readiness: database check failed")
        return False


def _broker_ok() -> bool:
    from .celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.exception("readiness: broker check failed")
        return False
