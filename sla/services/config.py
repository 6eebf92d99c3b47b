"""Writes of the SLA configuration: business calendars, their holidays, and policies with targets."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time

from django.core.exceptions import ValidationError
from django.db import transaction

from sla import holiday_import
from sla.business_time import BusinessCalendar
from sla.models import (
    BusinessHoursInterval,
    Calendar,
    Holiday,
    Policy,
    PolicyTarget,
)
from tickets.config_cache import config_changed
from tickets.exceptions import DomainError
from tickets.models import (
    Organization,
    Tag,
    Team,
)


@transaction.atomic
def calendar_create(
    *,
    name: str,
    time_zone: str,
    weekly_hours: dict[int, list[tuple[time, time]]],
    holidays: Iterable[tuple[date, str]] = (),
) -> Calendar:
    """Create a calendar with its weekly hours (validated by the pure calendar first) and holidays."""
    calendar = Calendar(name=name, time_zone=time_zone)
    calendar.full_clean()
    BusinessCalendar(time_zone, weekly_hours)  # raises ValueError with a clear message when malformed
    calendar.save()
    BusinessHoursInterval.objects.bulk_create(
        BusinessHoursInterval(calendar=calendar, weekday=weekday, start=start, end=end)
        for weekday, intervals in sorted(weekly_hours.items())
        for start, end in intervals
    )
    Holiday.objects.bulk_create(
        Holiday(calendar=calendar, date=day, name=label[:200]) for day, label in holidays
    )
    return calendar


@dataclass(frozen=True)
class TargetSpec:
    """One target of a policy: `target_seconds` of `metric` for tickets of `priority`."""

    priority: str
    metric: str
    target_seconds: int
    business_hours: bool = True


@transaction.atomic
def policy_create(
    *,
    name: str,
    calendar: Calendar,
    targets: Iterable[TargetSpec],
    position: int = 0,
    is_active: bool = True,
    priorities: Iterable[str] = (),
    channels: Iterable[str] = (),
    teams: Iterable[Team] = (),
    organizations: Iterable[Organization] = (),
    tags: Iterable[Tag] = (),
    vip: bool | None = None,
    pause_when_pending: bool = True,
    pause_when_on_hold: bool = True,
    warn_percent: int | None = None,
    warn_minutes_before: int | None = None,
    escalate_raise_priority: bool = False,
    escalate_reassign: str = "",
    escalation_team: Team | None = None,
    escalate_add_tag: str = "",
) -> Policy:
    """Create a policy with its conditions and targets (validated; a DomainError says what is wrong).

    It applies to ticket changes from now on; existing tickets move to it at their next change.
    """
    policy = Policy(
        name=name,
        calendar=calendar,
        position=position,
        is_active=is_active,
        priorities=list(priorities),
        channels=list(channels),
        vip=vip,
        pause_when_pending=pause_when_pending,
        pause_when_on_hold=pause_when_on_hold,
        warn_percent=warn_percent,
        warn_minutes_before=warn_minutes_before,
        escalate_raise_priority=escalate_raise_priority,
        escalate_reassign=escalate_reassign,
        escalation_team=escalation_team,
        escalate_add_tag=escalate_add_tag,
    )
    try:
        policy.full_clean()
    except ValidationError as error:
        raise DomainError(f"The policy is not valid: {'; '.join(error.messages)}") from error
    targets = list(targets)
    keys = [(target.priority, target.metric) for target in targets]
    if len(set(keys)) != len(keys):
        raise DomainError("Give at most one target per priority and metric.")
    policy.save()
    policy.teams.set(teams)
    policy.organizations.set(organizations)
    policy.tags.set(tags)
    PolicyTarget.objects.bulk_create(
        PolicyTarget(
            policy=policy,
            priority=target.priority,
            metric=target.metric,
            target_seconds=target.target_seconds,
            business_hours=target.business_hours,
        )
        for target in targets
    )
    return policy


def calendar_create_always_open(*, name: str = "24/7", time_zone: str = "UTC") -> Calendar:
    """The '24/7' preset: every day 00:00-00:00, no holidays. Returns the existing one if present."""
    existing = Calendar.objects.filter(name=name).first()
    if existing is not None:
        return existing
    return calendar_create(
        name=name, time_zone=time_zone, weekly_hours={day: [(time(0), time(0))] for day in range(7)}
    )


@transaction.atomic
def calendar_import_holidays(
    *, calendar: Calendar, country: str, subdivision: str | None, years: Iterable[int]
) -> int:
    """Add the public holidays of `country`/`subdivision` in `years`, keeping known dates; returns how many.

    Raises ValueError (from `holiday_import`) for an unknown country, subdivision or year.
    """
    found = holiday_import.public_holidays(country, subdivision or None, years)
    existing = set(calendar.holidays.values_list("date", flat=True))
    new = [
        Holiday(calendar=calendar, date=day, name=name[:200])
        for day, name in found.items()
        if day not in existing
    ]
    Holiday.objects.bulk_create(new)
    if new:
        config_changed()  # bulk_create sends no post_save: tell the per-process caches
    return len(new)


# --- the clock engine -----------------------------------------------------------------------------
