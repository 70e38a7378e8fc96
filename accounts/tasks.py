from celery import shared_task
from django.utils import timezone

from .services import calendars_sync_holidays


@shared_task(acks_late=True)
def calendars_sync_holidays_task() -> int:
    return calendars_sync_holidays(today=timezone.localdate())
