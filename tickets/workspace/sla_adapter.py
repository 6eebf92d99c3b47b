"""The workspace's one connection to the SLA engine (`sla/`), which is built separately.

Contract the SLA app must meet (see docs/workspace.md): a model registered as `CLOCK_MODEL` with
one row per ticket and metric, and these fields:

    ticket (FK to tickets.Ticket, related rows readable as `ticket_id`)
    metric (str: e.g. "first_response", "next_response", "resolution")
    state (str: "running" | "paused" | "achieved" | "breached" | "cancelled")
    due_at (datetime, null when paused)      warn_at (datetime or null)      breached_at (datetime or null)

While the `sla` app has no such model every function here answers "no SLA data": summaries are
`NO_DATA`, the SLA views are empty with an explanation, the badge is hidden. Nothing is invented.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from ..models import Ticket

CLOCK_MODEL = "sla.SlaClock"

RUNNING = "running"
PAUSED = "paused"
ACHIEVED = "achieved"
BREACHED = "breached"
CANCELLED = "cancelled"

# The queue's SLA views.
BREACHING_SOON = "breaching_soon"
BREACHED_VIEW = "breached"


@dataclass(frozen=True)
class SlaClock:
    metric: str
    state: str
    due_at: datetime | None
    warn_at: datetime | None
    breached_at: datetime | None


@dataclass(frozen=True)
class SlaSummary:
    """What the badge shows: the most urgent clock of a ticket, judged at `now`."""

    available: bool
    level: str = ""  # "ok" (green), "warning" (amber), "breached" (red), "paused", "done" or ""
    metric: str = ""
    due_at: datetime | None = None
    seconds_left: int | None = None  # negative when overdue
    clocks: tuple[SlaClock, ...] = ()


NO_DATA = SlaSummary(available=False)


def clock_model() -> type[Model] | None:
    try:
        return apps.get_model(CLOCK_MODEL)
    except (LookupError, ValueError):
        return None


def sla_available() -> bool:
    return clock_model() is not None


def _level(clock: SlaClock, now: datetime) -> str:
    if clock.state == BREACHED or (clock.state == RUNNING and clock.due_at and clock.due_at <= now):
        return "breached"
    if clock.state == RUNNING:
        return "warning" if clock.warn_at and clock.warn_at <= now else "ok"
    if clock.state == PAUSED:
        return "paused"
    return "done"


_URGENCY = {"breached": 0, "warning": 1, "ok": 2, "paused": 3, "done": 4}


def summarize(clocks: Iterable[SlaClock], now: datetime) -> SlaSummary:
    """The headline of a ticket's clocks: breached before warning before running, then soonest due."""
    clocks = tuple(c for c in clocks if c.state != CANCELLED)
    if not clocks:
        return SlaSummary(available=True)
    far = datetime.max.replace(tzinfo=now.tzinfo)
    head = min(clocks, key=lambda c: (_URGENCY[_level(c, now)], c.due_at or far))
    level = _level(head, now)
    seconds_left = None
    if head.due_at is not None and level in ("ok", "warning", "breached"):
        seconds_left = int((head.due_at - now).total_seconds())
    return SlaSummary(
        available=True,
        level=level,
        metric=head.metric,
        due_at=head.due_at,
        seconds_left=seconds_left,
        clocks=clocks,
    )


def _clock_rows(model: type[Model], ticket_ids: list[int]) -> Iterable[tuple[int, SlaClock]]:
    rows = model.objects.filter(ticket_id__in=ticket_ids).values_list(
        "ticket_id", "metric", "state", "due_at", "warn_at", "breached_at"
    )
    for ticket_id, metric, state, due_at, warn_at, breached_at in rows:
        yield ticket_id, SlaClock(str(metric), str(state), due_at, warn_at, breached_at)


def ticket_sla_summaries(tickets: Iterable[Ticket], now: datetime) -> dict[int, SlaSummary]:
    """{ticket id: summary} in one query (none without SLA data)."""
    ids = [t.pk for t in tickets]
    model = clock_model()
    if model is None:
        return dict.fromkeys(ids, NO_DATA)
    clocks: dict[int, list[SlaClock]] = {pk: [] for pk in ids}
    for ticket_id, clock in _clock_rows(model, ids):
        clocks[ticket_id].append(clock)
    return {pk: summarize(rows, now) for pk, rows in clocks.items()}


def sla_state_q(state: str, now: datetime) -> Q | None:
    """A filter on tickets for an SLA view, or None when there is no SLA data."""
    model = clock_model()
    if model is None:
        return None
    if state == BREACHING_SOON:
        condition = Q(state=RUNNING, warn_at__lte=now, due_at__gt=now)
    elif state == BREACHED_VIEW:
        condition = Q(state=BREACHED) | Q(state=RUNNING, due_at__lte=now)
    else:
        raise ValueError(f"Unknown SLA view {state!r}; expected {BREACHING_SOON!r} or {BREACHED_VIEW!r}.")
    return Q(Exists(model.objects.filter(condition, ticket_id=OuterRef("pk"))))


def sla_filter(tickets: QuerySet[Ticket], state: str, now: datetime) -> QuerySet[Ticket]:
    """Tickets in an SLA view; no tickets at all when there is no SLA data."""
    condition = sla_state_q(state, now)
    return tickets.none() if condition is None else tickets.filter(condition)
