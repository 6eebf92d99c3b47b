"""Fill the daily metrics rollup from the raw tables (after installing it, or to rebuild it).

    python manage.py metrics_rollup_backfill [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--chunk-days 31]

Prints one line per chunk and a total; the beat task `tickets_rollup_metrics` keeps it current after.
"""

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets.reporting import rollup


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from error


class Command(BaseCommand):
    help = "Compute the daily metrics rollup of the days before today, a chunk of days at a time."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", type=_date, help="First day (default: the first ticket's day).")
        parser.add_argument("--until", type=_date, help="Last day (default: yesterday).")
        parser.add_argument("--chunk-days", type=int, default=31, help="Days computed per transaction.")

    def handle(self, *args, since: date | None, until: date | None, chunk_days: int, **options) -> None:
        if chunk_days < 1:
            raise CommandError("--chunk-days must be at least 1.")
        started = time.monotonic()

        def progress(first: date, last: date, rows: int) -> None:
            elapsed = time.monotonic() - started
            self.stdout.write(f"{first}..{last}: {rows} rows ({elapsed:.1f} s so far)")

        days = rollup.rollup_backfill(since=since, until=until, chunk_days=chunk_days, progress=progress)
        self.stdout.write(f"{days} days computed in {time.monotonic() - started:.1f} s")
