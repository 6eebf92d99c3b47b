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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
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

from tickets.adapters.sla import ClockState, SlaClock, SlaMetric
from tickets.adapters.surveys import (
    HEADLINE,
    SurveyFilters,
    scoring,
    survey_response_rate,
    survey_score_counts,
)
from tickets.models import PRIORITY_RANK, Channel, PhoneCall, Priority, Status, Team, Ticket
from tickets.reporting import stats

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
#: Duration summaries: name -> (family, per-ticket column). The response family places a ticket by its
#: first reply, the solved family by its (last) solve.
DURATIONS = {
    "first_response_hours": ("response", "first_response_seconds"),
    "first_response_business_hours": ("response", "first_response_business_seconds"),
    "first_resolution_hours": ("solved", "first_resolution_seconds"),
    "first_resolution_business_hours": ("solved", "first_resolution_business_seconds"),
    "resolution_hours": ("solved", "resolution_seconds"),
    "resolution_business_hours": ("solved", "resolution_business_seconds"),
    "requester_wait_hours": ("solved", "requester_wait_seconds"),
    "requester_wait_business_hours": ("solved", "requester_wait_business_seconds"),
    "agent_work_hours": ("solved", "agent_work_seconds"),
    "agent_work_business_hours": ("solved", "agent_work_business_seconds"),
    "agent_wait_hours": ("solved", "agent_wait_seconds"),
    "agent_wait_business_hours": ("solved", "agent_wait_business_seconds"),
    "on_hold_hours": ("solved", "on_hold_seconds"),
    "on_hold_business_hours": ("solved", "on_hold_business_seconds"),
}
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


def _next_period(day: date, group_by: str) -> date:
    if group_by == "week":
        return day + timedelta(days=7)
    if group_by == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
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


def _durations(tickets: QuerySet[Ticket], key, names: Iterable[str]) -> dict:
    """{group key: {name: summary}} (and TOTAL) of several duration columns, in two queries at most.

    Aggregates skip NULL, so a column counts only the tickets that have a value in it.
    """
    columns = {name: f"metrics__{DURATIONS[name][1]}" for name in names}
    result: dict = defaultdict(dict)
    if connection.vendor == "postgresql":
        measures = {}
        for i, column in enumerate(columns.values()):
            measures.update(
                {
                    f"n{i}": Count(column),
                    f"mean{i}": Avg(column),
                    f"median{i}": PercentileCont(column, 0.5),
                    f"p90{i}": PercentileCont(column, 0.9),
                }
            )
        rows = list(tickets.annotate(key=key).values("key").annotate(**measures))
        rows.append({"key": TOTAL, **tickets.aggregate(**measures)})
        for row in rows:
            for i, name in enumerate(columns):
                result[row["key"]][name] = _summary(
                    row[f"n{i}"], row[f"mean{i}"], row[f"median{i}"], row[f"p90{i}"]
                )
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
            result[group][name] = _summary(
                len(values),
                stats.mean(values),
                stats.percentile_cont(values, 0.5),
                stats.percentile_cont(values, 0.9),
            )
    return result


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


def ticket_metrics(
    *,
    tickets: QuerySet[Ticket],
    start: date,
    end: date,
    group_by: str = "day",
    filters: MetricsFilters | None = None,
    tz: ZoneInfo | None = None,
) -> dict:
    """Metrics of `tickets` (already scoped to what the reader may see) for the dates start..end.

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

    def in_range(field: str) -> Q:
        return Q(**{f"{field}__gte": start_at, f"{field}__lt": end_at})

    groups: dict = defaultdict(_empty_measures)
    totals = groups[TOTAL]

    created = _family_queryset(tickets, "created", filters).filter(in_range("created_at"))
    for row in (
        created.annotate(key=_group_key(group_by, "created", "created_at", tz))
        .values("key")
        .annotate(n=Count("pk"))
    ):
        groups[row["key"]]["tickets_created"] = row["n"]
        totals["tickets_created"] += row["n"]

    responded = _family_queryset(tickets, "response", filters).filter(in_range("first_response_at"))
    response_key = _group_key(group_by, "response", "first_response_at", tz)
    for key, summaries in _durations(responded, response_key, _family_durations("response")).items():
        groups[key].update(summaries)

    solved = _family_queryset(tickets, "solved", filters).filter(in_range("solved_at"))
    solved_key = _group_key(group_by, "solved", "solved_at", tz)
    _add_solved_counts(groups, solved=solved, key=solved_key)
    for key, summaries in _durations(solved, solved_key, _family_durations("solved")).items():
        groups[key].update(summaries)

    _add_backlog(
        groups,
        tickets=_family_queryset(tickets, "backlog", filters),
        group_by=group_by,
        start=start,
        end=end,
        start_at=start_at,
        end_at=end_at,
        tz=tz,
    )

    _add_surveys(
        groups, tickets=tickets, group_by=group_by, filters=filters, start_at=start_at, end_at=end_at, tz=tz
    )
    _add_phone_calls(
        groups,
        tickets=_family_queryset(tickets, "phone", filters),
        agent=filters.agent,
        group_by=group_by,
        start_at=start_at,
        end_at=end_at,
        tz=tz,
    )
    _add_sla(
        groups,
        tickets=_family_queryset(tickets, "sla", filters),
        group_by=group_by,
        in_range=in_range("outcome_at"),
        tz=tz,
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


def _family_durations(family: str) -> list[str]:
    return [name for name, (of_family, _) in DURATIONS.items() if of_family == family]


def _empty_label(group_by: str) -> str:
    return UNASSIGNED if group_by in ("agent", "team") else "(none)"


def _add_solved_counts(groups: dict, *, solved: QuerySet[Ticket], key) -> None:
    """Counts over the solved tickets of each group, one grouped query; totals are the sums of the groups.

    First-contact resolution: solved with exactly one public agent reply and never reopened. One- and
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
    counts = {
        "n": Count("pk"),
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
    rows = list(solved.annotate(key=key).values("key").annotate(**counts))
    rows.append({"key": TOTAL, **{name: sum(row[name] or 0 for row in rows) for name in counts}})
    for row in rows:
        group, n = groups[row["key"]], row["n"]
        group["tickets_solved"] = n
        group["first_contact_resolution_rate"] = _rate(row["fcr"], n)
        group["reopen_rate"] = _rate(row["reopened"], n)
        group["reopens"] = row["reopens"] or 0
        group["replies_per_ticket"] = _mean(row["replies"], n)
        group["one_touch_rate"] = _rate(row["one_touch"], n)
        group["two_touch_rate"] = _rate(row["two_touch"], n)
        group["solved_without_transfer_rate"] = _rate(row["no_transfer"], n)
        group["team_stations_per_ticket"] = _mean(row["team_stations"], n)
        group["assignee_stations_per_ticket"] = _mean(row["assignee_stations"], n)
        group["repeat_contacts"] = row["repeat"]
        group["repeat_contact_rate"] = _rate(row["repeat"], n)


def _add_backlog(groups: dict, *, tickets, group_by, start, end, start_at, end_at, tz) -> None:
    resolved_at = Coalesce("solved_at", "closed_at")
    tickets = tickets.annotate(resolved_at=resolved_at)
    if group_by not in TIME_GROUPS:
        open_at_end = tickets.filter(
            Q(resolved_at__isnull=True) | Q(resolved_at__gte=end_at), created_at__lt=end_at
        )
        for row in (
            open_at_end.annotate(key=F(_dimension_field(group_by, "backlog")))
            .values("key")
            .annotate(n=Count("pk"))
        ):
            groups[row["key"]]["backlog"] = row["n"]
            groups[TOTAL]["backlog"] += row["n"]
        return
    # backlog(T) = tickets created before T - tickets resolved before T, accumulated period by period.
    before = tickets.aggregate(
        created=Count("pk", filter=Q(created_at__lt=start_at)),
        resolved=Count("pk", filter=Q(resolved_at__lt=start_at)),
    )
    running = before["created"] - before["resolved"]
    resolved_by_period = dict(
        tickets.filter(resolved_at__gte=start_at, resolved_at__lt=end_at)
        .annotate(key=Trunc("resolved_at", group_by, output_field=DateField(), tzinfo=tz))
        .values("key")
        .annotate(n=Count("pk"))
        .values_list("key", "n")
    )
    for period in _periods(start, end, group_by):
        running += groups[period]["tickets_created"] - resolved_by_period.get(period, 0)
        groups[period]["backlog"] = running
    groups[TOTAL]["backlog"] = running


def _fill_scores(group: dict, kind: str, counts: dict[int, int]) -> None:
    responses = sum(counts.values())
    group[f"{kind}_responses"] = responses
    if not responses:
        return
    group[kind] = round(HEADLINE[kind](counts), 2)
    if kind == scoring.CES:
        group["ces_percent_easy"] = round(scoring.ces_percent_easy(counts), 2)


def _add_surveys(groups: dict, *, tickets, group_by, filters, start_at, end_at, tz) -> None:
    """Score counts per group (one query per kind) and the response rate (one query)."""
    if filters.agent == UNASSIGNED_FILTER:
        # The invitation's agent is who solved the ticket, as metrics.solved_by records it.
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
        total: dict[int, int] = defaultdict(int)
        for key, counts in survey_score_counts(kind=kind, group_by=group_by, filters=survey_filters).items():
            _fill_scores(groups[key], kind, counts)
            for score, n in counts.items():
                total[score] += n
        _fill_scores(groups[TOTAL], kind, dict(total))
    sent = responded = 0
    for row in survey_response_rate(group_by=group_by, filters=survey_filters):
        group = groups[row.group]
        group["surveys_sent"], group["surveys_responded"] = row.sent, row.responded
        group["survey_response_rate"] = _rate(row.responded, row.sent)
        sent, responded = sent + row.sent, responded + row.responded
    totals = groups[TOTAL]
    totals["surveys_sent"], totals["surveys_responded"] = sent, responded
    totals["survey_response_rate"] = _rate(responded, sent)


def _add_phone_calls(groups: dict, *, tickets, agent, group_by, start_at, end_at, tz) -> None:
    """Inbound calls of the tickets, one grouped query; sums (not means) so totals add up exactly.

    Grouped and filtered by the agent who answered the call (abandoned calls have none: "(unassigned)").
    Short abandons (within HELPDESK_PHONE_SHORT_ABANDON_SECONDS) are counted apart and left out of the
    offered calls that service level and abandonment rate divide by.
    """
    calls = PhoneCall.objects.filter(
        ticket__in=tickets.values("pk"),
        direction=PhoneCall.Direction.INBOUND,
        started_at__gte=start_at,
        started_at__lt=end_at,
    ).order_by()
    if agent is not None:
        calls = calls.filter(_agent_q("agent", agent))
    if group_by in TIME_GROUPS:
        key = Trunc("started_at", group_by, output_field=DateField(), tzinfo=tz)
    else:
        key = F(_dimension_field(group_by, "phone"))
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
    sums = {
        "n": Count("pk"),
        "answered": Count("pk", filter=answered),
        "abandoned": Count("pk", filter=abandoned),
        "short": Count("pk", filter=short),
        "within": Count(
            "pk", filter=answered & Q(queue_wait_seconds__lte=settings.HELPDESK_PHONE_SERVICE_LEVEL_SECONDS)
        ),
        "wait": Sum("queue_wait_seconds", filter=answered),
        "handle": Sum(F("talk_seconds") + F("wrap_up_seconds"), filter=answered),
        "fcr": Count("pk", filter=resolved_on_the_call),
    }
    rows = list(calls.annotate(key=key).values("key").annotate(**sums))
    rows.append({"key": TOTAL, **{name: sum(row[name] or 0 for row in rows) for name in sums}})
    for row in rows:
        group = groups[row["key"]]
        offered = row["n"] - row["short"]
        group["phone_calls"], group["phone_calls_answered"] = row["n"], row["answered"]
        group["phone_calls_abandoned"], group["phone_short_abandons"] = row["abandoned"], row["short"]
        group["phone_answered_within_threshold"] = row["within"]
        group["phone_abandonment_rate"] = _rate(row["abandoned"] - row["short"], offered)
        group["phone_service_level"] = _rate(row["within"], offered)
        group["phone_first_call_resolution_rate"] = _rate(row["fcr"], row["answered"])
        if row["answered"]:
            group["phone_average_speed_of_answer_seconds"] = round((row["wait"] or 0) / row["answered"], 1)
            group["phone_average_handle_time_seconds"] = round((row["handle"] or 0) / row["answered"], 1)


def _add_sla(groups: dict, *, tickets: QuerySet[Ticket], group_by: str, in_range: Q, tz: ZoneInfo) -> None:
    """SLA outcomes per group and metric, in one grouped aggregate over the clocks of `tickets`."""
    clocks = (
        SlaClock.objects.filter(
            ticket__in=tickets.values("pk"), state__in=[ClockState.ACHIEVED, ClockState.BREACHED]
        )
        .annotate(outcome_at=Coalesce("breached_at", "stopped_at"))
        .filter(in_range)
        .order_by()
    )
    if group_by in TIME_GROUPS:
        key = Trunc("outcome_at", group_by, output_field=DateField(), tzinfo=tz)
    else:
        key = F(f"ticket__{_dimension_field(group_by, 'sla')}")
    rows = (
        clocks.annotate(key=key)
        .values("key", "metric")
        .annotate(
            achieved=Count("pk", filter=Q(state=ClockState.ACHIEVED)),
            breached=Count("pk", filter=Q(state=ClockState.BREACHED)),
        )
    )
    for row in rows:
        for group in (groups[row["key"]], groups[TOTAL]):
            outcome = group["sla"][row["metric"]]
            outcome["achieved"] += row["achieved"]
            outcome["breached"] += row["breached"]
    for group in groups.values():
        for outcome in group["sla"].values():
            outcome["compliance_rate"] = _rate(outcome["achieved"], outcome["achieved"] + outcome["breached"])
        achieved = sum(outcome["achieved"] for outcome in group["sla"].values())
        breached = sum(outcome["breached"] for outcome in group["sla"].values())
        group["sla_compliance_rate"] = _rate(achieved, achieved + breached)


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
