"""What the queues read of a ticket's clocks, from the clocks in memory.

The engine holds every clock of the ticket it changed (locked, as saved), so it derives the ticket's
stored SLA state here instead of asking PostgreSQL to: building the five correlated subqueries of
`selectors.ticket_sla_state` through the ORM cost a fifth of an inbound email's processing. That SQL
stays the definition for many tickets at once (the sweep's batches, the backfill), and a test holds the
two equal after every kind of clock change (tests/sla/test_ticket_sla_state.py).
"""

from collections.abc import Iterable
from datetime import datetime

from sla.models import ClockState, SlaClock
from sla.selectors import DUE_STATES


def ticket_sla_state_of(clocks: Iterable[SlaClock]) -> dict[str, datetime | bool | None]:
    """{`Ticket` field: value} for a ticket with these clocks (all of them): see
    `selectors.ticket_sla_state` for what each field means."""
    due = [c for c in clocks if c.state in DUE_STATES and c.stopped_at is None]
    breaches = [c.due_at if c.state == ClockState.RUNNING else (c.breached_at or c.started_at) for c in due]
    windows = [
        c
        for c in due
        if c.state == ClockState.RUNNING
        and c.warn_at is not None
        and c.due_at is not None
        and c.warn_at <= c.due_at
    ]
    earliest_window_end = min((c.due_at for c in windows), default=None)
    return {
        "next_sla_due_at": min((c.due_at for c in due if c.due_at is not None), default=None),
        "sla_breach_at": min((at for at in breaches if at is not None), default=None),
        "sla_warn_from": min((c.warn_at for c in windows), default=None),
        "sla_warn_until": max((c.due_at for c in windows), default=None),
        "sla_warn_one_window": not any(c.warn_at > earliest_window_end for c in windows),
    }
