"""Reads of the survey domain: per-team settings, due invitations and score aggregates.

Aggregates count answers per score value in the database (`values(...).annotate(Count(...))`) and
hand the counts to the pure formulas of `surveys/scoring.py`; no Python loop over responses.
"""

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek

from surveys import scoring
from surveys.models import DEFAULT_QUESTIONS, SurveyInvitation, SurveyResponse, SurveySettings
from tickets.models import Team, Ticket
from tickets.selectors import ticket_visibility_q, user_is_admin, user_team_ids

# --- settings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyConfig:
    """The survey settings that apply to one team and channel."""

    enabled: bool
    kinds: tuple[str, ...]
    questions: dict[str, str]
    delay: timedelta
    token_lifetime: timedelta
    throttle_days: int
    poor_answer_action: str


def survey_settings_defaults() -> SurveyConfig:
    kinds = tuple(settings.HELPDESK_SURVEY_KINDS)
    return SurveyConfig(
        enabled=settings.HELPDESK_SURVEYS_ENABLED,
        kinds=kinds,
        questions={kind: DEFAULT_QUESTIONS[kind] for kind in kinds},
        delay=timedelta(minutes=settings.HELPDESK_SURVEY_DELAY_MINUTES),
        token_lifetime=timedelta(days=settings.HELPDESK_SURVEY_TOKEN_DAYS),
        throttle_days=settings.HELPDESK_SURVEY_THROTTLE_DAYS,
        poor_answer_action=settings.HELPDESK_SURVEY_POOR_ANSWER_ACTION,
    )


def survey_settings_for(*, team: Team | None, channel: str) -> SurveyConfig:
    """The team's row for this channel, else its all-channel row, else the project defaults."""
    row = None
    if team is not None:
        rows = {r.channel: r for r in SurveySettings.objects.filter(team=team, channel__in=[channel, ""])}
        row = rows.get(channel) or rows.get("")
    if row is None:
        return survey_settings_defaults()
    kinds = tuple(row.kinds) or tuple(settings.HELPDESK_SURVEY_KINDS)
    return SurveyConfig(
        enabled=row.enabled,
        kinds=kinds,
        questions={kind: row.question(kind) for kind in kinds},
        delay=timedelta(minutes=row.delay_minutes),
        token_lifetime=timedelta(days=row.token_lifetime_days),
        throttle_days=row.throttle_days,
        poor_answer_action=row.poor_answer_action,
    )


# --- invitations ---------------------------------------------------------------------------------


def survey_invitation_due_ids(*, now: datetime, limit: int = 500) -> list[int]:
    """Scheduled invitations whose send time has come, oldest first (uses the partial index)."""
    return list(
        SurveyInvitation.objects.filter(state=SurveyInvitation.State.SCHEDULED, send_at__lte=now)
        .order_by("send_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def survey_invitation_list_for_ticket(*, ticket: Ticket) -> QuerySet[SurveyInvitation]:
    return (
        SurveyInvitation.objects.filter(ticket=ticket)
        .select_related("agent", "follow_up_ticket")
        .prefetch_related("responses")
        .order_by("-created_at", "-pk")
    )


def _visible_ticket_ids(user) -> QuerySet[Ticket]:
    return Ticket.objects.filter(ticket_visibility_q(user)).values("pk")


def survey_invitation_list(*, user) -> QuerySet[SurveyInvitation]:
    """Invitations of the tickets the user may see, with their answers, newest first."""
    return (
        SurveyInvitation.objects.filter(ticket__in=_visible_ticket_ids(user))
        .prefetch_related(Prefetch("responses", queryset=SurveyResponse.objects.order_by("pk")))
        .order_by("-created_at", "-pk")
    )


def survey_response_list(*, user) -> QuerySet[SurveyResponse]:
    """Answers to surveys of the tickets the user may see, newest first."""
    return (
        SurveyResponse.objects.filter(invitation__ticket__in=_visible_ticket_ids(user))
        .select_related("invitation")
        .order_by("-created_at", "-pk")
    )


def survey_settings_teams(*, user) -> QuerySet[Team]:
    """Teams whose survey settings the user may read: their own teams (as agent or lead); admins all."""
    if user_is_admin(user):
        return Team.objects.all()
    return Team.objects.filter(pk__in=user_team_ids(user))


def survey_settings_row(*, team: Team, channel: str = "") -> SurveySettings | None:
    return SurveySettings.objects.filter(team=team, channel=channel).first()


# --- aggregates ----------------------------------------------------------------------------------

GROUP_FIELDS = ("team", "agent", "channel", "priority")
PERIODS: dict[str, type] = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
GROUP_BY_CHOICES = (*GROUP_FIELDS, *PERIODS)
_FIELD_COLUMNS = {"team": "team_id", "agent": "agent_id", "channel": "channel", "priority": "priority"}

#: kind -> formula giving the headline score from {score: count}
HEADLINE: dict[str, Callable[[dict[int, int]], float | None]] = {
    scoring.CSAT: scoring.csat_percent,
    scoring.CES: scoring.ces_mean,
    scoring.NPS: scoring.nps,
}


@dataclass(frozen=True)
class SurveyFilters:
    """Restricts an aggregate. `start` inclusive, `end` exclusive; `tz` names the zone of periods."""

    start: datetime | None = None
    end: datetime | None = None
    team_id: int | None = None
    agent_id: int | None = None
    channel: str | None = None
    priority: str | None = None
    tz: str | None = None
    # Only answers to invitations of these tickets (a reader's visible tickets); a subquery, not a list.
    tickets: QuerySet[Ticket] | None = None


@dataclass(frozen=True)
class ResponseRate:
    group: object
    sent: int
    responded: int
    rate: float | None


def _check_group_by(group_by: str | None) -> None:
    if group_by is not None and group_by not in GROUP_BY_CHOICES:
        raise ValueError(f"Unknown group_by {group_by!r}; use one of {', '.join(GROUP_BY_CHOICES)} or None.")


def _invitation_q(filters: SurveyFilters, prefix: str) -> Q:
    q = Q()
    for name in ("team_id", "agent_id", "channel", "priority"):
        value = getattr(filters, name)
        if value is not None:
            q &= Q(**{f"{prefix}{name}": value})
    if filters.tickets is not None:
        q &= Q(**{f"{prefix}ticket__in": filters.tickets.order_by().values("pk")})
    return q


def _group_expression(group_by: str | None, prefix: str, time_field: str, tz: str | None):
    if group_by is None:
        return None
    if group_by in PERIODS:
        zone = zoneinfo.ZoneInfo(tz or settings.TIME_ZONE)
        return PERIODS[group_by](time_field, tzinfo=zone)
    return F(f"{prefix}{_FIELD_COLUMNS[group_by]}")


def _group_key(group_by: str | None, value: object) -> object:
    # Truncated periods come back as aware datetimes at local midnight: the period's first day.
    if group_by in PERIODS and isinstance(value, datetime):
        return value.date()
    return value


def _sort_key(row: ResponseRate) -> tuple[bool, object]:
    # Groups of one result share a type (ids, values or dates); the None group goes last.
    return (row.group is None, row.group if row.group is not None else 0)


def _time_range_q(filters: SurveyFilters, time_field: str) -> Q:
    q = Q()
    if filters.start is not None:
        q &= Q(**{f"{time_field}__gte": filters.start})
    if filters.end is not None:
        q &= Q(**{f"{time_field}__lt": filters.end})
    return q


def survey_score_counts(
    *, kind: str, group_by: str | None = None, filters: SurveyFilters | None = None
) -> dict[object, dict[int, int]]:
    """{group: {score: count}} of scored answers of one kind, by first-answer time (`created_at`).

    Groups: team / agent (ids: the team and the assignee at solve time), channel, priority (values),
    day / week / month (`date` of the period's first day in `filters.tz`), or None (one group, None).
    """
    if kind not in scoring.KINDS:
        raise ValueError(f"Unknown survey kind {kind!r}; use one of {', '.join(scoring.KINDS)}.")
    _check_group_by(group_by)
    filters = filters or SurveyFilters()
    responses = SurveyResponse.objects.filter(
        _invitation_q(filters, "invitation__"),
        _time_range_q(filters, "created_at"),
        kind=kind,
        score__isnull=False,
    )
    expression = _group_expression(group_by, "invitation__", "created_at", filters.tz)
    if expression is None:
        rows = responses.values("score").annotate(n=Count("pk")).values_list("score", "n").order_by()
        counts: dict[object, dict[int, int]] = {None: {}} if rows else {}
        for score, n in rows:
            counts[None][score] = n
        return counts
    rows = (
        responses.annotate(group=expression)
        .values("group", "score")
        .annotate(n=Count("pk"))
        .values_list("group", "score", "n")
        .order_by()
    )
    grouped: dict[object, dict[int, int]] = {}
    for group, score, n in rows:
        grouped.setdefault(_group_key(group_by, group), {})[score] = n
    return grouped


def survey_response_rate(
    *, group_by: str | None = None, filters: SurveyFilters | None = None
) -> list[ResponseRate]:
    """Responded ÷ sent (a percentage) per group, over invitations sent in the range (by `sent_at`).

    An invitation counts as responded once any answer (even an unscored email reply) arrived.
    Groups as in `survey_score_counts`; groups with nothing sent are absent.
    """
    _check_group_by(group_by)
    filters = filters or SurveyFilters()
    invitations = SurveyInvitation.objects.filter(
        _invitation_q(filters, ""), _time_range_q(filters, "sent_at"), sent_at__isnull=False
    )
    counts = {"sent": Count("pk"), "responded": Count("pk", filter=Q(responded_at__isnull=False))}
    expression = _group_expression(group_by, "", "sent_at", filters.tz)
    if expression is None:
        rows = [{"group": None, **invitations.aggregate(**counts)}]
    else:
        rows = invitations.annotate(group=expression).values("group").annotate(**counts).order_by()
    result = [
        ResponseRate(
            group=_group_key(group_by, row["group"]),
            sent=row["sent"],
            responded=row["responded"],
            rate=scoring.response_rate(row["responded"], row["sent"]),
        )
        for row in rows
        if row["sent"]
    ]
    return sorted(result, key=_sort_key)


def survey_invitation_summary_for_ticket(*, ticket: Ticket) -> str:
    """One line per survey of the ticket, newest first, for the ticket's admin page."""
    lines = []
    for invitation in survey_invitation_list_for_ticket(ticket=ticket):
        if invitation.state == SurveyInvitation.State.SENT:
            answers = [
                f"{r.kind.upper()} {'no score (needs review)' if r.score is None else r.score}"
                + (f" “{r.comment[:80]}”" if r.comment else "")
                for r in invitation.responses.all()
            ]
            line = f"sent {invitation.sent_at:%Y-%m-%d}: " + ("; ".join(answers) or "no answer yet")
        elif invitation.state == SurveyInvitation.State.SCHEDULED:
            line = f"scheduled for {invitation.send_at:%Y-%m-%d %H:%M}"
        else:
            reason = invitation.get_skip_reason_display() if invitation.skip_reason else invitation.last_error
            line = f"{invitation.get_state_display().lower()}" + (f": {reason}" if reason else "")
        if invitation.follow_up_ticket is not None:
            line += f" (follow-up {invitation.follow_up_ticket.reference})"
        lines.append(line)
    return "\n".join(lines) or "no survey"
