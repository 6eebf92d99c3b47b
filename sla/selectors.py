"""Reads of the SLA domain: business calendars, the matching policy, clock status for tickets and queues."""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from sla.business_time import BusinessCalendar
from sla.models import Calendar, ClockState, Metric, Policy, PolicyTarget, SlaClock
from tickets import transitions
from tickets.models import Ticket

METRIC_ORDER = [Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.PERIODIC_UPDATE, Metric.RESOLUTION]


def business_calendar(calendar: Calendar) -> BusinessCalendar:
    """The pure-Python calendar of `calendar`'s weekly hours and holidays (two queries)."""
    weekly: dict[int, list] = {}
    for weekday, start, end in calendar.intervals.values_list("weekday", "start", "end"):
        weekly.setdefault(weekday, []).append((start, end))
    return BusinessCalendar(
        calendar.time_zone, weekly, holidays=calendar.holidays.values_list("date", flat=True)
    )


@dataclass
class TicketFacts:
    """What policy matching and the clocks need to know about a ticket at one instant."""

    pk: int
    created_at: datetime
    status: str
    priority: str
    channel: str
    team_id: int | None
    organization_id: int | None
    is_vip: bool
    tag_ids: frozenset[int]
    opened_by_id: int | None
    merged_into_id: int | None
    first_response_at: datetime | None
    solved_at: datetime | None
    first_customer_message_at: datetime | None


def ticket_facts(ticket_id: int) -> TicketFacts:
    row = Ticket.objects.values(
        "created_at",
        "status",
        "priority",
        "channel",
        "team_id",
        "customer__organization_id",
        "customer__is_vip",
        "opened_by_id",
        "merged_into_id",
        "first_response_at",
        "solved_at",
    ).get(pk=ticket_id)
    ticket = Ticket(pk=ticket_id)
    first_customer_message_at = row["created_at"]
    if row["opened_by_id"] is not None:
        first_customer_message_at = (
            ticket.messages.filter(author_role="customer")
            .order_by("created_at", "pk")
            .values_list("created_at", flat=True)
            .first()
        )
    return TicketFacts(
        pk=ticket_id,
        created_at=row["created_at"],
        status=row["status"],
        priority=row["priority"],
        channel=row["channel"],
        team_id=row["team_id"],
        organization_id=row["customer__organization_id"],
        is_vip=row["customer__is_vip"],
        tag_ids=frozenset(ticket.tags.values_list("pk", flat=True)),
        opened_by_id=row["opened_by_id"],
        merged_into_id=row["merged_into_id"],
        first_response_at=row["first_response_at"],
        solved_at=row["solved_at"],
        first_customer_message_at=first_customer_message_at,
    )


@dataclass(frozen=True)
class PolicyRule:
    """An active policy with its conditions and targets loaded, so matching needs no queries."""

    policy: Policy
    team_ids: frozenset[int]
    organization_ids: frozenset[int]
    tag_ids: frozenset[int]
    targets: dict[tuple[str, str], PolicyTarget]


def active_policy_rules() -> list[PolicyRule]:
    """Every active policy in matching order, with conditions and targets (five simple queries)."""
    policies = (
        Policy.objects.filter(is_active=True)
        .select_related("calendar")
        .prefetch_related("teams", "organizations", "tags", "targets")
        .order_by("position", "pk")
    )
    return [
        PolicyRule(
            policy=policy,
            team_ids=frozenset(team.pk for team in policy.teams.all()),
            organization_ids=frozenset(org.pk for org in policy.organizations.all()),
            tag_ids=frozenset(tag.pk for tag in policy.tags.all()),
            targets={(target.priority, target.metric): target for target in policy.targets.all()},
        )
        for policy in policies
    ]


def policy_rule_for(facts: TicketFacts, rules: Iterable[PolicyRule]) -> PolicyRule | None:
    """The one place policies are matched: the first rule (by position) whose every condition holds.

    Each condition is optional (empty means any) and multi-valued (any of the values matches); for
    tags, the ticket needs at least one of the policy's tags.
    """
    for rule in rules:
        policy = rule.policy
        if policy.priorities and facts.priority not in policy.priorities:
            continue
        if policy.channels and facts.channel not in policy.channels:
            continue
        if policy.vip is not None and policy.vip != facts.is_vip:
            continue
        if rule.team_ids and facts.team_id not in rule.team_ids:
            continue
        if rule.organization_ids and facts.organization_id not in rule.organization_ids:
            continue
        if rule.tag_ids and not rule.tag_ids & facts.tag_ids:
            continue
        return rule
    return None


def policy_for(facts: TicketFacts) -> Policy | None:
    rule = policy_rule_for(facts, active_policy_rules())
    return rule.policy if rule else None


# --- status of clocks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaStatus:
    """One metric of one ticket, as shown to agents and leads.

    `remaining_seconds` is wall-clock seconds until `due_at` for a measuring clock (negative when
    overdue); for a paused or stopped clock it is the target's own unit (business or calendar seconds)
    left, negative when the target was exceeded.
    """

    clock_id: int
    metric: str
    sequence: int
    state: str
    target_seconds: int
    business_hours: bool
    due_at: datetime | None
    warn_at: datetime | None
    remaining_seconds: int
    breached_at: datetime | None
    paused: bool
    stopped_at: datetime | None


def _status(clock: SlaClock, now: datetime) -> SlaStatus:
    elapsed = clock.elapsed_business_seconds if clock.business_hours else clock.elapsed_calendar_seconds
    if clock.stopped_at is not None:
        final = clock.final_business_seconds if clock.business_hours else clock.final_calendar_seconds
        remaining = clock.target_seconds - (final or 0)
    elif clock.running_since is not None and clock.due_at is not None:
        remaining = math.floor((clock.due_at - now).total_seconds())
    else:
        remaining = clock.target_seconds - elapsed
    return SlaStatus(
        clock_id=clock.pk,
        metric=clock.metric,
        sequence=clock.sequence,
        state=clock.state,
        target_seconds=clock.target_seconds,
        business_hours=clock.business_hours,
        due_at=clock.due_at,
        warn_at=clock.warn_at,
        remaining_seconds=remaining,
        breached_at=clock.breached_at,
        paused=clock.stopped_at is None and clock.paused_at is not None,
        stopped_at=clock.stopped_at,
    )


def _latest_per_metric(clocks: Iterable[SlaClock], now: datetime) -> list[SlaStatus]:
    latest: dict[str, SlaClock] = {}
    for clock in clocks:
        latest[clock.metric] = clock  # clocks come ordered by sequence, so the last one wins
    return [_status(latest[metric], now) for metric in METRIC_ORDER if metric in latest]


def ticket_sla_status(ticket: Ticket, now: datetime) -> list[SlaStatus]:
    """The latest (not cancelled) instance of each metric on the ticket, in metric order; one query."""
    clocks = SlaClock.objects.filter(ticket_id=ticket.pk).exclude(state=ClockState.CANCELLED)
    return _latest_per_metric(clocks.order_by("metric", "sequence"), now)


def sla_status_for_tickets(ticket_ids: Iterable[int], now: datetime) -> dict[int, list[SlaStatus]]:
    """`ticket_sla_status` for many tickets in one query (for lists and the API)."""
    ids = list(ticket_ids)
    by_ticket: dict[int, list[SlaClock]] = {pk: [] for pk in ids}
    clocks = (
        SlaClock.objects.filter(ticket_id__in=ids)
        .exclude(state=ClockState.CANCELLED)
        .order_by("ticket_id", "metric", "sequence")
    )
    for clock in clocks:
        by_ticket[clock.ticket_id].append(clock)
    return {pk: _latest_per_metric(clocks_of_ticket, now) for pk, clocks_of_ticket in by_ticket.items()}


# --- queue filters and ordering -----------------------------------------------------------------


def _open_clocks() -> QuerySet[SlaClock]:
    return SlaClock.objects.filter(ticket_id=OuterRef("pk"), stopped_at__isnull=True)


def breached_q(now: datetime | None = None) -> Q:
    """Tickets with a breached clock still waiting to be fulfilled; with `now`, also running clocks past
    their due instant that the sweep has not reached yet (it runs every `SLA_SWEEP_SECONDS`)."""
    condition = Q(state=ClockState.BREACHED)
    if now is not None:
        condition |= Q(state=ClockState.RUNNING, due_at__lt=now)
    return Q(Exists(_open_clocks().filter(condition)))


def breaching_soon_q(now: datetime) -> Q:
    """Tickets with a running clock past its warning instant but not yet past its due instant."""
    return Q(Exists(_open_clocks().filter(state=ClockState.RUNNING, warn_at__lte=now, due_at__gte=now)))


def tickets_breached(qs: QuerySet[Ticket], now: datetime | None = None) -> QuerySet[Ticket]:
    """Tickets with a breached clock that is still waiting to be fulfilled (see `breached_q`)."""
    return qs.filter(breached_q(now))


def tickets_breaching_within(qs: QuerySet[Ticket], minutes: int, now: datetime) -> QuerySet[Ticket]:
    """Tickets with a running clock due within `minutes` from `now` (or overdue and not yet swept)."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
        raise ValueError(f"minutes must be a non-negative whole number, got {minutes!r}")
    horizon = now + timedelta(minutes=minutes)
    return qs.filter(Exists(_open_clocks().filter(state=ClockState.RUNNING, due_at__lte=horizon)))


def annotate_next_sla_due(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Adds `next_sla_due` (earliest due instant of a running clock, or None) for ordering queues."""
    earliest = (
        _open_clocks()
        .filter(state=ClockState.RUNNING, due_at__isnull=False)
        .order_by("due_at")
        .values("due_at")[:1]
    )
    return qs.annotate(next_sla_due=Subquery(earliest))


@dataclass(frozen=True)
class LiveBreaches:
    count: int
    tickets: list[Ticket]


def live_breaches(qs: QuerySet[Ticket], now: datetime, limit: int = 10) -> LiveBreaches:
    """Unsolved tickets of `qs` breaching right now (`breached_q(now)`): how many, and the oldest few.

    Two queries whatever the number of tickets (dashboards).
    """
    breached = tickets_breached(qs.filter(status__in=transitions.UNSOLVED), now).order_by("created_at", "pk")
    return LiveBreaches(
        count=breached.count(),
        tickets=list(breached.select_related("team", "assignee")[:limit]),
    )


def annotate_sla_badge(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """`annotate_next_sla_due` plus `sla_breached`, which is all the SLA badge of a list needs."""
    breached = Exists(_open_clocks().filter(state=ClockState.BREACHED))
    return annotate_next_sla_due(qs).annotate(sla_breached=breached)
