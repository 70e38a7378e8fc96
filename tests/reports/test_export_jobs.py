"""Large exports in the background: the view makes a job and queues its task after commit,
the task (run here directly) writes the file in chunks, the owner downloads it through a
checked view; anybody else gets a 404; a done job is never rerun; the sweep queues again
what a lost message left behind."""

import csv
import datetime
import io

import openpyxl
import pytest
from django.utils import timezone

from reports import export_jobs, exports, tables
from reports.models import ExportJob
from reports.selectors import Period
from reports.tasks import export_jobs_sweep_task, export_run_task

pytestmark = pytest.mark.django_db

DASHBOARD, LEADERBOARD = "/reports/", "/reports/leaderboard/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def small_threshold(settings):
    settings.REPORTS_ASYNC_EXPORT_ROWS = 1  # by_subsidiary has two rows for HQ


def _ask(client, user, url, captured, **params):
    client.force_login(user)
    with captured(execute=False) as callbacks:
        response = client.get(url, params)
    return response, callbacks


def test_a_large_export_runs_as_a_job_and_downloads(client, world, small_threshold, media,
                                                    django_capture_on_commit_callbacks):
    response, callbacks = _ask(client, world["hq_manager"], DASHBOARD,
                               django_capture_on_commit_callbacks, table="by_subsidiary",
                               format="xlsx", start="2026-03-01", end="2026-03-10")
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reports/exports/{job.pk}/"
    assert (job.user, job.table, job.start, job.end, job.today, job.format, job.status,
            job.progress) == (world["hq_manager"], "by_subsidiary", datetime.date(2026, 3, 1),
                              datetime.date(2026, 3, 10), world["day"], "xlsx", "queued", 0)
    assert len(callbacks) == 1  # the task, queued after commit

    page = client.get(f"/reports/exports/{job.pk}/").content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page
    assert '<progress max="100" value="0">' in page and "/download/" not in page

    assert export_run_task(job.pk) is True
    job.refresh_from_db()
    assert (job.status, job.progress, job.rows) == ("done", 100, 2)
    assert job.finished_at is not None and job.file.name.startswith("reports/exports/")
    assert (media / job.file.name).exists()

    page = client.get(f"/reports/exports/{job.pk}/").content.decode()
    assert 'http-equiv="refresh"' not in page
    assert f'href="/reports/exports/{job.pk}/download/"' in page
    download = client.get(f"/reports/exports/{job.pk}/download/")
    assert download.status_code == 200
    assert 'filename="by_subsidiary-20260301-20260310.xlsx"' in download["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows == [("Subsidiary", "Orders", "Sales (CNY)", "Share of sales"),
                    (str(world["S"]), 2, 1430, 0.9662), (str(world["T"]), 1, 50, 0.0338)]
    assert sheet["D2"].number_format == "0.00%"

    # Idempotent: a redelivered message changes nothing.
    name = job.file.name
    assert export_run_task(job.pk) is False
    job.refresh_from_db()
    assert (job.status, job.file.name) == ("done", name)


def test_somebody_elses_job_is_a_404(client, world, small_threshold,
                                     django_capture_on_commit_callbacks):
    _ask(client, world["hq_manager"], DASHBOARD, django_capture_on_commit_callbacks,
         table="by_subsidiary", format="csv")
    job = ExportJob.objects.get()
    export_run_task(job.pk)
    for outsider in (world["t_manager"], world["s_manager"], world["s_cco"], world["buyer"]):
        client.force_login(outsider)
        assert client.get(f"/reports/exports/{job.pk}/").status_code == 404
        assert client.get(f"/reports/exports/{job.pk}/download/").status_code == 404
    client.logout()
    assert client.get(f"/reports/exports/{job.pk}/download/").status_code == 302  # sign in


def test_a_year_of_the_leaderboard_always_runs_in_the_background(
        client, world, django_capture_on_commit_callbacks):
    response, callbacks = _ask(client, world["s_manager"], LEADERBOARD,
                               django_capture_on_commit_callbacks, format="csv",
                               start="2025-03-11", end="2026-03-10")
    job = ExportJob.objects.get()
    assert response.status_code == 302 and len(callbacks) == 1
    # Asking again while it waits is the same job.
    again, callbacks = _ask(client, world["s_manager"], LEADERBOARD,
                            django_capture_on_commit_callbacks, format="csv",
                            start="2025-03-11", end="2026-03-10")
    assert again["Location"] == response["Location"] and callbacks == []
    export_run_task(job.pk)
    content = b"".join(client.get(f"/reports/exports/{job.pk}/download/").streaming_content)
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Rank", "CCO"]
    assert [row[1] for row in rows[1:]] == ["Alice S"]  # scoped as the page: not Xavier T
    # 92 days or fewer below the threshold: a direct download.
    client.force_login(world["s_manager"])
    direct = client.get(LEADERBOARD, {"format": "csv", "start": "2025-12-09",
                                      "end": "2026-03-10"})
    assert direct.status_code == 200 and direct["Content-Type"].startswith("text/csv")


def test_a_failed_job_says_so(client, world, small_threshold, monkeypatch,
                              django_capture_on_commit_callbacks):
    _ask(client, world["hq_manager"], DASHBOARD, django_capture_on_commit_callbacks,
         table="by_subsidiary", format="csv")
    job = ExportJob.objects.get()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tables, "load", broken)
    assert export_run_task(job.pk) is False
    job.refresh_from_db()
    assert job.status == "failed" and "disk full" in job.error
    page = client.get(f"/reports/exports/{job.pk}/").content.decode()
    assert "The export failed" in page and 'http-equiv="refresh"' not in page
    assert client.get(f"/reports/exports/{job.pk}/download/").status_code == 404


def _job(user, **fields) -> ExportJob:
    fields = {"table": "leaderboard", "start": datetime.date(2026, 1, 1),
              "end": datetime.date(2026, 3, 10), "today": datetime.date(2026, 3, 10),
              "format": "csv", **fields}
    return ExportJob.objects.create(user=user, **fields)


def test_the_sweep_requeues_jobs_a_lost_message_left_behind(world, clock,
                                                            django_capture_on_commit_callbacks):
    now = timezone.now()
    clock(now)
    user = world["hq_manager"]
    lost = _job(user, queued_at=now - datetime.timedelta(minutes=6))
    fresh = _job(user, queued_at=now - datetime.timedelta(minutes=1))
    dead = _job(user, status="running", progress=40,
                updated_at=now - datetime.timedelta(minutes=20))
    working = _job(user, status="running", updated_at=now - datetime.timedelta(minutes=1))
    done = _job(user, status="done", queued_at=now - datetime.timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert export_jobs_sweep_task() == 2
    assert len(callbacks) == 2
    statuses = dict(ExportJob.objects.values_list("pk", "status"))
    assert statuses == {lost.pk: "queued", fresh.pk: "queued", dead.pk: "queued",
                        working.pk: "running", done.pk: "done"}
    dead.refresh_from_db()
    assert (dead.progress, dead.queued_at) == (0, now)
    # Queued again just now: the next sweep leaves them be.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert export_jobs_sweep_task() == 0
    # The requeued job runs once, whichever message arrives first.
    assert export_run_task(lost.pk) is True and export_run_task(lost.pk) is False


def test_the_file_is_written_in_chunks(world):
    table = tables.load("by_subsidiary", user=world["hq_manager"],
                        period=Period(datetime.date(2026, 3, 1), world["day"]), today=world["day"])
    for fmt in exports.FORMATS:
        seen = []
        exports.write(table, io.BytesIO(), fmt=fmt, on_progress=seen.append, chunk_rows=1)
        assert seen == [1, 2]


def test_progress_is_reported_while_writing(world, monkeypatch):
    job = _job(world["hq_manager"], table="by_subsidiary")
    seen = []
    real_report = export_jobs._report
    monkeypatch.setattr(export_jobs, "_report",
                        lambda pk, progress: (seen.append(progress), real_report(pk, progress)))
    monkeypatch.setattr(exports, "CHUNK_ROWS", 1)
    assert export_jobs.export_run(job_id=job.pk)
    assert seen == [10, 54, 99]  # read; one row of two written; both


def test_finished_jobs_and_their_files_go_after_a_week(world, media, small_threshold):
    job = _job(world["hq_manager"], table="by_subsidiary")
    assert export_run_task(job.pk)
    job.refresh_from_db()
    path = media / job.file.name
    assert path.exists()
    kept = _job(world["hq_manager"], status="done",
                finished_at=timezone.now() - datetime.timedelta(days=6))
    assert export_jobs.export_jobs_expire(now=timezone.now()) == 0
    assert export_jobs.export_jobs_expire(now=timezone.now() + datetime.timedelta(days=8)) == 2
    assert not path.exists() and not ExportJob.objects.filter(pk__in=[job.pk, kept.pk]).exists()
