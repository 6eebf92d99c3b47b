"""Delete the raw bytes of processed inbound mail past the retention period (`manage.py purge_raw_mail`).

The beat task `tickets_purge_raw_mail` does the same every hour; this command is for a one-off run or a
different period (`--days`).
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tickets.email.raw_mail import inbound_raw_purge


class Command(BaseCommand):
    help = (
        "Delete the stored raw bytes of processed, ignored and duplicate inbound mail older than "
        "HELPDESK_RAW_MAIL_RETENTION_DAYS (or --days); quarantined mail keeps its bytes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="retention in days (default: the setting)")

    def handle(self, *args, days: int | None = None, **options) -> None:
        days = settings.HELPDESK_RAW_MAIL_RETENTION_DAYS if days is None else days
        if days < 0:
            raise CommandError("--days must be 0 (keep everything) or a positive number of days.")
        now = timezone.now()
        purged = 0
        while batch := inbound_raw_purge(now=now, retention_days=days):
            purged += batch
        if days == 0:
            self.stdout.write("Retention is 0 days: raw mail is kept forever; nothing deleted.")
        else:
            self.stdout.write(
                f"Deleted the raw bytes of {purged} inbound message(s) older than {days} day(s)."
            )
