"""Demo SLA setup: a US business-hours calendar with holidays, policies, and clocks for the demo tickets.

Idempotent: calendars and policies are created once; tickets that already have clocks are left alone.
"""

from datetime import time

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from sla import selectors, services
from sla.models import Metric, Policy, PolicyTarget, SlaClock
from tickets.models import Priority, Ticket

HOUR = 3600
BUSINESS_HOURS = "US business hours"
# (first response, next response, periodic update, resolution) in seconds, per priority.
STANDARD_TARGETS = {
    Priority.URGENT: (1 * HOUR, 1 * HOUR, 4 * HOUR, 8 * HOUR),
    Priority.HIGH: (2 * HOUR, 2 * HOUR, 8 * HOUR, 16 * HOUR),
    Priority.NORMAL: (4 * HOUR, 4 * HOUR, 24 * HOUR, 24 * HOUR),
    Priority.LOW: (8 * HOUR, 8 * HOUR, 48 * HOUR, 40 * HOUR),
}
VIP_TARGETS = {
    Priority.URGENT: (30 * 60, 30 * 60, 2 * HOUR, 4 * HOUR),
    Priority.HIGH: (1 * HOUR, 1 * HOUR, 4 * HOUR, 8 * HOUR),
    Priority.NORMAL: (2 * HOUR, 2 * HOUR, 8 * HOUR, 16 * HOUR),
    Priority.LOW: (4 * HOUR, 4 * HOUR, 24 * HOUR, 24 * HOUR),
}
METRICS = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.PERIODIC_UPDATE, Metric.RESOLUTION)


class Command(BaseCommand):
    help = (
        "Create demo SLA calendars and policies, then build clocks for existing tickets from their history."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--country", default="US", help="Country whose holidays the calendar gets (US).")

    def handle(self, *args, country: str, **options) -> None:
        if not Policy.objects.exists():
            self._create_policies(country)
        pending = list(
            Ticket.objects.filter(sla_clocks__isnull=True, merged_into__isnull=True)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)
        )
        if pending:
            self.stdout.write(f"Replaying the history of {len(pending)} ticket(s) into SLA clocks")
        step = max(1, len(pending) // 10)
        rules, calendars = selectors.active_policy_rules(), {}
        for index, pk in enumerate(pending, start=1):
            services.sla_ticket_replay(ticket=Ticket(pk=pk), rules=rules, calendars=calendars)
            if index % step == 0 or index == len(pending):
                self.stdout.write(
                    f"  clocks: {index}/{len(pending)} tickets ({index * 100 // len(pending)}%)"
                )
                self.stdout.flush()
        # Everything this sweep finds came due before the demo's SLA setup existed: history, not news,
        # so it is notified in-app only (no email, no webhook); see `services.sla_sweep`.
        result = services.sla_sweep(now=timezone.now(), live=False)
        states = dict(SlaClock.objects.order_by().values_list("state").annotate(count=Count("pk")))
        summary = ", ".join(f"{count} {state}" for state, count in states.items() if count)
        self.stdout.write(
            self.style.SUCCESS(
                f"SLA demo ready: {summary or 'no clocks'} "
                f"(this sweep warned {result.warned} and breached {result.breached})."
            )
        )

    @transaction.atomic
    def _create_policies(self, country: str) -> None:
        always_open = services.calendar_create_always_open()
        office = services.calendar_create(
            name=BUSINESS_HOURS,
            time_zone="America/New_York",
            weekly_hours={day: [(time(9), time(17))] for day in range(5)},
        )
        office.holiday_country = country
        office.save(update_fields=["holiday_country"])
        year = timezone.now().year
        added = services.calendar_import_holidays(
            calendar=office, country=country, subdivision=None, years=[year - 1, year, year + 1]
        )
        vip = Policy.objects.create(
            name="VIP customers",
            position=0,
            vip=True,
            calendar=always_open,
            warn_percent=80,
            escalate_raise_priority=True,
            escalate_reassign=Policy.Reassign.TEAM_LEAD,
            escalate_add_tag="sla-breached",
        )
        standard = Policy.objects.create(
            name="Standard",
            position=10,
            calendar=office,
            warn_minutes_before=30,
            escalate_add_tag="sla-breached",
        )
        for policy, table, business in ((vip, VIP_TARGETS, False), (standard, STANDARD_TARGETS, True)):
            PolicyTarget.objects.bulk_create(
                PolicyTarget(
                    policy=policy,
                    priority=priority,
                    metric=metric,
                    target_seconds=seconds,
                    # Periodic updates count calendar time: customers notice silence on weekends too.
                    business_hours=business and metric != Metric.PERIODIC_UPDATE,
                )
                for priority, targets in table.items()
                for metric, seconds in zip(METRICS, targets, strict=True)
            )
        self.stdout.write(
            f"Created calendars '24/7' and '{BUSINESS_HOURS}' ({added} {country} holidays) and policies "
            f"'{vip.name}' (24/7) and '{standard.name}' ({BUSINESS_HOURS})."
        )
