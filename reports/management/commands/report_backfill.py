import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports import services
from reports.scoring import report_tz


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not an ISO date (YYYY-MM-DD): {value!r}") from None


class Command(BaseCommand):
    help = ("Compute the daily CCO reports of every day from FROM to TO (inclusive, ISO "
            "dates), one day per transaction; days already reported are replaced. With "
            "--rollups, the dashboards' rollups of each day too.")

    def add_arguments(self, parser):
        parser.add_argument("first", metavar="FROM", type=_date)
        parser.add_argument("last", metavar="TO", type=_date)
        parser.add_argument("--rollups", action="store_true",
                            help="Also refresh the dashboards' rollups of each day.")

    def handle(self, *args, first: datetime.date, last: datetime.date, rollups: bool = False,
               **options):
        if last < first:
            raise CommandError(f"TO ({last}) is before FROM ({first}).")
        today = timezone.localdate(timezone=report_tz())
        if last > today:
            raise CommandError(f"TO ({last}) is in the future (today is {today}).")
        days = (last - first).days + 1
        rows = 0
        # tqdm is not a dependency: a one-line counter on stderr, rewritten in place.
        for n in range(days):
            day = first + datetime.timedelta(days=n)
            rows += services.cco_daily_report_compute(day=day)
            if rollups:
                services.rollups_refresh(day=day)
            self.stderr.write(f"\r{n + 1}/{days} {day} ({rows} rows)", ending="")
            self.stderr.flush()
        self.stderr.write("")
        self.stdout.write(f"{days} days, {rows} report rows from {first} to {last}"
                          + (", rollups refreshed." if rollups else "."))
