"""The SLA sweep, the only other writer of clock state: it fires warnings and breaches.

It locks the ticket row before touching its clocks (as the engine does), so the two serialise, and its
transitions are compare-and-swap updates, so any number of sweepers produce each warning and breach
exactly once."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from sla import selectors
from sla.models import (
    ClockState,
    SlaClock,
    SlaEvent,
)
from sla.services.engine import _event_row, _now, _sweep_rules, sla_tickets_store_state
from sla.services.notify import Transition, _iso, announce, escalate
from tickets.models import (
    Ticket,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    warned: int
    breached: int


def _transition_batch(
    candidates: list[tuple[int, int]], due: Q, changes: dict, kind: str, now: datetime, live: bool
) -> int:
    """Apply one transition (warning or breach) to a batch of clocks in one transaction; returns how many.

    Every writer of a clock locks its ticket first (the engine does, under the ticket services), so the
    batch locks all its tickets in one statement, in id order so two sweepers cannot deadlock, and then
    re-reads which clocks still qualify: a concurrent sweeper or ticket change may have moved some. The
    update that follows is a compare-and-swap on the same condition, so each transition happens once.
    Events, audit rows, webhooks and notifications are then written in bulk: a fixed number of queries
    per batch. Escalations go through the ticket services one ticket at a time.
    """
    with transaction.atomic():
        ticket_ids = sorted({ticket_id for _pk, ticket_id in candidates})
        list(Ticket.objects.select_for_update().filter(pk__in=ticket_ids).order_by("pk").values_list("pk"))
        clocks = list(
            SlaClock.objects.filter(due, pk__in=[pk for pk, _ticket_id in candidates])
            .select_related("policy", "ticket__team__lead", "ticket__assignee")
            .order_by("pk")
        )
        if not clocks:
            return 0
        changed = SlaClock.objects.filter(due, pk__in=[clock.pk for clock in clocks]).update(**changes)
        if changed != len(clocks):
            # Cannot happen while every writer locks the ticket first; undo the batch rather than guess.
            raise RuntimeError(
                f"SLA clocks changed under the sweep's ticket locks ({changed} of {len(clocks)})"
            )
        events = []
        for clock in clocks:
            if kind == SlaEvent.Kind.WARNED:
                clock.warned_at = now
                events.append(
                    _event_row(clock, kind, now, warn_at=_iso(clock.warn_at), due_at=_iso(clock.due_at))
                )
            else:
                clock.state, clock.breached_at = ClockState.BREACHED, clock.due_at
                events.append(
                    _event_row(clock, kind, clock.breached_at, detected_at=_iso(now), detected_by="sweep")
                )
        SlaEvent.objects.bulk_create(events)
        if kind == SlaEvent.Kind.BREACHED:
            # A breached clock leaves the warning windows the queues read (its breach instant is its due
            # instant, so the ticket's `sla_breach_at` stays as it was).
            sla_tickets_store_state(ticket_ids)
        announce([Transition(clock, kind, "sweep") for clock in clocks], now, live=live)
        if kind == SlaEvent.Kind.BREACHED:
            for clock in clocks:
                if clock.policy is not None:
                    escalate(clock, clock.policy, now, live=live)
        return len(clocks)


def sla_sweep(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int = 100, live: bool = True
) -> SweepResult:
    """Fire every warning, then every breach, that has come due by `now`, oldest first, in bounded batches.

    Safe to run from any number of workers at once and after any outage: each transition is a
    compare-and-swap, so it happens exactly once, and a clock overdue for an hour is still found.
    Warnings go first so a clock that passed both instants while no sweep ran is warned and breached.
    `live=False` is for catching up on history that predates the SLA setup (the demo seed after
    replaying old tickets): transitions, events, audit and escalations as usual, but no notifications
    (in-app or email) and no webhooks.
    """
    now = _now(now)
    batch_size = batch_size or settings.SLA_SWEEP_BATCH_SIZE
    # Escalations change tickets, and each change re-matches policies: load them and their calendars
    # once per sweep rather than once per escalated ticket (an edit made during a sweep applies from
    # the next one).
    token = _sweep_rules.set((selectors.active_policy_rules(), {}))
    try:
        return _sweep(now, batch_size, max_batches, live)
    finally:
        _sweep_rules.reset(token)


def _sweep(now: datetime, batch_size: int, max_batches: int, live: bool) -> SweepResult:
    # Warnings first, so a clock that passed both instants while no sweep ran is warned and breached.
    passes = (
        (
            SlaEvent.Kind.WARNED,
            Q(state=ClockState.RUNNING, warned_at__isnull=True, warn_at__lte=now),
            "warn_at",
            {"warned_at": now},
        ),
        (
            SlaEvent.Kind.BREACHED,
            Q(state=ClockState.RUNNING, breached_at__isnull=True, due_at__lt=now),
            "due_at",
            {"state": ClockState.BREACHED, "breached_at": F("due_at")},
        ),
    )
    done = {}
    for kind, due, instant, changes in passes:
        done[kind] = 0
        for _ in range(max_batches):
            oldest_first = SlaClock.objects.filter(due).order_by(instant, "pk")
            candidates = list(oldest_first.values_list("pk", "ticket_id")[:batch_size])
            if candidates:
                done[kind] += _transition_batch(candidates, due, changes, kind, now, live)
            if len(candidates) < batch_size:
                break
    return SweepResult(warned=done[SlaEvent.Kind.WARNED], breached=done[SlaEvent.Kind.BREACHED])
