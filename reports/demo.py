"""Demo data of the reports app: what the nightly tasks would have written by now for the
demo's orders and inquiries — the CCO snapshots of the last 30 days and the dashboards'
rollups of the last 90 — so the dashboards of `make run` show figures at once.

Idempotent: each day's rows are replaced with the same values."""

import datetime

from django.utils import timezone

from . import services

SNAPSHOT_DAYS = 30
ROLLUP_DAYS = 90


def seed(stdout=None) -> None:
    today = timezone.localdate()
    for back in range(ROLLUP_DAYS, -1, -1):
        day = today - datetime.timedelta(days=back)
        services.rollups_refresh(day=day)
        if back <= SNAPSHOT_DAYS:
            services.cco_daily_report_compute(day=day)
