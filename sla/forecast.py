"""Breach forecast: which of a team's tickets will miss their SLA in the next hours if nothing changes.

Pure (no Django). The model is a queue simulation over business time, earliest due first:

- Every waiting ticket needs one touch of `handling_seconds` (the team's median time from first touch to
  reply, from history) from one agent to stop its next due clock.
- Time is business seconds from now on the team's calendar; each agent on duty works one ticket at a time.
- If nothing changes, an assigned ticket is worked only by its assignee (an away assignee does nothing),
  and unassigned tickets are picked from the queue, earliest due first, by the on-duty agent free
  soonest who has the ticket's skills and spare capacity.
- A ticket breaches if its touch finishes after its due instant; a ticket nobody can work breaches at
  its due instant. The forecast for a horizon counts tickets whose due instant falls inside it.

Suggestions: for each ticket predicted to breach (earliest due first), the greedy moves it to the on-duty
agent with the right skills and spare capacity who could finish it soonest, if that beats its due time.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

HORIZON_HOURS = (2, 4, 8)


@dataclass(frozen=True)
class WaitingTicket:
    ticket_id: int
    due_in: int  # business seconds from now until the next due instant (<= 0: already due)
    assignee_id: int | None
    required_skills: frozenset[int] = frozenset()
    label: str = ""


@dataclass(frozen=True)
class AgentOnTeam:
    user_id: int
    available: bool
    capacity: int
    open_tickets: int
    skills: frozenset[int] = frozenset()
    label: str = ""

    @property
    def spare(self) -> int:
        return max(0, self.capacity - self.open_tickets)


@dataclass(frozen=True)
class Outcome:
    ticket_id: int
    due_in: int
    worker_id: int | None  # None: nobody works it before it is due
    finish_in: int | None
    breaches: bool


@dataclass(frozen=True)
class Suggestion:
    ticket_id: int
    from_user_id: int | None
    to_user_id: int
    finish_in: int
    due_in: int


@dataclass
class Forecast:
    handling_seconds: int
    outcomes: list[Outcome]
    breaches_within: dict[int, int]  # horizon hours -> tickets breaching in it
    suggestions: list[Suggestion]
    breaches_within_after_suggestions: dict[int, int] = field(default_factory=dict)


@dataclass
class _Worker:
    agent: AgentOnTeam
    free_in: int = 0
    taken: int = 0  # unassigned tickets picked up (counts against spare capacity)


def _can_take(worker: _Worker, ticket: WaitingTicket) -> bool:
    return (
        worker.agent.available
        and ticket.required_skills <= worker.agent.skills
        and worker.taken < worker.agent.spare
    )


def simulate(
    tickets: Iterable[WaitingTicket], agents: Iterable[AgentOnTeam], handling_seconds: int
) -> list[Outcome]:
    """Each ticket's predicted worker and finish time, earliest due first (ties by ticket id)."""
    workers = {agent.user_id: _Worker(agent) for agent in agents}
    outcomes = []
    for ticket in sorted(tickets, key=lambda t: (t.due_in, t.ticket_id)):
        worker = workers.get(ticket.assignee_id) if ticket.assignee_id is not None else None
        if ticket.assignee_id is None:
            candidates = [w for w in workers.values() if _can_take(w, ticket)]
            worker = min(candidates, key=lambda w: (w.free_in, w.agent.user_id), default=None)
            if worker is not None:
                worker.taken += 1
        elif worker is not None and not worker.agent.available:
            worker = None
        if worker is None:
            outcomes.append(Outcome(ticket.ticket_id, ticket.due_in, None, None, True))
            continue
        finish = worker.free_in + handling_seconds
        worker.free_in = finish
        outcomes.append(
            Outcome(ticket.ticket_id, ticket.due_in, worker.agent.user_id, finish, finish > ticket.due_in)
        )
    return outcomes


def count_breaches(outcomes: Iterable[Outcome], horizons: Sequence[int] = HORIZON_HOURS) -> dict[int, int]:
    """Predicted breaches whose due instant falls within each horizon (business hours from now)."""
    return {hours: sum(1 for o in outcomes if o.breaches and o.due_in <= hours * 3600) for hours in horizons}


def suggest_reassignments(
    tickets: Sequence[WaitingTicket],
    agents: Sequence[AgentOnTeam],
    handling_seconds: int,
    outcomes: Sequence[Outcome],
    limit: int = 10,
) -> list[Suggestion]:
    """Greedy: move each predicted breach (earliest due first) to the agent who can finish it in time.

    The other tickets keep their predicted workers; a receiving agent needs spare capacity and every
    skill the ticket requires, and each move uses one slot of that capacity and `handling_seconds` of time.
    """
    by_id = {t.ticket_id: t for t in tickets}
    workers = {agent.user_id: _Worker(agent) for agent in agents}
    # Agents' time already committed to the tickets that will not breach.
    for outcome in outcomes:
        if not outcome.breaches and outcome.worker_id is not None:
            worker = workers[outcome.worker_id]
            worker.free_in = max(worker.free_in, outcome.finish_in or 0)
            if by_id[outcome.ticket_id].assignee_id is None:
                worker.taken += 1
    suggestions: list[Suggestion] = []
    for outcome in sorted((o for o in outcomes if o.breaches), key=lambda o: (o.due_in, o.ticket_id)):
        ticket = by_id[outcome.ticket_id]
        if ticket.due_in <= 0 or len(suggestions) >= limit:
            continue  # already due: a reassignment cannot save it any more
        candidates = [
            w for w in workers.values() if w.agent.user_id != ticket.assignee_id and _can_take(w, ticket)
        ]
        best = min(candidates, key=lambda w: (w.free_in, w.agent.user_id), default=None)
        if best is None or best.free_in + handling_seconds > ticket.due_in:
            continue
        best.free_in += handling_seconds
        best.taken += 1
        suggestions.append(
            Suggestion(ticket.ticket_id, ticket.assignee_id, best.agent.user_id, best.free_in, ticket.due_in)
        )
    return suggestions


def forecast(
    tickets: Sequence[WaitingTicket],
    agents: Sequence[AgentOnTeam],
    handling_seconds: int,
    horizons: Sequence[int] = HORIZON_HOURS,
) -> Forecast:
    outcomes = simulate(tickets, agents, handling_seconds)
    suggestions = suggest_reassignments(tickets, agents, handling_seconds, outcomes)
    saved = {s.ticket_id for s in suggestions}
    after = [o for o in outcomes if o.ticket_id not in saved]
    return Forecast(
        handling_seconds=handling_seconds,
        outcomes=outcomes,
        breaches_within=count_breaches(outcomes, horizons),
        suggestions=suggestions,
        breaches_within_after_suggestions=count_breaches(after, horizons),
    )


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
