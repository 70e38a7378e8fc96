"""Large exports in the background: a request that would download more than
settings.REPORTS_ASYNC_EXPORT_ROWS rows (default 5,000), or the leaderboard of more than 92
days, becomes an `ExportJob`; `reports.tasks.export_run_task` writes the file chunk by
chunk, reporting its progress in the row; the owner downloads it from the job page.

The state is in the database: a worker claims a queued job with a conditional UPDATE (only
the one that changed the row goes on, so a done job is never run again), and the sweep
(`export_jobs_requeue`, every minute) queues again what a lost message or a killed worker
left behind.
"""

import datetime
import logging
import tempfile

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation

from . import exports, tables
from .models import ExportJob
from .selectors import Period

logger = logging.getLogger(__name__)

LONG_LEADERBOARD_DAYS = 92
QUEUED_FOR = datetime.timedelta(minutes=5)  # queued longer: the message was lost
SILENT_FOR = datetime.timedelta(minutes=15)  # running without progress longer: worker died
LOADED = 10  # the progress once the rows are read; writing them takes it to 100

Status = ExportJob.Status


def keep_days() -> int:
    return int(getattr(settings, "REPORTS_EXPORT_KEEP_DAYS", 7))


def async_export_rows() -> int:
    return int(getattr(settings, "REPORTS_ASYNC_EXPORT_ROWS", 5000))


def runs_in_background(key: str, period: Period) -> bool:
    """Known before reading a row: the leaderboard of a long period always runs in the
    background (a year of it is a few hundred thousand snapshot rows to group)."""
    return key == "leaderboard" and period.days > LONG_LEADERBOARD_DAYS


def _queue(job_id: int) -> None:
    from .tasks import export_run_task

    try:
        export_run_task.delay(job_id)
    except Exception:  # broker down: the sweep queues it again; the request goes on
        logger.warning("reports: could not queue export job %s; the sweep will", job_id,
                       exc_info=True)


@transaction.atomic
def export_job_create(*, user, key: str, period: Period, today: datetime.date, fmt: str,
                      language: str = "") -> ExportJob:
    """A queued job (its task queued after commit); the same export the user already waits
    for is that job, not a second one (a page reloaded, a link clicked twice)."""
    pending = (ExportJob.objects.select_for_update()
               .filter(user=user, table=key, start=period.start, end=period.end, today=today,
                       format=fmt, status__in=[Status.QUEUED, Status.RUNNING])
               .order_by("-pk").first())
    if pending is not None:
        return pending
    job = ExportJob.objects.create(user=user, table=key, start=period.start, end=period.end,
                                   today=today, format=fmt, language=language)
    transaction.on_commit(lambda: _queue(job.pk))
    return job


def _report(job_id: int, progress: int) -> None:
    ExportJob.objects.filter(pk=job_id, status=Status.RUNNING).update(
        progress=progress, updated_at=timezone.now())


def export_run(*, job_id: int) -> bool:
    """Write the job's file; True if this call did. A job that is not queued (done, failed,
    or running elsewhere) is left alone. The table is read as the job's user sees it now,
    in the language of the request."""
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, progress=0, updated_at=now, error="")
    if not claimed:
        return False
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    try:
        with translation.override(job.language or settings.LANGUAGE_CODE):
            table = tables.load(job.table, user=job.user, period=Period(job.start, job.end),
                                today=job.today)
            _report(job_id, LOADED)
            total = len(table.rows) or 1

            def progress(written: int) -> None:
                _report(job_id, LOADED + (100 - LOADED - 1) * written // total)

            with tempfile.TemporaryFile() as out:
                exports.write(table, out, fmt=job.format, on_progress=progress,
                              chunk_rows=exports.CHUNK_ROWS)
                out.seek(0)
                job.file.save(job.filename, File(out), save=False)
    except Exception as exc:
        logger.exception("reports: export job %s failed", job_id)
        ExportJob.objects.filter(pk=job_id, status=Status.RUNNING).update(
            status=Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(), updated_at=timezone.now())
        return False
    finished = ExportJob.objects.filter(pk=job_id, status=Status.RUNNING).update(
        status=Status.DONE, progress=100, rows=len(table.rows), file=job.file.name,
        finished_at=timezone.now(), updated_at=timezone.now())
    if not finished:  # the sweep took it back meanwhile: the rerun writes its own file
        job.file.delete(save=False)
    return bool(finished)


def export_jobs_requeue(*, now: datetime.datetime) -> int:
    """Queue again the jobs queued for more than five minutes (the message was lost) and
    put back in the queue those running without progress for fifteen (the worker died).
    Returns how many were queued."""
    stale = list(ExportJob.objects.filter(
        Q(status=Status.QUEUED, queued_at__lt=now - QUEUED_FOR)
        | Q(status=Status.RUNNING, updated_at__lt=now - SILENT_FOR))
        .values_list("pk", flat=True).order_by("pk"))
    queued = 0
    for pk in stale:
        taken = ExportJob.objects.filter(
            Q(status=Status.QUEUED, queued_at__lt=now - QUEUED_FOR)
            | Q(status=Status.RUNNING, updated_at__lt=now - SILENT_FOR), pk=pk,
        ).update(status=Status.QUEUED, queued_at=now, progress=0)
        if taken:
            queued += 1
            transaction.on_commit(lambda pk=pk: _queue(pk))
    return queued


def export_jobs_expire(*, now: datetime.datetime) -> int:
    """Delete the jobs finished more than settings.REPORTS_EXPORT_KEEP_DAYS (default 7) days
    ago, with their files. Returns how many."""
    old = list(ExportJob.objects.filter(
        status__in=[Status.DONE, Status.FAILED],
        finished_at__lt=now - datetime.timedelta(days=keep_days())).order_by("pk"))
    for job in old:
        if job.file:
            job.file.delete(save=False)
        job.delete()
    return len(old)
