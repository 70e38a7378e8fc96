"""The managers' report pages: the dashboard and the CCO leaderboard, each table of them also
as a CSV or XLSX download (`?format=csv|xlsx`, the dashboard's with `&table=<key>`).

Only subsidiary and HQ managers (and superusers) get in; anybody else signed in gets a 404,
as for everything outside one's bounds. The figures come from `reports.selectors`, scoped
to the user there.
"""

import functools

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import charts, export_jobs, exports, selectors, tables
from .forms import PeriodForm
from .scoring import report_tz


def reports_required(view):
    """Signed in (else to the login page) and a reader of the reports (else 404)."""

    @functools.wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        if not selectors.may_read_reports(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def _period(request):
    """(form, period, today): an invalid period shows its errors over the default one."""
    today = timezone.localdate(timezone=report_tz())
    form = PeriodForm(request.GET, today=today)
    period = form.cleaned_data["period"] if form.is_valid() else form.default_period()
    return form, period, today


def _export(request, key: str, form, period, today):
    """The table `key` as ?format=csv|xlsx; an unknown table or format is a 404, a bad
    period a 400 (a download of other dates than asked for would mislead)."""
    fmt = request.GET.get("format")
    if fmt not in exports.FORMATS or key not in tables.SPECS:
        raise Http404
    if not form.is_valid():
        return HttpResponseBadRequest(" ".join(
            str(error) for errors in form.errors.values() for error in errors))
    if export_jobs.runs_in_background(key, period):
        return _export_later(request, key, period, today, fmt)
    table = tables.load(key, user=request.user, period=period, today=today)
    if len(table.rows) > export_jobs.async_export_rows():
        return _export_later(request, key, period, today, fmt)
    return exports.download(table, fmt=fmt,
                            filename=f"{key}-{period.start:%Y%m%d}-{period.end:%Y%m%d}")


def _export_later(request, key: str, period, today, fmt: str):
    job = export_jobs.export_job_create(user=request.user, key=key, period=period, today=today,
                                        fmt=fmt, language=request.LANGUAGE_CODE or "")
    return redirect("reports:export_job", pk=job.pk)


@reports_required
@require_GET
def dashboard(request):
    form, period, today = _period(request)
    if "format" in request.GET:
        return _export(request, request.GET.get("table", ""), form, period, today)
    figures = selectors.dashboard(request.user, period=period, today=today)
    return render(request, "reports/dashboard.html", {
        "form": form, "period": period, "today": today, "figures": figures,
        "tables": tables.tables_of(figures), "query": request.GET.urlencode(),
        "trend_30": charts.trend_chart(figures["series_30"]),
        "trend_90": charts.trend_chart(figures["series_90"]),
        "bars": {key: charts.bar_chart(figures[key])
                 for key in ("by_subsidiary", "by_category", "by_province")},
        "scope": _("the whole group") if selectors.report_sellers(request.user) is None
        else str(request.user.organization),
    }, status=200 if form.is_valid() else 400)


@reports_required
@require_GET
def leaderboard(request):
    form, period, today = _period(request)
    if "format" in request.GET:
        key = request.GET.get("table") or "leaderboard"
        if key not in ("leaderboard", "targets"):
            raise Http404
        return _export(request, key, form, period, today)
    board = selectors.cco_leaderboard(request.user, period)
    return render(request, "reports/leaderboard.html", {
        "form": form, "period": period, "board": board, "query": request.GET.urlencode(),
        "targets": selectors.target_progress(request.user, today=today),
    }, status=200 if form.is_valid() else 400)


@reports_required
@require_GET
def export_job(request, pk: int):
    """A background export: its progress (the page reloads itself every few seconds until
    the job is finished, no script) and, when done, the download link. Only its owner."""
    job = get_object_or_404(selectors.export_jobs_of(request.user), pk=pk)
    title = tables.SPECS[job.table].title if job.table in tables.SPECS else job.table
    return render(request, "reports/export_job.html", {"job": job, "title": title})


@reports_required
@require_GET
def export_download(request, pk: int):
    """The file of a done job, to its owner only (never a public media URL)."""
    job = get_object_or_404(selectors.export_jobs_of(request.user),
                            pk=pk, status=export_jobs.Status.DONE)
    if not job.file:
        raise Http404
    try:
        handle = job.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    content_type = exports.XLSX_TYPE if job.format == "xlsx" else "text/csv; charset=utf-8"
    return FileResponse(handle, as_attachment=True, filename=job.filename,
                        content_type=content_type)
