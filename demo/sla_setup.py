"""The demo's SLA setup: a 24/7 calendar, a US business-hours calendar with holidays, two policies."""

from datetime import time

from django.db import transaction
from django.utils import timezone

from sla import services
from sla.models import Calendar, Metric, Policy, PolicyTarget
from tickets.models import Priority

HOUR = 3600
BUSINESS_HOURS = "US business hours"
METRICS = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.PERIODIC_UPDATE, Metric.RESOLUTION)
# (first response, next response, periodic update, resolution) in seconds, per priority; None: no target.
# Only the VIP rota promises periodic updates (around the clock); the standard desk answers each message.
STANDARD_TARGETS = {
    Priority.URGENT: (1 * HOUR, 1 * HOUR, None, 8 * HOUR),
    Priority.HIGH: (2 * HOUR, 2 * HOUR, None, 16 * HOUR),
    Priority.NORMAL: (4 * HOUR, 4 * HOUR, None, 24 * HOUR),
    Priority.LOW: (8 * HOUR, 8 * HOUR, None, 40 * HOUR),
}
VIP_TARGETS = {
    Priority.URGENT: (30 * 60, 30 * 60, 4 * HOUR, 4 * HOUR),
    Priority.HIGH: (1 * HOUR, 1 * HOUR, 8 * HOUR, 8 * HOUR),
    Priority.NORMAL: (2 * HOUR, 2 * HOUR, 24 * HOUR, 16 * HOUR),
    Priority.LOW: (4 * HOUR, 4 * HOUR, 48 * HOUR, 24 * HOUR),
}


def targets_by_metric(table: dict) -> dict[tuple[str, str], int]:
    """{(priority, metric): seconds} of one of the tables above."""
    return {
        (str(priority), str(metric)): seconds
        for priority, row in table.items()
        for metric, seconds in zip(METRICS, row, strict=True)
        if seconds is not None
    }


@transaction.atomic
def demo_policies_create(*, country: str = "US") -> tuple[Calendar, Calendar]:
    """The demo's calendars and policies; returns (always open, business hours)."""
    always_open = services.calendar_create_always_open()
    office = services.calendar_create(
        name=BUSINESS_HOURS,
        time_zone="America/New_York",
        weekly_hours={day: [(time(9), time(17))] for day in range(5)},
    )
    office.holiday_country = country
    office.save(update_fields=["holiday_country"])
    year = timezone.now().year
    services.calendar_import_holidays(
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
    for policy, table in ((vip, VIP_TARGETS), (standard, STANDARD_TARGETS)):
        PolicyTarget.objects.bulk_create(
            PolicyTarget(
                policy=policy,
                priority=priority,
                metric=metric,
                target_seconds=seconds,
                business_hours=policy is standard,
            )
            for (priority, metric), seconds in targets_by_metric(table).items()
        )
    return always_open, office
