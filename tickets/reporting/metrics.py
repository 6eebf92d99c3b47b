"""Team metrics computed in the database, for the metrics API, the admin dashboard and the UI.

`ticket_metrics()` answers in a handful of queries whatever the number of tickets: each family of
measures is one grouped aggregate over indexed timestamp columns and the per-ticket metric columns
(`TicketMetrics`), never durations recomputed from `updated_at`.

Families and the instant that places a ticket in a period:
- created: `created_at`; backlog: unsolved at the period's end instant;
- first response: `first_response_at` (times from `first_response_seconds`);
- solved: `solved_at` (resolution times, first-contact resolution, reopens).
Grouping by agent uses the assignee, except for the solved family, which uses who solved it
(`TicketMetrics.solved_by`); the `agent` filter follows the same rule. Team, channel and priority
are the ticket's current values.

Percentiles: on PostgreSQL `percentile_cont` in SQL. On SQLite, which has no percentile aggregate,
one query fetches the grouped duration column (`values_list`, ordered) and `tickets.reporting.stats` computes
the same interpolated percentiles in Python over those value lists.

Backlog is "created before the instant and not solved or closed before it", from `solved_at` and
`closed_at`; a ticket solved and later reopened counts as unsolved throughout (its `solved_at` is
cleared on reopen), which slightly over-counts the historical backlog of reopened tickets.

Surveys (`surveys.selectors`): CSAT, NPS and CES from answers placed by their first-answer time,
response rate from invitations placed by their send time. Team, agent, channel and priority are the
invitation's snapshot at solve time (the agent is the assignee who solved it), matching how the
solved family groups by who solved. Totals are summed from the grouped score counts, not re-queried.

Phone (`PhoneCall`, inbound calls only): average speed of answer (mean queue wait of answered calls)
and abandonment rate (abandoned ÷ all inbound calls), placed by `started_at`; team, agent (assignee),
channel and priority are the call's ticket's.

SLA: per metric, clocks that ended achieved or breached, placed in the period of their outcome
instant (`breached_at` for a breach, `stopped_at` for an achieved clock); compliance is achieved /
(achieved + breached); clocks still running without a breach, and cancelled ones, are left out.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Count,
    DateField,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce, Trunc
from django.utils import timezone

from tickets.adapters.sla import ClockState, SlaClock, SlaMetric
from tickets.adapters.surveys import (
    HEADLINE,
    SurveyFilters,
    SurveyInvitation,
    SurveyResponse,
    scoring,
    survey_response_rate,
    survey_score_counts,
)
from tickets.models import PRIORITY_RANK, Channel, PhoneCall, Priority, Status, Team, Ticket
from tickets.reporting import histogram, stats, sums
from tickets.reporting.models import Grain, MetricsHistogram, MetricsRollup, MetricsRollupDay, Span
from tickets.reporting.sums import DURATIONS

TIME_GROUPS = ("day", "week", "month")
DIMENSION_GROUPS = ("team", "agent", "channel", "priority")
GROUP_BY_CHOICES = TIME_GROUPS + DIMENSION_GROUPS
MAX_RANGE_DAYS = 731
# Dates outside this span overflow the period arithmetic (the day after `end`, time-zone shifts near
# datetime.max) and mean nothing for a helpdesk; inputs beyond it are refused, not computed.
EARLIEST_DATE, LATEST_DATE = date(1900, 1, 1), date(9998, 12, 31)
SURVEY_KINDS = ("csat", "nps", "ces")
SLA_METRICS = tuple(SlaMetric.values)
#: Measures that are one number each, in CSV column order.
FLAT_MEASURES = (
    "first_contact_resolution_rate",
    "reopen_rate",
    "reopens",
    "replies_per_ticket",
    "one_touch_rate",
    "two_touch_rate",
    "solved_without_transfer_rate",
    "team_stations_per_ticket",
    "assignee_stations_per_ticket",
    "repeat_contacts",
    "repeat_contact_rate",
    "sla_compliance_rate",
    "csat",
    "csat_responses",
    "nps",
    "nps_responses",
    "ces",
    "ces_percent_easy",
    "ces_responses",
    "surveys_sent",
    "surveys_responded",
    "survey_response_rate",
    "phone_calls",
    "phone_calls_answered",
    "phone_calls_abandoned",
    "phone_short_abandons",
    "phone_abandonment_rate",
    "phone_answered_within_threshold",
    "phone_service_level",
    "phone_average_speed_of_answer_seconds",
    "phone_average_handle_time_seconds",
    "phone_first_call_resolution_rate",
)
PHONE_COUNTS = (
    "phone_calls",
    "phone_calls_answered",
    "phone_calls_abandoned",
    "phone_short_abandons",
    "phone_answered_within_threshold",
)
#: The label of the group of tickets (or calls) without an agent or a team.
UNASSIGNED = "(unassigned)"
TOTAL = "__total__"


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate `percentile_cont(fraction) WITHIN GROUP (ORDER BY expr)`."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra) -> None:
        # float() keeps the literal that goes into the SQL a plain number.
        super().__init__(expression, fraction=float(fraction), **extra)


@dataclass(frozen=True)
class MetricsFilters:
    team: int | None = None
    #: A user id, or UNASSIGNED_FILTER for the tickets (and calls) without an agent.
    agent: int | str | None = None
    channel: str | None = None
    priority: str | None = None


UNASSIGNED_FILTER = "unassigned"


def _dimension_field(group_by: str, family: str) -> str:
    if group_by == "agent":
        return {"solved": "metrics__solved_by", "phone": "agent"}.get(family, "assignee")
    if family == "phone":
        return f"ticket__{group_by}"
    return {"team": "team", "channel": "channel", "priority": "priority"}[group_by]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(total: int | None, count: int) -> float | None:
    return round((total or 0) / count, 2) if count else None


def _agent_q(field: str, agent: int | str) -> Q:
    return Q(**{f"{field}__isnull": True}) if agent == UNASSIGNED_FILTER else Q(**{f"{field}_id": agent})


def _family_queryset(tickets: QuerySet[Ticket], family: str, filters: MetricsFilters) -> QuerySet[Ticket]:
    if filters.team is not None:
        tickets = tickets.filter(team_id=filters.team)
    # Calls are filtered by the agent who answered them, not by the ticket (see _add_phone_calls).
    if filters.agent is not None and family != "phone":
        tickets = tickets.filter(_agent_q(_dimension_field("agent", family), filters.agent))
    if filters.channel:
        tickets = tickets.filter(channel=filters.channel)
    if filters.priority:
        tickets = tickets.filter(priority=filters.priority)
    return tickets.order_by()


def _group_key(group_by: str, family: str, instant_field: str, tz: ZoneInfo):
    if group_by in TIME_GROUPS:
        return Trunc(instant_field, group_by, output_field=DateField(), tzinfo=tz)
    return F(_dimension_field(group_by, family))


def _period_start(day: date, group_by: str) -> date:
    if group_by == "week":
        return day - timedelta(days=day.weekday())
    if group_by == "month":
        return day.replace(day=1)
    return day


def next_month(day: date) -> date:
    """The first day of the month after `day`'s."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _next_period(day: date, group_by: str) -> date:
    if group_by == "week":
        return day + timedelta(days=7)
    if group_by == "month":
        return next_month(day)
    return day + timedelta(days=1)


def _periods(start: date, end: date, group_by: str) -> list[date]:
    periods, current = [], _period_start(start, group_by)
    while current <= end:
        periods.append(current)
        current = _next_period(current, group_by)
    return periods


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 4)


def _summary(count: int, mean, median, p90) -> dict:
    return {"count": count, "mean": _hours(mean), "median": _hours(median), "p90": _hours(p90)}


def _percentiles(tickets: QuerySet[Ticket], key, names: Iterable[str]) -> dict:
    """{group key: {name: (median, p90)}} (and TOTAL) of duration columns, exact, in two queries at most.

    Aggregates skip NULL, so a column counts only the tickets that have a value in it.
    """
    columns = {name: f"metrics__{DURATIONS[name][1]}" for name in names}
    result: dict = defaultdict(dict)
    if connection.vendor == "postgresql":
        measures = {}
        for i, column in enumerate(columns.values()):
            measures.update(
                {f"median{i}": PercentileCont(column, 0.5), f"p90{i}": PercentileCont(column, 0.9)}
            )
        rows = list(tickets.annotate(key=key).values("key").annotate(**measures))
        rows.append({"key": TOTAL, **tickets.aggregate(**measures)})
        for row in rows:
            for i, name in enumerate(columns):
                result[row["key"]][name] = (row[f"median{i}"], row[f"p90{i}"])
        return result
    # SQLite has no percentile aggregate: fetch the columns once, interpolate in Python (reporting.stats).
    grouped: dict = defaultdict(lambda: {name: [] for name in columns})
    grouped[TOTAL] = {name: [] for name in columns}  # an empty range still has a total row
    for group, *values in tickets.annotate(key=key).values_list("key", *columns.values()):
        for name, value in zip(columns, values, strict=True):
            if value is not None:
                grouped[group][name].append(value)
                grouped[TOTAL][name].append(value)
    for group, lists in grouped.items():
        for name, values in lists.items():
            values.sort()
            result[group][name] = (stats.percentile_cont(values, 0.5), stats.percentile_cont(values, 0.9))
    return result


#: The grouping of the daily rollup: local day, team, agent, channel, priority (annotation names).
ROLLUP = "rollup"
ROLLUP_KEYS = ("k_day", "k_team", "k_agent", "k_channel", "k_priority")
#: Instants as (from, to) pairs: from inclusive (None: since ever), to exclusive.
Ranges = list[tuple[datetime | None, datetime]]


def _in_ranges(field: str, ranges: Ranges) -> Q:
    q = Q()
    for low, high in ranges:
        part = Q(**{f"{field}__lt": high})
        if low is not None:
            part &= Q(**{f"{field}__gte": low})
        q |= part
    return q


def _ticket_q(filters: MetricsFilters, scope: list[int] | None, family: str, prefix: str = "") -> Q:
    """The filters and the reader's team scope on a ticket (reached through `prefix` from a call or clock)."""
    q = Q()
    if scope is not None:
        q &= Q(**{f"{prefix}team_id__in": scope})
    if filters.team is not None:
        q &= Q(**{f"{prefix}team_id": filters.team})
    # Calls are filtered by the agent who answered them, not by the ticket (see _phone_rows).
    if filters.agent is not None and family != "phone":
        q &= _agent_q(prefix + _dimension_field("agent", family), filters.agent)
    if filters.channel:
        q &= Q(**{f"{prefix}channel": filters.channel})
    if filters.priority:
        q &= Q(**{f"{prefix}priority": filters.priority})
    return q


def _keys(grouping: str, family: str, instant, tz: ZoneInfo, prefix: str = "") -> dict:
    """The GROUP BY expressions: one `key` for a report's grouping, or the rollup's five."""
    if grouping == ROLLUP:
        day = Trunc(instant, "day", output_field=DateField(), tzinfo=tz)
        dimensions = {f"k_{dim}": F(prefix + _dimension_field(dim, family)) for dim in DIMENSION_GROUPS}
        return {"k_day": day, **dimensions}
    if grouping in TIME_GROUPS:
        return {"key": Trunc(instant, grouping, output_field=DateField(), tzinfo=tz)}
    return {"key": F(prefix + _dimension_field(grouping, family))}


def _row_key(row: dict, grouping: str):
    return tuple(row[name] for name in ROLLUP_KEYS) if grouping == ROLLUP else row["key"]


def _duration_aggregates(family: str) -> dict:
    aggregates = {}
    for name in _family_durations(family):
        column = DURATIONS[name][1]
        n, total = sums.duration_sums(column)
        aggregates[n], aggregates[total] = Count(f"metrics__{column}"), Sum(f"metrics__{column}")
    return aggregates


def _solved_aggregates() -> dict:
    """First-contact resolution: solved with exactly one public agent reply and never reopened. One- and
    two-touch: solved with one or two replies. A transfer: a second team or a second assignee.
    Repeat contact: the customer opened another ticket within HELPDESK_REPEAT_CONTACT_DAYS of the solve.
    """
    replies, reopens = "metrics__agent_public_replies", "metrics__reopens"
    repeat_window = timedelta(days=settings.HELPDESK_REPEAT_CONTACT_DAYS)
    came_back = Exists(
        Ticket.objects.filter(
            customer=OuterRef("customer"),
            created_at__gt=OuterRef("solved_at"),
            created_at__lte=OuterRef("solved_at") + repeat_window,
        )
    )
    return {
        "solved": Count("pk"),
        "fcr": Count("pk", filter=Q(**{replies: 1, reopens: 0})),
        "reopened": Count("pk", filter=Q(**{f"{reopens}__gt": 0})),
        "reopens": Sum(reopens),
        "replies": Sum(replies),
        "one_touch": Count("pk", filter=Q(**{replies: 1})),
        "two_touch": Count("pk", filter=Q(**{replies: 2})),
        "no_transfer": Count(
            "pk", filter=Q(metrics__team_stations__lte=1, metrics__assignee_stations__lte=1)
        ),
        "team_stations": Sum("metrics__team_stations"),
        "assignee_stations": Sum("metrics__assignee_stations"),
        "repeat": Count("pk", filter=came_back),
    }


def _phone_aggregates() -> dict:
    """Inbound calls; sums (not means) so totals add up exactly. Short abandons (within
    HELPDESK_PHONE_SHORT_ABANDON_SECONDS) are counted apart and left out of the offered calls that service
    level and abandonment rate divide by."""
    answered = Q(outcome=PhoneCall.Outcome.ANSWERED)
    abandoned = Q(outcome=PhoneCall.Outcome.ABANDONED)
    short = abandoned & Q(queue_wait_seconds__lte=settings.HELPDESK_PHONE_SHORT_ABANDON_SECONDS)
    called_again = Exists(
        PhoneCall.objects.filter(
            ticket=OuterRef("ticket"),
            direction=PhoneCall.Direction.INBOUND,
            started_at__gt=OuterRef("started_at"),
        )
    )
    resolved_on_the_call = (
        answered
        & Q(ticket__status__in=[Status.SOLVED, Status.CLOSED], ticket__metrics__reopens=0)
        & ~Q(called_again)
    )
    within = answered & Q(queue_wait_seconds__lte=settings.HELPDESK_PHONE_SERVICE_LEVEL_SECONDS)
    return {
        "phone_calls": Count("pk"),
        "phone_answered": Count("pk", filter=answered),
        "phone_abandoned": Count("pk", filter=abandoned),
        "phone_short": Count("pk", filter=short),
        "phone_within": Count("pk", filter=within),
        "phone_wait": Sum("queue_wait_seconds", filter=answered),
        "phone_handle": Sum(F("talk_seconds") + F("wrap_up_seconds"), filter=answered),
        "phone_fcr": Count("pk", filter=resolved_on_the_call),
    }


def _sla_aggregates() -> dict:
    return {
        f"sla_{metric}_{state}": Count("pk", filter=Q(metric=metric, state=state))
        for metric in sums.SLA_METRICS
        for state in (ClockState.ACHIEVED, ClockState.BREACHED)
    }


def _resolved_at():
    return Coalesce("solved_at", "closed_at")


def _resolved_in(ranges: Ranges) -> Q:
    # Coalesce(solved_at, closed_at) in range, written so that each side can use its index.
    return _in_ranges("solved_at", ranges) | (Q(solved_at__isnull=True) & _in_ranges("closed_at", ranges))


def _tickets_of(base: QuerySet[Ticket] | None, family: str, filters: MetricsFilters, scope) -> QuerySet:
    tickets = base if base is not None else Ticket.objects.all()
    return tickets.filter(_ticket_q(filters, scope, family)).order_by()


def _backlog_rows(base, filters, scope, ranges: Ranges, grouping: str, tz: ZoneInfo) -> list[tuple]:
    """(key, created, resolved) of the tickets created / resolved in `ranges`, by the backlog's grouping."""
    tickets = _tickets_of(base, "backlog", filters, scope)
    keys = {} if grouping is None else _keys(grouping, "backlog", "created_at", tz)
    created = tickets.filter(_in_ranges("created_at", ranges))
    resolved = tickets.filter(_resolved_in(ranges))
    if grouping is None:
        return [(TOTAL, created.count(), resolved.count())]
    rows: dict = defaultdict(lambda: [0, 0])
    for row in created.annotate(**keys).values(*keys).annotate(n=Count("pk")):
        rows[row["key"]][0] += row["n"]
    for row in resolved.annotate(**keys).values(*keys).annotate(n=Count("pk")):
        rows[row["key"]][1] += row["n"]
    return [(key, c, r) for key, (c, r) in rows.items()]


def family_querysets(
    *,
    base: QuerySet[Ticket] | None,
    filters: MetricsFilters,
    scope: list[int] | None,
    ranges: Ranges,
    grouping: str,
    tz: ZoneInfo,
) -> list[tuple[QuerySet, tuple[str, ...]]]:
    """One grouped aggregate per family over the instants in `ranges` (raw tables), with the sums it gives.

    Each row holds the grouping's key(s) (`key`, or the rollup's `ROLLUP_KEYS`) and the named sums.
    `base` restricts the tickets by a queryset (the reader's visible tickets), `scope` by team ids.
    """
    created = _tickets_of(base, "created", filters, scope).filter(_in_ranges("created_at", ranges))
    resolved = _tickets_of(base, "backlog", filters, scope).filter(_resolved_in(ranges))
    responded = _tickets_of(base, "response", filters, scope).filter(_in_ranges("first_response_at", ranges))
    solved = _tickets_of(base, "solved", filters, scope).filter(_in_ranges("solved_at", ranges))
    solved_aggregates = {**_solved_aggregates(), **_duration_aggregates("solved")}
    calls = PhoneCall.objects.filter(
        _in_ranges("started_at", ranges),
        _ticket_q(filters, scope, "phone", prefix="ticket__"),
        direction=PhoneCall.Direction.INBOUND,
    ).order_by()
    if base is not None:
        calls = calls.filter(ticket__in=base.order_by().values("pk"))
    # Grouped and filtered by the agent who answered the call (abandoned calls have none: "(unassigned)").
    if filters.agent is not None:
        calls = calls.filter(_agent_q("agent", filters.agent))
    # SLA: clocks that ended achieved or breached, placed by their outcome instant.
    clocks = (
        SlaClock.objects.filter(
            _ticket_q(filters, scope, "sla", prefix="ticket__"),
            state__in=[ClockState.ACHIEVED, ClockState.BREACHED],
        )
        .annotate(outcome_at=Coalesce("breached_at", "stopped_at"))
        .filter(_in_ranges("outcome_at", ranges))
        .order_by()
    )
    if base is not None:
        clocks = clocks.filter(ticket__in=base.order_by().values("pk"))
    families = [
        (created, _keys(grouping, "created", "created_at", tz), {"created": Count("pk")}),
        (resolved, _keys(grouping, "backlog", _resolved_at(), tz), {"resolved": Count("pk")}),
        (responded, _keys(grouping, "response", "first_response_at", tz), _duration_aggregates("response")),
        (solved, _keys(grouping, "solved", "solved_at", tz), solved_aggregates),
        (calls, _keys(grouping, "phone", "started_at", tz), _phone_aggregates()),
        (clocks, _keys(grouping, "sla", "outcome_at", tz, prefix="ticket__"), _sla_aggregates()),
    ]
    if grouping == ROLLUP:
        families += _survey_families(ranges, tz)
    return [
        (queryset.annotate(**keys).values(*keys).annotate(**aggregates), tuple(aggregates))
        for queryset, keys, aggregates in families
    ]


def _survey_families(ranges: Ranges, tz: ZoneInfo) -> list[tuple[QuerySet, dict, dict]]:
    """The rollup's survey sums (`sums.SURVEY`): scored answers by first answer, invitations by sending,
    each in the group of the invitation's snapshot, as `surveys.selectors` groups them."""

    def keys(instant: str, prefix: str) -> dict:
        day = Trunc(instant, "day", output_field=DateField(), tzinfo=tz)
        dimensions = {f"k_{dim}": F(prefix + dim) for dim in DIMENSION_GROUPS}
        return {"k_day": day, **dimensions}

    answers = SurveyResponse.objects.filter(_in_ranges("created_at", ranges), score__isnull=False).order_by()
    scores = {
        sums.survey_score(kind, score): Count("pk", filter=Q(kind=kind, score=score))
        for kind, (low, high) in sums.SURVEY_SCALES.items()
        for score in range(low, high + 1)
    }
    invitations = SurveyInvitation.objects.filter(_in_ranges("sent_at", ranges)).order_by()
    sent = {
        "survey_sent": Count("pk"),
        "survey_responded": Count("pk", filter=Q(responded_at__isnull=False)),
    }
    return [(answers, keys("created_at", "invitation__"), scores), (invitations, keys("sent_at", ""), sent)]


def family_sums(*, ranges: Ranges, grouping: str, **kwargs) -> dict:
    """{group key: {sum name: value}} of every family over the instants in `ranges` (raw tables)."""
    result: dict = defaultdict(lambda: dict.fromkeys(sums.SUM_COLUMNS, 0))
    if not ranges:
        return result
    for queryset, names in family_querysets(ranges=ranges, grouping=grouping, **kwargs):
        for row in queryset:
            group = result[_row_key(row, grouping)]
            for name in names:
                group[name] += row[name] or 0
    return result


def value_querysets(
    *, filters: MetricsFilters, scope, ranges: Ranges, grouping: str, tz: ZoneInfo
) -> list[tuple[QuerySet, list[int]]]:
    """Per family, the rows (grouping key(s), then duration values `c0`, `c1`, …) and the index of each
    value's column in `sums.DURATION_COLUMNS`."""
    result = []
    for family, instant in (("response", "first_response_at"), ("solved", "solved_at")):
        columns = [DURATIONS[name][1] for name in _family_durations(family)]
        tickets = _tickets_of(None, family, filters, scope).filter(_in_ranges(instant, ranges))
        keys = _keys(grouping, family, instant, tz)
        values = {f"c{i}": F(f"metrics__{column}") for i, column in enumerate(columns)}
        queryset = tickets.annotate(**keys, **values).values_list(*keys, *values)
        result.append((queryset, [sums.DURATION_COLUMNS.index(column) for column in columns]))
    return result


def family_values(*, filters: MetricsFilters, scope, ranges: Ranges, grouping: str, tz: ZoneInfo) -> dict:
    """{(group key, column index): {bucket: count}}: the duration histograms over `ranges` (raw tables)."""
    histograms: dict = defaultdict(lambda: defaultdict(int))
    if not ranges:
        return histograms
    querysets = value_querysets(filters=filters, scope=scope, ranges=ranges, grouping=grouping, tz=tz)
    width = len(ROLLUP_KEYS) if grouping == ROLLUP else 1
    for queryset, indexes in querysets:
        for row in queryset:
            key = row[:width] if grouping == ROLLUP else row[0]
            for index, value in zip(indexes, row[width:], strict=True):
                if value is not None:
                    histograms[key, index][histogram.bucket_of(value)] += 1
    return histograms


def _merge(into: dict, rows: dict) -> None:
    for key, values in rows.items():
        group = into[key]
        for name, value in values.items():
            group[name] += value


def _derive(group: dict, s: dict) -> None:
    """Fill a group's measures from its sums."""
    n = s["solved"]
    group["tickets_created"] = s["created"]
    group["tickets_solved"] = n
    group["first_contact_resolution_rate"] = _rate(s["fcr"], n)
    group["reopen_rate"] = _rate(s["reopened"], n)
    group["reopens"] = s["reopens"]
    group["replies_per_ticket"] = _mean(s["replies"], n)
    group["one_touch_rate"] = _rate(s["one_touch"], n)
    group["two_touch_rate"] = _rate(s["two_touch"], n)
    group["solved_without_transfer_rate"] = _rate(s["no_transfer"], n)
    group["team_stations_per_ticket"] = _mean(s["team_stations"], n)
    group["assignee_stations_per_ticket"] = _mean(s["assignee_stations"], n)
    group["repeat_contacts"] = s["repeat"]
    group["repeat_contact_rate"] = _rate(s["repeat"], n)
    for name, (_, column) in DURATIONS.items():
        count, total = (s[sum_name] for sum_name in sums.duration_sums(column))
        group[name] = _summary(count, total / count if count else None, None, None)
    calls, answered, short = s["phone_calls"], s["phone_answered"], s["phone_short"]
    offered = calls - short
    group["phone_calls"], group["phone_calls_answered"] = calls, answered
    group["phone_calls_abandoned"], group["phone_short_abandons"] = s["phone_abandoned"], short
    group["phone_answered_within_threshold"] = s["phone_within"]
    group["phone_abandonment_rate"] = _rate(s["phone_abandoned"] - short, offered)
    group["phone_service_level"] = _rate(s["phone_within"], offered)
    group["phone_first_call_resolution_rate"] = _rate(s["phone_fcr"], answered)
    if answered:
        group["phone_average_speed_of_answer_seconds"] = round(s["phone_wait"] / answered, 1)
        group["phone_average_handle_time_seconds"] = round(s["phone_handle"] / answered, 1)
    achieved_all = breached_all = 0
    for metric in SLA_METRICS:
        achieved, breached = s[f"sla_{metric}_achieved"], s[f"sla_{metric}_breached"]
        group["sla"][metric] = {
            "achieved": achieved,
            "breached": breached,
            "compliance_rate": _rate(achieved, achieved + breached),
        }
        achieved_all, breached_all = achieved_all + achieved, breached_all + breached
    group["sla_compliance_rate"] = _rate(achieved_all, achieved_all + breached_all)


def _has_activity(s: dict) -> bool:
    return any(value for name, value in s.items() if name != "resolved")


def _percentile_pair(counts: dict[int, int]) -> tuple[float | None, float | None]:
    pairs = list(counts.items())
    return histogram.percentile_cont(pairs, 0.5), histogram.percentile_cont(pairs, 0.9)


def _empty_measures() -> dict:
    return {
        "tickets_created": 0,
        "tickets_solved": 0,
        "backlog": 0,
        **{name: _summary(0, None, None, None) for name in DURATIONS},
        **dict.fromkeys(FLAT_MEASURES),
        "reopens": 0,
        "repeat_contacts": 0,
        "sla": {metric: {"achieved": 0, "breached": 0, "compliance_rate": None} for metric in SLA_METRICS},
        "csat_responses": 0,
        "nps_responses": 0,
        "ces_responses": 0,
        "surveys_sent": 0,
        "surveys_responded": 0,
        **dict.fromkeys(PHONE_COUNTS, 0),
    }


def _labels(group_by: str, keys: Iterable) -> dict:
    keys = [key for key in keys if key not in (None, TOTAL)]
    if group_by == "team":
        return dict(Team.objects.filter(pk__in=keys).values_list("pk", "name"))
    if group_by == "agent":
        users = get_user_model().objects.filter(pk__in=keys)
        return {user.pk: user.get_full_name() or user.get_username() for user in users}
    if group_by == "channel":
        return dict(Channel.choices)
    if group_by == "priority":
        return dict(Priority.choices)
    return {key: key.isoformat() for key in keys}


def _sort_key(group_by: str, key, label: str):
    if key is None:
        return (1, "")
    if group_by in TIME_GROUPS:
        return (0, key.isoformat())
    if group_by == "priority":
        return (0, PRIORITY_RANK.get(key, 0))
    if group_by == "channel":
        return (0, Channel.values.index(key) if key in Channel.values else 0)
    return (0, label.lower())


def date_range_error(start: date, end: date) -> str | None:
    """Why a requested date range cannot be reported (API, workspace and admin say the same), or None."""
    if not (EARLIEST_DATE <= start <= LATEST_DATE and EARLIEST_DATE <= end <= LATEST_DATE):
        return f"Dates must lie between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}."
    if end < start:
        return "The end date must not be before the start date."
    if (end - start).days >= MAX_RANGE_DAYS:
        return f"The range may span at most {MAX_RANGE_DAYS} days; ask for a shorter one."
    return None


def range_bounds(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants of a date range: from `start` 00:00 to the midnight after `end`, local time."""
    return datetime.combine(start, time.min, tzinfo=tz), datetime.combine(
        end + timedelta(days=1), time.min, tzinfo=tz
    )


#: `ticket_metrics(scope_teams=RAW)`: the tickets are an arbitrary queryset; read the raw tables only.
RAW = object()


def ticket_metrics(
    *,
    tickets: QuerySet[Ticket],
    start: date,
    end: date,
    group_by: str = "day",
    filters: MetricsFilters | None = None,
    tz: ZoneInfo | None = None,
    scope_teams: list[int] | object | None = RAW,
) -> dict:
    """Metrics of `tickets` (already scoped to what the reader may see) for the dates start..end.

    `scope_teams` names that scope as team ids (None: every ticket); given, and with `tz` the
    installation's time zone, whole days before today are read from the daily rollup (`rollup_days`) and
    only the other days from the raw tables.

    Returns {"start", "end", "group_by", "time_zone", "groups": [{"key", "label", measures…}],
    "totals": {measures…}}; see the module docstring for what each measure means.
    """
    if group_by not in GROUP_BY_CHOICES:
        raise ValueError(f"Unknown group_by {group_by!r}; expected one of {', '.join(GROUP_BY_CHOICES)}.")
    if end < start:
        raise ValueError("The end date is before the start date.")
    filters = filters or MetricsFilters()
    tz = tz or ZoneInfo(settings.TIME_ZONE)
    start_at, end_at = range_bounds(start, end, tz)
    use_rollup = scope_teams is not RAW and str(tz) == settings.TIME_ZONE
    clean = rollup_days(end=end) if use_rollup else []
    if use_rollup:
        base, scope = None, scope_teams
    else:
        base, scope = tickets, None
    in_range = [day for day in clean if day >= start]
    raw_ranges = _instants(_complement(in_range, start, end), tz)

    sums_by_group: dict = defaultdict(lambda: dict.fromkeys(sums.SUM_COLUMNS, 0))
    groups: dict = defaultdict(_empty_measures)
    with _probing_joins(use_rollup and bool(in_range)):
        _merge(
            sums_by_group,
            family_sums(base=base, filters=filters, scope=scope, ranges=raw_ranges, grouping=group_by, tz=tz),
        )
        if in_range:
            _merge(sums_by_group, _rollup_sums(in_range, filters, scope, group_by))
        totals = groups[TOTAL]
        total_sums = dict.fromkeys(sums.SUM_COLUMNS, 0)
        for key, group_sums in sums_by_group.items():
            for name, value in group_sums.items():
                total_sums[name] += value
            if group_by in TIME_GROUPS or _has_activity(group_sums):
                _derive(groups[key], group_sums)
        _derive(totals, total_sums)
        _add_percentiles(
            groups,
            base=base,
            filters=filters,
            scope=scope,
            group_by=group_by,
            tz=tz,
            clean=in_range,
            raw_ranges=raw_ranges,
            whole_range=(start_at, end_at),
        )
    _add_backlog(
        groups,
        base=base,
        filters=filters,
        scope=scope,
        group_by=group_by,
        start=start,
        end=end,
        clean=clean,
        sums_by_group=sums_by_group,
        tz=tz,
    )
    # A reader who sees every ticket (the rollup path's scope None) needs no tickets filter on surveys, and
    # reads them from the rollup for the clean days the range starts with. A scope follows the tickets'
    # current teams, which the rollup's survey sums (by the invitations' teams at solve time) cannot.
    survey_tickets = None if use_rollup and scope is None else tickets
    rolled_surveys = []
    if survey_tickets is None and filters.agent != UNASSIGNED_FILTER:
        for offset, day in enumerate(in_range):
            if day != start + timedelta(days=offset):
                break
            rolled_surveys.append(day)
    _add_surveys(
        groups,
        tickets=survey_tickets,
        group_by=group_by,
        filters=filters,
        start_at=start_at,
        end_at=end_at,
        tz=tz,
        rolled=rolled_surveys,
    )

    if group_by in TIME_GROUPS:
        keys = _periods(start, end, group_by)
    else:
        keys = [key for key in groups if key != TOTAL]
    labels = _labels(group_by, keys)
    rows = []
    for key in keys:
        label = labels.get(key, str(key)) if key is not None else _empty_label(group_by)
        rows.append((_sort_key(group_by, key, label), key, label))
    rows.sort(key=lambda item: item[0])
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "group_by": group_by,
        "time_zone": str(tz),
        "groups": [
            {
                "key": None if key is None else (key.isoformat() if isinstance(key, date) else str(key)),
                "label": label,
                **groups[key],
            }
            for _, key, label in rows
        ],
        "totals": totals,
    }


@contextmanager
def _probing_joins(active: bool) -> Iterator[None]:
    """PostgreSQL, when the raw tables are read for a few recent days only (the rest from the rollup):
    join the per-ticket metrics by probing their primary key. The planner misjudges those few thousand
    tickets and hashes (or merge-joins) the whole metrics table instead (a million rows for 25,000 tickets
    at a million tickets). Switched back on afterwards, so a caller's transaction keeps its plans."""
    if not active or connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
        yield
        cursor.execute("SET LOCAL enable_hashjoin = DEFAULT; SET LOCAL enable_mergejoin = DEFAULT")


def recent_days() -> int:
    """How many days before today may change without a mark (an SLA breach the sweep records late, placed
    at its due instant): the rollup recomputes them every `rollup.RECOMPUTE_RECENT` whatever the marks."""
    return settings.HELPDESK_REPEAT_CONTACT_DAYS + 1


def _today(now: datetime | None = None) -> date:
    return timezone.localdate(now or timezone.now(), timezone=ZoneInfo(settings.TIME_ZONE))


def rolled_before(*, now: datetime | None = None) -> date:
    """Today: the first local day that is always read raw; the rollup holds the days before it."""
    return _today(now)


def settled_before(*, now: datetime | None = None) -> date:
    """The first of the recent days (`recent_days`); the days before it change only with a mark."""
    return _today(now) - timedelta(days=recent_days())


def rollup_days(*, end: date) -> list[date]:
    """The days up to `end` that the rollup holds correctly: computed, not marked since, and before today."""
    last = min(end, rolled_before() - timedelta(days=1))
    return list(
        MetricsRollupDay.objects.filter(day__lte=last, computed_at__isnull=False, dirty_at__isnull=True)
        .order_by("day")
        .values_list("day", flat=True)
    )


def day_runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days (first, last)."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _complement(clean: list[date], start: date | None, end: date) -> list[tuple[date | None, date]]:
    """The runs of days from `start` (None: since ever) to `end` that are not in the sorted `clean`."""
    gaps, current = [], start
    for first, last in day_runs([day for day in clean if (start is None or day >= start) and day <= end]):
        if current is None or current < first:
            gaps.append((current, first - timedelta(days=1)))
        current = last + timedelta(days=1)
    if current is None or current <= end:
        gaps.append((current, end))
    return gaps


def _instants(runs: list[tuple[date | None, date]], tz: ZoneInfo) -> Ranges:
    return [
        (None if first is None else range_bounds(first, first, tz)[0], range_bounds(last, last, tz)[1])
        for first, last in runs
    ]


def _days_q(days: list[date]) -> Q:
    q = Q()
    for first, last in day_runs(days):
        q |= Q(day__gte=first, day__lte=last)
    return q


def _grain(filters: MetricsFilters, scope: list[int] | None, group_by: str) -> int:
    """The coarsest rollup grain that answers a report (`tickets.reporting.models.Grain`)."""
    if filters.channel or filters.priority or group_by in ("channel", "priority"):
        return Grain.FULL
    if filters.agent is not None or group_by == "agent":
        return Grain.TEAM_AGENT
    if scope is None and filters.team is None and group_by in TIME_GROUPS:
        return Grain.DAY
    return Grain.TEAM


def _rollup_q(filters: MetricsFilters, scope: list[int] | None, group_by: str) -> Q:
    q = Q(grain=_grain(filters, scope, group_by))
    if scope is not None:
        q &= Q(team_id__in=scope)
    if filters.team is not None:
        q &= Q(team_id=filters.team)
    if filters.agent is not None:
        q &= Q(agent_id__isnull=True) if filters.agent == UNASSIGNED_FILTER else Q(agent_id=filters.agent)
    if filters.channel:
        q &= Q(channel=filters.channel)
    if filters.priority:
        q &= Q(priority=filters.priority)
    return q


def _rollup_key(group_by: str):
    if group_by == "day":
        return F("day")
    if group_by in TIME_GROUPS:
        return Trunc("day", group_by, output_field=DateField())
    return F({"team": "team_id", "agent": "agent_id"}.get(group_by, group_by))


def _rollup_sums(
    days: list[date], filters: MetricsFilters, scope, group_by: str, columns=sums.FAMILY_COLUMNS
) -> dict:
    """{group key: {column: its sum over the days}} of the rollup rows the filters and scope select."""
    rows = (
        MetricsRollup.objects.filter(_days_q(days), _rollup_q(filters, scope, group_by))
        .annotate(key=_rollup_key(group_by))
        .values("key")
        .annotate(**{name: Sum(name) for name in columns})
        .order_by()
    )
    return {row.pop("key"): {name: value or 0 for name, value in row.items()} for row in rows}


def _add_percentiles(groups, *, base, filters, scope, group_by, tz, clean, raw_ranges, whole_range) -> None:
    """Median and p90 of every duration: exact from the raw tables when no day of the range is in the
    rollup; otherwise from the rollup's histograms plus the raw days' values put into the same buckets
    (`tickets.reporting.histogram` gives the error bound)."""
    if not clean:
        for family, instant in (("response", "first_response_at"), ("solved", "solved_at")):
            tickets = _tickets_of(base, family, filters, scope).filter(_in_ranges(instant, [whole_range]))
            key = _keys(group_by, family, instant, tz)["key"]
            for group, pairs in _percentiles(tickets, key, _family_durations(family)).items():
                if group != TOTAL and group not in groups:
                    continue
                for name, (median, p90) in pairs.items():
                    groups[group][name].update(median=_hours(median), p90=_hours(p90))
        return
    grain = _grain(filters, scope, group_by)
    rows = MetricsHistogram.objects.filter(_rollup_q(filters, scope, group_by))
    raw = {"filters": filters, "scope": scope, "ranges": raw_ranges, "grouping": group_by, "tz": tz}
    raw_values = value_querysets(**raw) if raw_ranges and connection.vendor == "postgresql" else []
    if connection.vendor == "postgresql" and _one_histogram_per_period(filters, scope, group_by, grain):
        # Each period is one histogram (a day's, or a whole month's): its median and p90 buckets are read
        # from its marked rows; the total adds up the coarsest rows of the same days.
        if group_by == "day":
            single, keyed, total_only = {Span.DAY: clean}, {}, _decompose(clean, grain, None)
        else:
            keyed = _decompose(clean, grain, group_by)
            single = total_only = {Span.MONTH: keyed.pop(Span.MONTH)}
        rolled = [(_summed(rows, total_only, group_by), True), (_summed(rows, keyed, group_by), False)]
        single_q = _spans_q(single)
        single_rows = None
        if single_q is not None:
            single_rows = rows.filter(single_q, ranked=True).annotate(key=_rollup_key(group_by))
            single_rows = single_rows.values_list(
                "key", "column", "bucket", "count", "below", "total"
            ).order_by()
        _percentiles_in_database(
            groups, group_by, [part for part in rolled if part[0] is not None], raw_values, single_rows
        )
        return
    histograms = _summed(rows, _decompose(clean, grain, group_by), group_by)
    if connection.vendor == "postgresql":
        _percentiles_in_database(groups, group_by, [(histograms, False)], raw_values, None)
        return
    counts = family_values(**raw)
    for key, column, bucket, n in histograms:
        counts[key, column][bucket] += n
    totals: dict = defaultdict(lambda: defaultdict(int))
    for (key, column), buckets in counts.items():
        for bucket, n in buckets.items():
            totals[column][bucket] += n
        if key in groups:
            _set_percentiles(groups[key], column, _percentile_pair(buckets))
    for column, buckets in totals.items():
        _set_percentiles(groups[TOTAL], column, _percentile_pair(buckets))


def _summed(rows: QuerySet, spans: dict[int, list[date]], group_by: str) -> QuerySet | None:
    """(key, column, bucket, count) of the histogram rows of `spans` added up per key (None: no rows)."""
    q = _spans_q(spans)
    if q is None:
        return None
    rows = rows.filter(q).annotate(key=_rollup_key(group_by))
    return rows.values_list("key", "column", "bucket").annotate(n=Sum("count")).order_by()


def _spans_q(spans: dict[int, list[date]]) -> Q | None:
    """The rows of the month and week rows and day rows named by their first days (None: none)."""
    parts = [Q(span=span, day__in=firsts) for span, firsts in spans.items() if firsts and span != Span.DAY]
    if spans.get(Span.DAY):
        parts.append(Q(span=Span.DAY) & _days_q(spans[Span.DAY]))
    q = None
    for part in parts:
        q = part if q is None else q | part
    return q


def _one_histogram_per_period(filters: MetricsFilters, scope, group_by: str, grain: int) -> bool:
    """Whether a report by day or month reads one histogram per period and column: the day grain, or the
    day-and-team grain for a single team."""
    if group_by not in ("day", "month"):
        return False
    one_team = filters.team is not None or (scope is not None and len(scope) == 1)
    return grain == Grain.DAY or (grain == Grain.TEAM and one_team)


def _decompose(clean: list[date], grain: int, group_by: str | None) -> dict[int, list[date]]:
    """The sorted clean days as whole months, whole weeks (Monday to Sunday) and single days, coarsest
    first, as a report grouped by `group_by` (None: the total only) can read them: a month or week row
    only where all its days are clean, never across the report's groups. Only the coarser grains keep
    month and week rows."""
    if grain == Grain.FULL:
        return {Span.DAY: clean}
    present = set(clean)
    months = []
    if group_by not in ("day", "week"):
        for day in clean:
            whole = all(day + timedelta(days=n) in present for n in range((next_month(day) - day).days))
            if day.day == 1 and whole:
                months.append(day)
    in_months = set(months)
    rest = [day for day in clean if day.replace(day=1) not in in_months]
    weeks = []
    if group_by != "day":
        left = set(rest)
        for day in rest:
            sunday = day + timedelta(days=6)
            in_one_month = group_by != "month" or sunday.month == day.month
            if day.weekday() == 0 and in_one_month and all(day + timedelta(days=n) in left for n in range(7)):
                weeks.append(day)
    in_weeks = {week + timedelta(days=n) for week in weeks for n in range(7)}
    return {Span.MONTH: months, Span.WEEK: weeks, Span.DAY: [day for day in rest if day not in in_weeks]}


PERCENTILE_WORK_MEM = "64MB"


def _percentiles_in_database(
    groups: dict, group_by: str, rolled: list[tuple[QuerySet, bool]], raw: list, single: QuerySet | None
) -> None:
    """PostgreSQL: merge the rollup's bucket counts with the raw days' values (bucketed by `width_bucket`
    on the same edges) and return only the buckets that hold the median's and p90's ranks, so a year by
    day moves a few thousand rows instead of every bucket.

    `rolled`: (key, column, bucket, count) rows, each flagged True when it counts for the total only (its
    groups come from `single`). `single`: (key, column, bucket, count, below, total) rows of groups that
    are one cumulated histogram each; their rank buckets need no adding up."""
    parts, params = [], []
    for queryset, total_only in rolled:
        sql, query_params = queryset.query.sql_with_params()
        parts.append(
            f'SELECT key, {total_only} AS for_total, "column" AS col, bucket, n FROM ({sql}) AS rolled'
        )
        params.extend(query_params)
    for queryset, indexes in raw:
        sql, query_params = queryset.query.sql_with_params()
        pairs = ", ".join(f"({index}, family.c{i})" for i, index in enumerate(indexes))
        parts.append(
            "SELECT family.key, false, value.col, width_bucket(value.v, %s::bigint[]) - 1, 1 "
            f"FROM ({sql}) AS family CROSS JOIN LATERAL (VALUES {pairs}) AS value (col, v) "
            "WHERE value.v IS NOT NULL"
        )
        params.extend([list(histogram.EDGES), *query_params])
    union = " UNION ALL ".join(parts)
    ranks = []
    for fraction in (0.5, 0.9):
        lower = f"FLOOR({fraction} * (total - 1))::bigint"
        for rank in (lower, f"LEAST({lower} + 1, total - 1)"):
            ranks.append(f"(upto - n <= {rank} AND {rank} < upto)")
    # One pass for the groups and the total: GROUPING SETS, told apart by `whole` (the total's key is NULL,
    # as is the "(unassigned)" group's). Rows for the total only form groups of their own, left unread.
    partition = "whole, for_total, key, col"
    statement = (
        "WITH merged AS (SELECT key, for_total, GROUPING(key) AS whole, col, bucket, SUM(n)::bigint AS n "
        f"FROM ({union}) AS counts GROUP BY GROUPING SETS ((for_total, key, col, bucket), (col, bucket))), "
        "cumulated AS (SELECT key, for_total, whole, col, bucket, n, "
        f"(SUM(n) OVER (PARTITION BY {partition} ORDER BY bucket))::bigint AS upto, "
        f"(SUM(n) OVER (PARTITION BY {partition}))::bigint AS total FROM merged) "
        "SELECT key, whole, col, bucket, upto - n, upto, total FROM cumulated "
        f"WHERE (whole = 1 OR NOT for_total) AND ({' OR '.join(ranks)})"
    )
    if single is not None:
        sql, query_params = single.query.sql_with_params()
        statement += (
            " UNION ALL SELECT key, 0, col, bucket, upto - n, upto, total FROM (SELECT key, "
            '"column" AS col, bucket, count AS n, below + count AS upto, '
            f"total FROM ({sql}) AS one) AS single WHERE {' OR '.join(ranks)}"
        )
        params.extend(query_params)
    segments: dict = defaultdict(list)
    totals: dict = {}
    with transaction.atomic(), connection.cursor() as cursor:
        # The window's sort of a year of buckets fits in memory this way instead of spilling to disk.
        cursor.execute(f"SET LOCAL work_mem = '{PERCENTILE_WORK_MEM}'")
        cursor.execute(statement, params)
        for group, whole, column, bucket, before, through, total in cursor.fetchall():
            if whole:
                group = TOTAL
            elif group_by in TIME_GROUPS and isinstance(group, datetime):
                group = group.date()
            segments[group, column].append((bucket, int(before), int(through)))
            totals[group, column] = int(total)
    for (group, column), found in segments.items():
        if group in groups:
            pair = tuple(
                histogram.percentile_from_segments(found, totals[group, column], fraction)
                for fraction in (0.5, 0.9)
            )
            _set_percentiles(groups[group], column, pair)


def _set_percentiles(group: dict, column: int, pair: tuple[float | None, float | None]) -> None:
    median, p90 = pair
    group[COLUMN_NAMES[sums.DURATION_COLUMNS[column]]].update(median=_hours(median), p90=_hours(p90))


COLUMN_NAMES = {column: name for name, (_, column) in DURATIONS.items()}


def _add_backlog(groups, *, base, filters, scope, group_by, start, end, clean, sums_by_group, tz) -> None:
    """Backlog: created minus resolved (`Coalesce(solved_at, closed_at)`) before the instant, from the
    rollup's days and the raw tables for the others."""
    if group_by not in TIME_GROUPS:
        history = [day for day in clean if day <= end]
        rows = _backlog_rows(
            base, filters, scope, _instants(_complement(history, None, end), tz), group_by, tz
        )
        if history:
            rolled = (
                MetricsRollup.objects.filter(_days_q(history), _rollup_q(filters, scope, group_by))
                .annotate(key=_rollup_key(group_by))
                .values("key")
                .annotate(created_n=Sum("created"), resolved_n=Sum("resolved"))
                .order_by()
            )
            rows += [(row["key"], row["created_n"], row["resolved_n"]) for row in rolled]
        for key, created, resolved in rows:
            if created - resolved:
                groups[key]["backlog"] += created - resolved
                groups[TOTAL]["backlog"] += created - resolved
        return
    history = [day for day in clean if day < start]
    before = start - timedelta(days=1)
    ((_, running, resolved),) = _backlog_rows(
        base, filters, scope, _instants(_complement(history, None, before), tz), None, tz
    )
    running -= resolved
    if history:
        rolled = MetricsRollup.objects.filter(
            _days_q(history), _rollup_q(filters, scope, group_by)
        ).aggregate(created_n=Sum("created"), resolved_n=Sum("resolved"))
        running += (rolled["created_n"] or 0) - (rolled["resolved_n"] or 0)
    for period in _periods(start, end, group_by):
        period_sums = sums_by_group.get(period)
        if period_sums:
            running += period_sums["created"] - period_sums["resolved"]
        groups[period]["backlog"] = running
    groups[TOTAL]["backlog"] = running


def _family_durations(family: str) -> list[str]:
    return [name for name, (of_family, _) in DURATIONS.items() if of_family == family]


def _empty_label(group_by: str) -> str:
    return UNASSIGNED if group_by in ("agent", "team") else "(none)"


def _fill_scores(group: dict, kind: str, counts: dict[int, int]) -> None:
    responses = sum(counts.values())
    group[f"{kind}_responses"] = responses
    if not responses:
        return
    group[kind] = round(HEADLINE[kind](counts), 2)
    if kind == scoring.CES:
        group["ces_percent_easy"] = round(scoring.ces_percent_easy(counts), 2)


def _add_surveys(
    groups: dict, *, tickets, group_by, filters, start_at, end_at, tz, rolled: list[date]
) -> None:
    """Score counts per group (one query per kind) and the response rate (one query). `tickets` None:
    every ticket's surveys (no semi-join with the tickets table). `rolled`: the first days of the range,
    whose surveys are read from the rollup (one query; an admin's report), the rest from the surveys."""
    counts: dict = {kind: defaultdict(lambda: defaultdict(int)) for kind in SURVEY_KINDS}
    rates: dict = defaultdict(lambda: [0, 0])
    if rolled:
        for key, row in _rollup_sums(rolled, filters, None, group_by, columns=sums.SURVEY).items():
            for kind, (low, high) in sums.SURVEY_SCALES.items():
                for score in range(low, high + 1):
                    if row[sums.survey_score(kind, score)]:
                        counts[kind][key][score] += row[sums.survey_score(kind, score)]
            rates[key][0] += row["survey_sent"]
            rates[key][1] += row["survey_responded"]
        start_at = range_bounds(rolled[-1] + timedelta(days=1), rolled[-1] + timedelta(days=1), tz)[0]
    if start_at < end_at:
        if filters.agent == UNASSIGNED_FILTER:
            # The invitation's agent is who solved the ticket, as metrics.solved_by records it.
            tickets = Ticket.objects.all() if tickets is None else tickets
            tickets = tickets.filter(metrics__solved_by__isnull=True)
        survey_filters = SurveyFilters(
            start=start_at,
            end=end_at,
            team_id=filters.team,
            agent_id=None if filters.agent == UNASSIGNED_FILTER else filters.agent,
            channel=filters.channel or None,
            priority=filters.priority or None,
            tz=str(tz),
            tickets=tickets,
        )
        for kind in SURVEY_KINDS:
            for key, scores in survey_score_counts(
                kind=kind, group_by=group_by, filters=survey_filters
            ).items():
                for score, n in scores.items():
                    counts[kind][key][score] += n
        for row in survey_response_rate(group_by=group_by, filters=survey_filters):
            rates[row.group][0] += row.sent
            rates[row.group][1] += row.responded
    for kind in SURVEY_KINDS:
        total: dict[int, int] = defaultdict(int)
        for key, scores in counts[kind].items():
            _fill_scores(groups[key], kind, scores)
            for score, n in scores.items():
                total[score] += n
        _fill_scores(groups[TOTAL], kind, dict(total))
    sent = responded = 0
    for key, (key_sent, key_responded) in rates.items():
        if not key_sent:
            continue
        group = groups[key]
        group["surveys_sent"], group["surveys_responded"] = key_sent, key_responded
        group["survey_response_rate"] = _rate(key_responded, key_sent)
        sent, responded = sent + key_sent, responded + key_responded
    totals = groups[TOTAL]
    totals["surveys_sent"], totals["surveys_responded"] = sent, responded
    totals["survey_response_rate"] = _rate(responded, sent)


def sla_compliance_series(result: dict) -> dict[str, list[float | None]]:
    """Compliance in percent per group of a `ticket_metrics` result, for charts: all metrics together,
    first response and resolution (None where a group had no outcome)."""

    def percent(rate: float | None) -> float | None:
        return None if rate is None else round(rate * 100, 1)

    groups = result["groups"]
    return {
        "All metrics": [percent(g["sla_compliance_rate"]) for g in groups],
        "First response": [percent(g["sla"]["first_response"]["compliance_rate"]) for g in groups],
        "Resolution": [percent(g["sla"]["resolution"]["compliance_rate"]) for g in groups],
    }


def ticket_volume_by_channel(
    *, tickets: QuerySet[Ticket], start: date, end: date, group_by: str = "day", tz: ZoneInfo | None = None
) -> dict:
    """Tickets created per period and channel, in one query.

    Returns {"periods": [ISO dates], "channels": {channel: [count per period]}}.
    """
    if group_by not in TIME_GROUPS:
        raise ValueError(f"Volume is grouped by time; expected one of {', '.join(TIME_GROUPS)}.")
    tz = tz or ZoneInfo(settings.TIME_ZONE)
    start_at, end_at = range_bounds(start, end, tz)
    periods = _periods(start, end, group_by)
    index = {period: i for i, period in enumerate(periods)}
    channels: dict[str, list[int]] = {}
    rows = (
        tickets.order_by()
        .filter(created_at__gte=start_at, created_at__lt=end_at)
        .annotate(period=Trunc("created_at", group_by, output_field=DateField(), tzinfo=tz))
        .values("period", "channel")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        channels.setdefault(row["channel"], [0] * len(periods))[index[row["period"]]] = row["n"]
    ordered = {channel: channels[channel] for channel in Channel.values if channel in channels}
    return {"periods": [period.isoformat() for period in periods], "channels": ordered}
