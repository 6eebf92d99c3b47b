"""Import public holidays from the `holidays` package into an SLA calendar."""

from django.core.management.base import BaseCommand, CommandError

from sla import services
from sla.models import Calendar


class Command(BaseCommand):
    help = "Add the public holidays of a country (and optional subdivision) for given years to a calendar."

    def add_arguments(self, parser) -> None:
        parser.add_argument("calendar", help="Name of the calendar.")
        parser.add_argument("--country", required=True, help="ISO 3166 country code, e.g. US or DK.")
        parser.add_argument("--subdivision", default=None, help="State/province code, e.g. CA (optional).")
        parser.add_argument("--years", type=int, nargs="+", required=True, help="Years, e.g. 2026 2027.")

    def handle(
        self, *args, calendar: str, country: str, subdivision: str | None, years: list[int], **options
    ):
        found = Calendar.objects.filter(name=calendar).first()
        if found is None:
            names = ", ".join(Calendar.objects.values_list("name", flat=True)) or "none yet"
            raise CommandError(f"No calendar named {calendar!r}; existing calendars: {names}.")
        try:
            added = services.calendar_import_holidays(
                calendar=found, country=country, subdivision=subdivision, years=years
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{added} holiday(s) added to {found.name}.")
