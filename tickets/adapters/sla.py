"""The ticket core's one connection to the SLA app: badges, headline clocks, the SLA queue views and filters,
and the explainer and forecast panels.

Only this module (and `tickets.adapters.surveys` for surveys) may import `sla` from inside `tickets`; the
import-linter contract in pyproject.toml enforces it. The names re-exported below are what the API filters,
the admin and the reports use of the SLA app.

Everything is read through `sla.selectors` (clock status per ticket, the breached and breaching-soon rules),
so the desk shows exactly what the API and the sweep see.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from sla import selectors as sla_selectors
from sla.admin import sla_badge
from sla.models import ClockState, SlaClock
from sla.models import Metric as SlaMetric
from sla.selectors import (
    SlaStatus,
    annotate_next_sla_due,
    breached_ticket_ids,
    breaching_soon_q,
    tickets_breached,
    tickets_breaching_within,
)
from tickets.models import Team, Ticket

# What the rest of `tickets` uses of the SLA app as it is (the functions below adapt the rest).
__all__ = [
    "ClockState",
    "SlaClock",
    "SlaMetric",
    "annotate_next_sla_due",
    "breached_ticket_ids",
    "breaching_soon_q",
    "sla_badge",
    "tickets_breached",
    "tickets_breaching_within",
]

# The queue's SLA views.
BREACHING_SOON = "breaching_soon"
BREACHED_VIEW = "breached"


@dataclass(frozen=True)
class SlaSummary:
    """What the badge shows: the most urgent clock of a ticket, judged at `now`.

    `clocks` are the latest instance of each metric (empty when no policy applies to the ticket).
    """

    level: str = ""  # "ok" (green), "warning" (amber), "breached" (red), "paused", "done" or ""
    metric: str = ""
    due_at: datetime | None = None
    seconds_left: int | None = None  # negative when overdue
    clocks: tuple[SlaStatus, ...] = ()


def _level(clock: SlaStatus, now: datetime) -> str:
    if clock.stopped_at is not None:
        return "done"  # fulfilled, late or not: nothing left for the team to do on this clock
    if clock.state == ClockState.BREACHED or (
        clock.state == ClockState.RUNNING and clock.due_at is not None and clock.due_at < now
    ):
        return "breached"  # the second case: past due, the next sweep records the breach
    if clock.state == ClockState.RUNNING:
        return "warning" if clock.warn_at is not None and clock.warn_at <= now else "ok"
    if clock.paused:
        return "paused"
    return "done"


_URGENCY = {"breached": 0, "warning": 1, "ok": 2, "paused": 3, "done": 4}


def summarize(clocks: Iterable[SlaStatus], now: datetime) -> SlaSummary:
    """The headline of a ticket's clocks: breached before warning before running, then soonest due."""
    clocks = tuple(c for c in clocks if c.state != ClockState.CANCELLED)
    if not clocks:
        return SlaSummary()
    far = datetime.max.replace(tzinfo=now.tzinfo)
    head = min(clocks, key=lambda c: (_URGENCY[_level(c, now)], c.due_at or far))
    level = _level(head, now)
    seconds_left = None
    if head.due_at is not None and level in ("ok", "warning", "breached"):
        seconds_left = int((head.due_at - now).total_seconds())
    return SlaSummary(
        level=level, metric=head.metric, due_at=head.due_at, seconds_left=seconds_left, clocks=clocks
    )


def ticket_sla_summaries(tickets: Iterable[Ticket], now: datetime) -> dict[int, SlaSummary]:
    """{ticket id: summary} in one query."""
    statuses = sla_selectors.sla_status_for_tickets([t.pk for t in tickets], now)
    return {pk: summarize(clocks, now) for pk, clocks in statuses.items()}


def sla_state_q(state: str, now: datetime) -> Q:
    """A filter on tickets for an SLA view (usable inside aggregates, so counts stay one query)."""
    if state == BREACHING_SOON:
        return sla_selectors.breaching_soon_q(now)
    if state == BREACHED_VIEW:
        return sla_selectors.breached_q(now)
    raise ValueError(f"Unknown SLA view {state!r}; expected {BREACHING_SOON!r} or {BREACHED_VIEW!r}.")


def sla_state_arms(state: str, now: datetime) -> tuple[Q, ...]:
    """`sla_state_q` as disjoint filters whose union it is, each one an index can answer alone (for counts
    that add them up; see `sla.selectors.breaching_soon_arms`)."""
    if state == BREACHING_SOON:
        return sla_selectors.breaching_soon_arms(now)
    return (sla_state_q(state, now),)


def live_breaches(tickets: QuerySet[Ticket], now: datetime) -> sla_selectors.LiveBreaches:
    """Unsolved tickets breaching right now, for the lead's metrics page (two queries)."""
    return sla_selectors.live_breaches(tickets, now)


def ticket_sla_explanation(ticket: Ticket, now: datetime, tz: ZoneInfo) -> sla_selectors.TicketSlaExplanation:
    """Why each clock of the ticket is due when it is (the ticket page's explainer panel)."""
    return sla_selectors.ticket_sla_explanation(ticket, now, tz)


def team_breach_forecast(team: Team, now: datetime) -> sla_selectors.TeamForecast:
    """The lead's breach forecast for one team (the team board's panel)."""
    return sla_selectors.team_breach_forecast(team, now)
