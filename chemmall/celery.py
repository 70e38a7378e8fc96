import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chemmall.settings")

app = Celery("chemmall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from .observability import celery_signals_connect  # noqa: E402

celery_signals_connect()
