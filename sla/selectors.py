"""Reads of the SLA domain: business calendars, the matching policy, clock status for tickets and queues."""

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from sla import forecast as forecast_model
from sla.business_time import BusinessCalendar, add_business_seconds, business_seconds_between
from sla.explain import ClockView, EventView, Explanation, explain_clock
from sla.models import (
    OPEN_RUNNING_DUE_AT,
    Calendar,
    ClockState,
    Metric,
    Policy,
    PolicyTarget,
    SlaClock,
    SlaEvent,
    TeamCalendar,
)
from tickets import transitions
from tickets.models import AuditEntry, Organization, Tag, Team, Ticket

METRIC_ORDER = [Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.PERIODIC_UPDATE, Metric.RESOLUTION]


def business_calendar(calendar: Calendar) -> BusinessCalendar:
    """The pure-Python calendar of `calendar`'s weekly hours and holidays (two queries)."""
    weekly: dict[int, list] = {}
    for weekday, start, end in calendar.intervals.values_list("weekday", "start", "end"):
        weekly.setdefault(weekday, []).append((start, end))
    return BusinessCalendar(
        calendar.time_zone, weekly, holidays=calendar.holidays.values_list("date", flat=True)
    )


def _default_business_calendar() -> BusinessCalendar:
    """The settings' fallback hours (HELPDESK_DEFAULT_BUSINESS_DAYS/_HOURS in TIME_ZONE)."""
    opens, closes = (time.fromisoformat(part) for part in settings.HELPDESK_DEFAULT_BUSINESS_HOURS.split("-"))
    return BusinessCalendar(
        settings.TIME_ZONE, {day: [(opens, closes)] for day in settings.HELPDESK_DEFAULT_BUSINESS_DAYS}
    )


def ticket_business_calendar(*, ticket_id: int, team_id: int | None) -> BusinessCalendar:
    """The calendar a ticket's business-hours metrics count on (three queries at most).

    The calendar of the SLA policy that matched it (its latest clock), else its team's calendar, else the
    calendar marked default in the admin, else the hours in the settings: so every ticket has business
    hours, not only the ones a policy covers.
    """
    latest_clock = (
        SlaClock.objects.filter(ticket_id=ticket_id).exclude(state=ClockState.CANCELLED).order_by("-pk")
    )
    of_policy = Q(pk=Subquery(latest_clock.values("calendar_id")[:1]))
    of_team = Q(Exists(TeamCalendar.objects.filter(calendar=OuterRef("pk"), team_id=team_id)))
    calendar = (
        Calendar.objects.filter(of_policy | of_team | Q(is_default=True))
        .annotate(rank=Case(When(of_policy, then=Value(0)), When(of_team, then=Value(1)), default=Value(2)))
        .order_by("rank", "pk")
        .first()
    )
    return _default_business_calendar() if calendar is None else business_calendar(calendar)


def ticket_business_seconds_counter(*, ticket: Ticket) -> Callable[[datetime, datetime], int]:
    """The ticket core's `BUSINESS_HOURS` provider: business seconds on the ticket's calendar."""
    calendar = ticket_business_calendar(ticket_id=ticket.pk, team_id=ticket.team_id)
    return lambda start, end: business_seconds_between(calendar, start, end) if end > start else 0


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
    # Whether the ticket had a clock when the facts were read (without, the engine has none to lock).
    has_clocks: bool = True


def ticket_facts(ticket_id: int) -> TicketFacts:
    # One statement for a ticket without tags or clocks (a new one, most replies): whether it has any
    # is read with its columns, and only a ticket that has tags reads them.
    ticket = Ticket(pk=ticket_id)
    row = (
        Ticket.objects.annotate(
            has_tags=Exists(Ticket.tags.through.objects.filter(ticket_id=OuterRef("pk"))),
            has_clocks=Exists(SlaClock.objects.filter(ticket_id=OuterRef("pk"))),
        )
        .values(
            "has_tags",
            "has_clocks",
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
        )
        .get(pk=ticket_id)
    )
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
        tag_ids=frozenset(ticket.tags.values_list("pk", flat=True)) if row["has_tags"] else frozenset(),
        opened_by_id=row["opened_by_id"],
        merged_into_id=row["merged_into_id"],
        first_response_at=row["first_response_at"],
        solved_at=row["solved_at"],
        first_customer_message_at=first_customer_message_at,
        has_clocks=row["has_clocks"],
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


def policy_condition_checks(facts: TicketFacts, rule: PolicyRule) -> Iterator[tuple[str, bool]]:
    """Each condition of the rule's policy and whether the ticket meets it, lazily, in a fixed order.

    Each condition is optional (empty means any) and multi-valued (any of the values matches); for
    tags, the ticket needs at least one of the policy's tags.
    """
    policy = rule.policy
    yield "priorities", not policy.priorities or facts.priority in policy.priorities
    yield "channels", not policy.channels or facts.channel in policy.channels
    yield "vip", policy.vip is None or policy.vip == facts.is_vip
    yield "teams", not rule.team_ids or facts.team_id in rule.team_ids
    yield "organizations", not rule.organization_ids or facts.organization_id in rule.organization_ids
    yield "tags", not rule.tag_ids or bool(rule.tag_ids & facts.tag_ids)


def policy_rule_for(facts: TicketFacts, rules: Iterable[PolicyRule]) -> PolicyRule | None:
    """The one place policies are matched: the first rule (by position) whose every condition holds."""
    for rule in rules:
        if all(holds for _, holds in policy_condition_checks(facts, rule)):
            return rule
    return None


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


class _ClockRow(NamedTuple):
    """The columns of a clock `_status` reads, for lists: a list's hundred clocks as model instances
    (every column, nine of them instants) cost more Python than the rest of its SLA badges."""

    pk: int
    ticket_id: int
    metric: str
    sequence: int
    state: str
    target_seconds: int
    business_hours: bool
    running_since: datetime | None
    due_at: datetime | None
    warn_at: datetime | None
    paused_at: datetime | None
    elapsed_business_seconds: int
    elapsed_calendar_seconds: int
    breached_at: datetime | None
    stopped_at: datetime | None
    final_business_seconds: int | None
    final_calendar_seconds: int | None


def _status(clock: SlaClock | _ClockRow, now: datetime) -> SlaStatus:
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


def _latest_per_metric(clocks: Iterable[SlaClock | _ClockRow], now: datetime) -> list[SlaStatus]:
    latest: dict[str, SlaClock | _ClockRow] = {}
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
    by_ticket: dict[int, list[_ClockRow]] = {pk: [] for pk in ids}
    clocks = (
        SlaClock.objects.filter(ticket_id__in=ids)
        .exclude(state=ClockState.CANCELLED)
        .order_by("ticket_id", "metric", "sequence")
        .values_list(*_ClockRow._fields)
    )
    for row in clocks:
        clock = _ClockRow(*row)
        by_ticket[clock.ticket_id].append(clock)
    return {pk: _latest_per_metric(clocks_of_ticket, now) for pk, clocks_of_ticket in by_ticket.items()}


# --- queue filters and ordering -----------------------------------------------------------------


def _tickets_with_open_clock(condition: Q) -> Q:
    """Tickets with an open clock matching `condition`, as `pk IN (clocks)`: the clocks are found once
    through their indexes rather than probed per ticket with EXISTS. Running clocks are found by
    `running_due` (`OPEN_RUNNING_DUE_AT`, NULL unless running and open), which has an index and statistics
    of its own."""
    clocks = SlaClock.objects.alias(running_due=OPEN_RUNNING_DUE_AT).filter(condition)
    return Q(pk__in=clocks.order_by().values("ticket_id"))


def breached_q(now: datetime | None = None) -> Q:
    """Tickets with a breached clock still waiting to be fulfilled; with `now`, also running clocks past
    their due instant that the sweep has not reached yet (it runs every `SLA_SWEEP_SECONDS`).

    With `now` it reads the ticket's stored `sla_breach_at` (`ticket_sla_state`): the earliest due instant
    of a running clock, or the breach of an open breached clock, which lies before any later instant."""
    if now is None:
        return _tickets_with_open_clock(Q(state=ClockState.BREACHED, stopped_at__isnull=True))
    return Q(sla_breach_at__lt=now)


def _breaching_soon_clocks(now: datetime) -> QuerySet[SlaClock]:
    return SlaClock.objects.filter(
        ticket_id=OuterRef("pk"),
        state=ClockState.RUNNING,
        stopped_at__isnull=True,
        warn_at__lte=now,
        due_at__gte=now,
    )


def breaching_soon_q(now: datetime) -> Q:
    """Tickets with a running clock past its warning instant but not yet past its due instant.

    Reads the ticket's stored warning windows (`ticket_sla_state`): inside `sla_warn_from` ..
    `sla_warn_until`, which is exact when the windows overlap; when they leave gaps (a short first-response
    window long before the resolution's), the ticket's clocks decide, for those tickets only."""
    inside = Q(sla_warn_from__lte=now, sla_warn_until__gte=now)
    return inside & (Q(sla_warn_one_window=True) | Q(Exists(_breaching_soon_clocks(now))))


def breaching_soon_arms(now: datetime) -> tuple[Q, Q]:
    """`breaching_soon_q` as two disjoint filters whose union it is, for counts that stop at a cap: the
    tickets whose windows are exact (nearly all), read from the warning index's own columns, and those whose
    windows leave gaps, whose clocks decide, found through their own small index (`ticket_sla_warning_gaps`).
    As one OR, the clock lookup kept PostgreSQL from walking the warning index and stopping at the cap: it
    took every unsolved ticket of the user's teams as a bitmap instead (41 ms at a million tickets)."""
    inside = Q(sla_warn_from__lte=now, sla_warn_until__gte=now)
    return (
        inside & Q(sla_warn_one_window=True),
        inside & Q(sla_warn_one_window=False) & Q(Exists(_breaching_soon_clocks(now))),
    )


def tickets_breached(qs: QuerySet[Ticket], now: datetime | None = None) -> QuerySet[Ticket]:
    """Tickets with a breached clock that is still waiting to be fulfilled (see `breached_q`)."""
    return qs.filter(breached_q(now))


def tickets_breaching_within(qs: QuerySet[Ticket], minutes: int, now: datetime) -> QuerySet[Ticket]:
    """Tickets with a running clock due within `minutes` from `now` (or overdue and not yet swept)."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
        raise ValueError(f"minutes must be a non-negative whole number, got {minutes!r}")
    horizon = now + timedelta(minutes=minutes)
    return qs.filter(_tickets_with_open_clock(Q(running_due__lte=horizon)))


def annotate_next_sla_due(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Adds `next_sla_due` (see `earliest_due`; None without such a clock) for ordering queues.

    Reads the stored `Ticket.next_sla_due_at`, which the engine keeps current
    (`sla.services.engine.sla_tickets_store_state`)."""
    return qs.annotate(next_sla_due=F("next_sla_due_at"))


# The clocks whose due instant orders a queue: measuring toward their target, or breached and still
# waiting to be fulfilled (the most overdue first). The sweep's breach keeps the clock's due instant,
# so only the engine (start, stop, pause, retarget, pin) changes this value.
DUE_STATES = (ClockState.RUNNING, ClockState.BREACHED)


def earliest_due(ticket_ref: OuterRef | F) -> Subquery:
    """The earliest due instant of the ticket's running or breached, unfulfilled clocks, or None."""
    clocks = SlaClock.objects.filter(
        ticket_id=ticket_ref, state__in=DUE_STATES, stopped_at__isnull=True, due_at__isnull=False
    )
    return Subquery(clocks.order_by("due_at").values("due_at")[:1])


def _first(clocks: QuerySet[SlaClock], value: str, order: str) -> Subquery:
    return Subquery(clocks.order_by(order).values(value)[:1])


def _warning_windows(ticket_ref: OuterRef | F) -> QuerySet[SlaClock]:
    """The ticket's running clocks whose warning window (`warn_at` to `due_at`) is not empty."""
    return SlaClock.objects.filter(
        ticket_id=ticket_ref,
        state=ClockState.RUNNING,
        stopped_at__isnull=True,
        warn_at__isnull=False,
        due_at__isnull=False,
        warn_at__lte=F("due_at"),
    )


def ticket_sla_state(ticket_ref: OuterRef | F) -> dict[str, Subquery | Exists]:
    """{`Ticket` field: expression}: what the queues read of a ticket's clocks, as the engine stores it.

    - `sla_breach_at`: the earliest due instant of a running clock, or breach of an open breached clock
      (breached at every instant after it: `breached_q`). A breach by the sweep keeps the clock's due
      instant as its breach instant, so the value does not change when the sweep records it.
    - `sla_warn_from` / `sla_warn_until`: the warning windows (`warn_at` to `due_at`) of the running
      clocks span these instants; `sla_warn_one_window`: they share an instant (the latest warning is not
      after the earliest due instant), so the span is exactly where the ticket is breaching soon.
    """
    breach_at = Case(
        When(state=ClockState.RUNNING, then=F("due_at")),
        When(state=ClockState.BREACHED, then=Coalesce("breached_at", "started_at")),
    )
    breaching = (
        SlaClock.objects.filter(ticket_id=ticket_ref, state__in=DUE_STATES, stopped_at__isnull=True)
        .annotate(breach=breach_at)
        .filter(breach__isnull=False)
    )
    windows = _warning_windows(ticket_ref)
    earliest_window_end = Subquery(
        _warning_windows(OuterRef("ticket_id")).order_by("due_at").values("due_at")[:1]
    )
    return {
        "next_sla_due_at": earliest_due(ticket_ref),
        "sla_breach_at": _first(breaching, "breach", "breach"),
        "sla_warn_from": _first(windows, "warn_at", "warn_at"),
        "sla_warn_until": _first(windows, "due_at", "-due_at"),
        "sla_warn_one_window": ~Exists(windows.filter(warn_at__gt=earliest_window_end)),
    }


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


def breached_ticket_ids(ticket_ids: Iterable[int]) -> set[int]:
    """Which of these tickets have a breached open clock: with `annotate_next_sla_due`, all the SLA badge
    of a list needs (one query). By id, for a page's rows: as an `EXISTS` annotation of a list's query,
    PostgreSQL planned it for every ticket the query might read and hashed every open breached clock
    (281,000 at 1M) to show a page."""
    clocks = SlaClock.objects.filter(
        ticket_id__in=list(ticket_ids), state=ClockState.BREACHED, stopped_at__isnull=True
    )
    return set(clocks.order_by().values_list("ticket_id", flat=True))


# --- explaining clocks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConditionCheck:
    """One policy condition: what the policy asks for, what the ticket has, and whether that matches."""

    name: str
    required: str
    actual: str
    holds: bool


@dataclass(frozen=True)
class PolicyMatch:
    policy_id: int
    name: str
    position: int
    matched: bool
    checks: list[ConditionCheck]


@dataclass(frozen=True)
class CalendarInfo:
    name: str
    time_zone: str
    hours: list[str]  # "Monday 09:00-17:00"
    holidays: list[tuple[date, str]]  # within the clocks' span and the next 60 days


@dataclass(frozen=True)
class ClockExplanation:
    clock_id: int
    sequence: int
    policy: str
    calendar: CalendarInfo | None
    explanation: Explanation


@dataclass(frozen=True)
class TicketSlaExplanation:
    ticket_id: int
    time_zone: str
    facts: dict[str, str]
    policies: list[PolicyMatch]  # in matching order, up to and including the one that matched
    clocks: list[ClockExplanation]


def _names(model, ids: Iterable[int]) -> str:
    ids = list(ids)
    if not ids:
        return "any"
    return ", ".join(
        sorted(str(name) for name in model.objects.filter(pk__in=ids).values_list("name", flat=True))
    )


def _condition_checks(
    facts: TicketFacts, rule: PolicyRule, fact_text: dict[str, str]
) -> list[ConditionCheck]:
    policy = rule.policy
    required = {
        "priorities": ", ".join(policy.priorities) or "any",
        "channels": ", ".join(policy.channels) or "any",
        "vip": "any" if policy.vip is None else ("VIP" if policy.vip else "not VIP"),
        "teams": _names(Team, rule.team_ids),
        "organizations": _names(Organization, rule.organization_ids),
        "tags": _names(Tag, rule.tag_ids) if rule.tag_ids else "any",
    }
    return [
        ConditionCheck(name, required[name], fact_text[name], holds)
        for name, holds in policy_condition_checks(facts, rule)
    ]


def _calendar_info(calendar: Calendar, start: date, end: date) -> CalendarInfo:
    hours = [
        f"{interval.get_weekday_display()} {interval.start:%H:%M}-{interval.end:%H:%M}"
        for interval in calendar.intervals.order_by("weekday", "start")
    ]
    holidays = list(
        calendar.holidays.filter(date__gte=start, date__lte=end).order_by("date").values_list("date", "name")
    )
    return CalendarInfo(calendar.name, calendar.time_zone, hours, holidays)


def ticket_sla_explanation(
    ticket: Ticket, now: datetime, tz: ZoneInfo, clock_id: int | None = None
) -> TicketSlaExplanation:
    """Why each of the ticket's clocks (or the one clock `clock_id`) is due when it is, shown in `tz`.

    Built from each clock's event timeline by `sla.explain`, with the calendar the engine uses; the
    policy matching is today's, through `policy_condition_checks` (the rule `policy_rule_for` applies).
    """
    facts = ticket_facts(ticket.pk)
    tag_names = ", ".join(sorted(Tag.objects.filter(pk__in=facts.tag_ids).values_list("name", flat=True)))
    team = Team.objects.filter(pk=facts.team_id).values_list("name", flat=True).first()
    organization = (
        Organization.objects.filter(pk=facts.organization_id).values_list("name", flat=True).first()
    )
    fact_text = {
        "priorities": facts.priority,
        "channels": facts.channel,
        "vip": "VIP" if facts.is_vip else "not VIP",
        "teams": team or "no team",
        "organizations": organization or "no organization",
        "tags": tag_names or "no tags",
    }
    policies: list[PolicyMatch] = []
    for rule in active_policy_rules():
        checks = _condition_checks(facts, rule, fact_text)
        matched = all(check.holds for check in checks)
        policies.append(PolicyMatch(rule.policy.pk, rule.policy.name, rule.policy.position, matched, checks))
        if matched:
            break

    clocks = SlaClock.objects.filter(ticket_id=ticket.pk).select_related("policy", "calendar")
    if clock_id is not None:
        clocks = clocks.filter(pk=clock_id)
    events_by_clock: dict[int, list[EventView]] = {}
    # Creation order is the engine's order (a breach found late is stamped with its earlier due instant).
    for event in SlaEvent.objects.filter(clock__ticket_id=ticket.pk).order_by("pk"):
        events_by_clock.setdefault(event.clock_id, []).append(
            EventView(event.kind, event.at, event.target_seconds, event.business_hours, event.details)
        )
    calendars: dict[int, BusinessCalendar] = {}
    explained = []
    for clock in clocks.order_by("metric", "sequence"):
        if clock.calendar_id is None:
            pure = BusinessCalendar.always_open()
        else:
            if clock.calendar_id not in calendars:
                calendars[clock.calendar_id] = business_calendar(clock.calendar)
            pure = calendars[clock.calendar_id]
        view = ClockView(
            metric=clock.metric,
            state=clock.state,
            target_seconds=clock.target_seconds,
            business_hours=clock.business_hours,
            pinned_due_at=clock.pinned_due_at,
            stopped_at=clock.stopped_at,
        )
        explanation = explain_clock(view, events_by_clock.get(clock.pk, []), pure, tz)
        info = None
        if clock.calendar is not None:
            span_end = max(filter(None, [explanation.due_at, now]))
            info = _calendar_info(
                clock.calendar, clock.started_at.date(), span_end.date() + timedelta(days=60)
            )
        explained.append(
            ClockExplanation(
                clock.pk,
                clock.sequence,
                clock.policy.name if clock.policy else "(deleted policy)",
                info,
                explanation,
            )
        )
    return TicketSlaExplanation(ticket.pk, str(tz), fact_text, policies, explained)


# --- breach forecast ------------------------------------------------------------------------------

HANDLING_DEFAULT_SECONDS = 30 * 60
HANDLING_MIN_SECONDS, HANDLING_MAX_SECONDS = 5 * 60, 4 * 3600
HANDLING_HISTORY_DAYS = 30
HANDLING_MIN_SAMPLES = 5


@dataclass(frozen=True)
class ForecastTicket:
    ticket: Ticket
    due_at: datetime
    finish_at: datetime | None  # None: nobody on duty works it before it is due
    breaches: bool


@dataclass(frozen=True)
class ForecastSuggestion:
    ticket: Ticket
    from_agent: str
    to_agent: str
    to_user_id: int
    finish_at: datetime
    due_at: datetime


@dataclass(frozen=True)
class TeamForecast:
    team: Team
    now: datetime
    calendar: str
    handling_seconds: int
    handling_samples: int
    agents_on_duty: int
    already_breached: int
    breaches_within: dict[int, int]
    breaches_within_after_suggestions: dict[int, int]
    first_breaches: list[ForecastTicket]
    suggestions: list[ForecastSuggestion]


CALENDAR_SAMPLE = 200  # the team's tickets due first whose running clocks choose the forecast's calendar


def team_calendar(team: Team, now: datetime) -> tuple[str, BusinessCalendar]:
    """The calendar the team's forecast counts business hours on: that of most of the running clocks of
    its CALENDAR_SAMPLE unsolved tickets due first from `now` (the tickets the forecast is about; bounded
    work whatever the backlog); 24/7 when most of them count calendar time, or without such clocks."""
    due_first = (
        Ticket.objects.filter(team=team, status__in=transitions.UNSOLVED, next_sla_due_at__gte=now)
        .order_by("next_sla_due_at")
        .values("pk")[:CALENDAR_SAMPLE]
    )
    row = (
        SlaClock.objects.filter(ticket__in=due_first, state=ClockState.RUNNING, stopped_at__isnull=True)
        .annotate(on_calendar=Q(business_hours=True, calendar__isnull=False))
        .values("on_calendar", "calendar_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "-on_calendar", "calendar_id")
        .first()
    )
    if row is None or not row["on_calendar"]:
        return "24/7", BusinessCalendar.always_open()
    calendar = Calendar.objects.get(pk=row["calendar_id"])
    return calendar.name, business_calendar(calendar)


def team_handling_seconds(team: Team, now: datetime, calendar: BusinessCalendar) -> tuple[int, int]:
    """(median business seconds from first touch to first reply, samples) over the team's recent tickets.

    First touch is the ticket's first assignment (audited), or its creation when it was never assigned;
    the reply is the first public agent reply. Clamped to 5 min-4 h; 30 min with fewer than 5 samples.
    """
    first_assignment = (
        AuditEntry.objects.filter(ticket=OuterRef("pk"), field="assignee")
        .order_by("created_at", "pk")
        .values("created_at")[:1]
    )
    rows = (
        Ticket.objects.filter(
            team=team,
            first_response_at__gte=now - timedelta(days=HANDLING_HISTORY_DAYS),
            first_response_at__lte=now,
        )
        .annotate(assigned_at=Subquery(first_assignment))
        .order_by("-first_response_at")
        .values_list("created_at", "assigned_at", "first_response_at")[:500]
    )
    samples = []
    for created_at, assigned_at, replied_at in rows:
        touch = assigned_at if assigned_at is not None and assigned_at < replied_at else created_at
        samples.append(business_seconds_between(calendar, touch, replied_at))
    middle = forecast_model.median(samples)
    if middle is None or len(samples) < HANDLING_MIN_SAMPLES:
        return HANDLING_DEFAULT_SECONDS, len(samples)
    return int(min(max(middle, HANDLING_MIN_SECONDS), HANDLING_MAX_SECONDS)), len(samples)


def forecast_inputs(
    team: Team, now: datetime, calendar: BusinessCalendar, horizon_hours: int
) -> tuple[list[forecast_model.WaitingTicket], list[forecast_model.AgentOnTeam], int]:
    """The team's tickets with a running clock due within the horizon, its agents, and already breached.

    Tickets due later cannot change the outcome of earlier ones (the simulation works earliest due
    first), so the horizon bounds the work whatever the backlog.
    """
    horizon_end = (
        add_business_seconds(calendar, now, horizon_hours * 3600) if calendar.weekly_business_seconds else now
    )
    # `Ticket.next_sla_due_at` is the earliest due instant of the ticket's running or breached, unfulfilled
    # clocks (the engine stores it): before now, the ticket is breached (`breached_q(now)`); otherwise it
    # is its running clock due next. Both are ranges of the index `ticket_unsolved_team_next_due`.
    unsolved = Ticket.objects.filter(team=team, status__in=transitions.UNSOLVED)
    already_breached = unsolved.filter(next_sla_due_at__lt=now).count()
    tickets = unsolved.filter(next_sla_due_at__gte=now, next_sla_due_at__lte=horizon_end).prefetch_related(
        "required_skills"
    )
    waiting = [
        forecast_model.WaitingTicket(
            ticket_id=ticket.pk,
            due_in=business_seconds_between(calendar, now, ticket.next_sla_due_at),
            assignee_id=ticket.assignee_id,
            required_skills=frozenset(skill.pk for skill in ticket.required_skills.all()),
            label=ticket.reference or "",
        )
        for ticket in tickets
    ]
    members = list(team.agents.select_related("user").prefetch_related("skills"))
    # Open tickets of the team's agents only (in every team), read from an index alone: COUNT(*), since
    # COUNT(id) needs the id, which no index by assignee holds (at 1M tickets that read 18,000 heap
    # pages: 1.7 s instead of 38 ms cold).
    open_counts = dict(
        Ticket.objects.filter(
            status__in=transitions.UNSOLVED, assignee_id__in=[agent.user_id for agent in members]
        )
        .values("assignee_id")
        .annotate(n=Count("*"))
        .values_list("assignee_id", "n")
    )
    agents = [
        forecast_model.AgentOnTeam(
            user_id=agent.user_id,
            available=agent.is_available,
            capacity=agent.capacity,
            open_tickets=open_counts.get(agent.user_id, 0),
            skills=frozenset(skill.pk for skill in agent.skills.all()),
            label=str(agent),
        )
        for agent in members
    ]
    return waiting, agents, already_breached


def team_breach_forecast(team: Team, now: datetime, show: int = 10) -> TeamForecast:
    """How many of the team's tickets will breach in the next 2/4/8 business hours if nothing changes,
    the first of them, and reassignments that would save some (model: `sla.forecast`)."""
    calendar_name, calendar = team_calendar(team, now)
    handling, samples = team_handling_seconds(team, now, calendar)
    horizon = max(forecast_model.HORIZON_HOURS)
    waiting, agents, already_breached = forecast_inputs(team, now, calendar, horizon)
    result = forecast_model.forecast(waiting, agents, handling)

    def instant(offset: int) -> datetime:
        return (
            add_business_seconds(calendar, now, max(offset, 0)) if calendar.weekly_business_seconds else now
        )

    tickets = Ticket.objects.select_related("assignee").in_bulk([t.ticket_id for t in waiting])
    names = {agent.user_id: agent.label for agent in agents}
    breaching = sorted((o for o in result.outcomes if o.breaches), key=lambda o: (o.due_in, o.ticket_id))
    return TeamForecast(
        team=team,
        now=now,
        calendar=calendar_name,
        handling_seconds=handling,
        handling_samples=samples,
        agents_on_duty=sum(1 for agent in agents if agent.available),
        already_breached=already_breached,
        breaches_within=result.breaches_within,
        breaches_within_after_suggestions=result.breaches_within_after_suggestions,
        first_breaches=[
            ForecastTicket(
                tickets[o.ticket_id],
                instant(o.due_in),
                instant(o.finish_in) if o.finish_in is not None else None,
                True,
            )
            for o in breaching[:show]
        ],
        suggestions=[
            ForecastSuggestion(
                ticket=tickets[s.ticket_id],
                from_agent=names.get(s.from_user_id, "unassigned") if s.from_user_id else "unassigned",
                to_agent=names[s.to_user_id],
                to_user_id=s.to_user_id,
                finish_at=instant(s.finish_in),
                due_at=instant(s.due_in),
            )
            for s in result.suggestions
        ],
    )
