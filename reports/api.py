"""/api/v1/reports/ routes: a day's CCO snapshot and the dashboard figures, as JSON.

For subsidiary and HQ managers (and superusers) only — anybody else signed in gets a 404,
as on the report pages — and scoped like them (`reports.selectors`): a subsidiary manager
reads their subsidiary's CCOs and sales, HQ the whole group. The figures are read from the
snapshots and rollups, so a call costs a fixed handful of queries.
"""

import datetime

from django.http import Http404
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors
from .forms import DEFAULT_DAYS, MAX_DAYS
from .scoring import report_tz

ERROR_400 = OpenApiResponse(description=_("Bad input: `{field: [message]}`."))
ERROR_404 = OpenApiResponse(description=_("Not a reader of the reports."))


def _today() -> datetime.date:
    return timezone.localdate(timezone=report_tz())


def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, **kwargs)


def _rate(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True, **kwargs)


def _readers_only(user) -> None:
    if not selectors.may_read_reports(user):
        raise Http404


# --- The day's CCO snapshot ----------------------------------------------------------------------


class CcoDailyQuerySerializer(serializers.Serializer):
    date = serializers.DateField(required=False, help_text=_(
        "The day (YYYY-MM-DD, Asia/Shanghai); yesterday when left out."))


class CcoDailyReportSerializer(serializers.Serializer):
    class ReportCcoSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField(source="full_name")
        email = serializers.EmailField()

    class ReportSubsidiarySerializer(serializers.Serializer):
        id = serializers.IntegerField()
        code = serializers.CharField()
        name = serializers.CharField()

    day = serializers.DateField()
    cco = ReportCcoSerializer()
    subsidiary = ReportSubsidiarySerializer()
    received = serializers.IntegerField()
    answered = serializers.IntegerField()
    answered_on_time = serializers.IntegerField()
    median_first_response_minutes = serializers.DecimalField(
        max_digits=9, decimal_places=1, allow_null=True,
        help_text=_("Working minutes; empty when nothing was answered that day."))
    quotes_sent = serializers.IntegerField()
    orders_won = serializers.IntegerField()
    sales_amount = _money()
    messages = serializers.IntegerField()
    workload = serializers.IntegerField()
    deadline_misses = serializers.IntegerField()
    score = serializers.DecimalField(max_digits=12, decimal_places=4)
    rank_in_subsidiary = serializers.IntegerField()
    rank_in_group = serializers.IntegerField()


class CcoDailyView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[CcoDailyQuerySerializer],
        responses={200: CcoDailyReportSerializer(many=True), 400: ERROR_400, 404: ERROR_404},
        description=_(
            "The nightly CCO snapshot of one day: every figure, the score and the ranks "
            "within the subsidiary and the group, best first. Subsidiary managers get their "
            "subsidiary's CCOs, HQ every CCO."))
    def get(self, request):
        _readers_only(request.user)
        query = CcoDailyQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        day = query.validated_data.get("date") or _today() - datetime.timedelta(days=1)
        rows = selectors.cco_daily(request.user, day=day)
        return Response(CcoDailyReportSerializer(rows, many=True).data)


# --- The dashboard -------------------------------------------------------------------------------


class DashboardQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text=_(
        "First day of the period (YYYY-MM-DD); 30 days before `end` when left out."))
    end = serializers.DateField(required=False, help_text=_("Last day; today when left out."))

    def validate(self, attrs):
        end = attrs.get("end") or _today()
        start = attrs.get("start") or end - datetime.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise serializers.ValidationError(
                {"start": _("The period must start before it ends.")})
        if (end - start).days + 1 > MAX_DAYS:
            raise serializers.ValidationError(
                {"start": _("A period is at most %(days)s days long.") % {"days": MAX_DAYS}})
        return {"period": selectors.Period(start, end)}


class ReportSalesSerializer(serializers.Serializer):
    orders = serializers.IntegerField()
    amount = _money()


class ReportPeriodSalesSerializer(ReportSalesSerializer):
    start = serializers.DateField()
    end = serializers.DateField()


class ReportSummarySerializer(serializers.Serializer):
    today = ReportSalesSerializer()
    yesterday = ReportSalesSerializer()
    month_to_date = ReportSalesSerializer()


class ReportComparisonSerializer(serializers.Serializer):
    current = ReportPeriodSalesSerializer(help_text=_("The month to date."))
    previous_month = ReportPeriodSalesSerializer(
        help_text=_("The same days of the previous month."))
    previous_year = ReportPeriodSalesSerializer(help_text=_("The same days a year before."))
    month_on_month = _rate(help_text=_("Current / previous month − 1; empty without sales "
                                       "then."))
    year_on_year = _rate(help_text=_("Current / previous year − 1; empty without sales then."))


class ReportDaySerializer(ReportSalesSerializer):
    day = serializers.DateField()


class ReportBreakdownSerializer(ReportSalesSerializer):
    key = serializers.CharField(help_text=_("Subsidiary code, category key or province code."))
    label = serializers.CharField()
    share = _rate(help_text=_("Share of the period's sales."))


class ReportFunnelSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    quoted = serializers.IntegerField()
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    quote_rate = _rate(help_text=_("Quoted / received."))
    win_rate = _rate(help_text=_("Won / quoted."))
    conversion = _rate(help_text=_("Won / received."))


class ReportChannelSerializer(ReportSalesSerializer):
    key = serializers.CharField()
    label = serializers.CharField()
    received = serializers.IntegerField()
    won = serializers.IntegerField()
    spend = _money(allow_null=True, help_text=_(
        "The channel's spend over the period (monthly spend pro rata of the days); empty "
        "where none is entered."))
    cost_per_won = _money(allow_null=True, help_text=_(
        "Spend / inquiries won; empty without spend or without a win."))


class ReportTargetSerializer(serializers.Serializer):
    key = serializers.CharField(help_text=_("The subsidiary's code or the CCO's user id."))
    label = serializers.CharField()
    target = _money()
    sales = _money(help_text=_("Sales of the month to date."))
    percent = serializers.DecimalField(max_digits=10, decimal_places=1,
                                       help_text=_("Sales / target × 100."))
    reached = serializers.BooleanField()


class ReportCcoTargetSerializer(ReportTargetSerializer):
    subsidiary = serializers.CharField()


class ReportTargetsSerializer(serializers.Serializer):
    month = serializers.DateField()
    subsidiaries = ReportTargetSerializer(many=True)
    ccos = ReportCcoTargetSerializer(many=True)


class ReportLostReasonSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    lost = serializers.IntegerField()
    share = _rate()


class ReportUnmetDemandSerializer(serializers.Serializer):
    cas = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField()
    requests = serializers.IntegerField()
    quantity = serializers.DecimalField(max_digits=18, decimal_places=3)
    provinces = serializers.ListField(child=serializers.CharField())


class ReportFlagSerializer(serializers.Serializer):
    month = serializers.DateField()
    kind = serializers.CharField()
    label = serializers.CharField()
    reason = serializers.CharField()


class ReportLeaderboardRowSerializer(serializers.Serializer):
    cco_id = serializers.IntegerField()
    cco = serializers.CharField()
    subsidiary = serializers.CharField()
    rank_in_group = serializers.IntegerField()
    rank_in_subsidiary = serializers.IntegerField()
    score = serializers.DecimalField(max_digits=12, decimal_places=4,
                                     help_text=_("Average daily score over the period."))
    days = serializers.IntegerField()
    received = serializers.IntegerField()
    answered = serializers.IntegerField()
    answered_on_time = serializers.IntegerField()
    on_time_rate = _rate()
    quotes_sent = serializers.IntegerField()
    orders_won = serializers.IntegerField()
    sales_amount = _money()
    deadline_misses = serializers.IntegerField()
    flags = ReportFlagSerializer(many=True)


class ReportDealerSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="dealer.pk")
    name = serializers.CharField(source="dealer.name")
    routed = serializers.IntegerField()
    accepted = serializers.IntegerField()
    declined = serializers.IntegerField()
    timed_out = serializers.IntegerField()
    won = serializers.IntegerField()
    conversion = _rate()
    flagged = serializers.BooleanField()


class DashboardSerializer(serializers.Serializer):
    class ReportPeriodSerializer(serializers.Serializer):
        start = serializers.DateField()
        end = serializers.DateField()

    today = serializers.DateField()
    period = ReportPeriodSerializer()
    summary = ReportSummarySerializer()
    comparison = ReportComparisonSerializer()
    series_30 = ReportDaySerializer(many=True)
    series_90 = ReportDaySerializer(many=True)
    by_subsidiary = ReportBreakdownSerializer(many=True)
    by_category = ReportBreakdownSerializer(many=True)
    by_province = ReportBreakdownSerializer(many=True)
    funnel = ReportFunnelSerializer()
    channels = ReportChannelSerializer(many=True)
    lost_reasons = ReportLostReasonSerializer(many=True)
    unmet_demand = ReportUnmetDemandSerializer(many=True)
    leaderboard = ReportLeaderboardRowSerializer(many=True)
    dealers = ReportDealerSerializer(many=True)
    targets = ReportTargetsSerializer(help_text=_("The monthly targets of this month."))


class DashboardView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[DashboardQuerySerializer],
        responses={200: DashboardSerializer, 400: ERROR_400, 404: ERROR_404},
        description=_(
            "Every figure of the managers' dashboard for a period (default: the last 30 days): "
            "sales today, yesterday and month to date, month on month and year on year, the "
            "30- and 90-day daily series, sales by subsidiary, category and province, the "
            "inquiry funnel, channel return with spend and cost per won deal, lost reasons, "
            "unmet demand, the CCO leaderboard, dealer performance and this month's "
            "targets."))
    def get(self, request):
        _readers_only(request.user)
        query = DashboardQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        figures = selectors.dashboard(request.user, period=query.validated_data["period"],
                                      today=_today())
        return Response(DashboardSerializer(figures).data)


urlpatterns = [
    path("reports/cco-daily/", CcoDailyView.as_view(), name="api-reports-cco-daily"),
    path("reports/dashboard/", DashboardView.as_view(), name="api-reports-dashboard"),
]
