"""The SLA sweep, the only other writer of clock state: it fires warnings and breaches.

It locks the ticket row before touching its clocks (as the engine does), so the two serialise, and its
transitions are compare-and-swap updates, so any number of sweepers produce each warning and breach
exactly once."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F

from sla import selectors
from sla.models import (
    ClockState,
    SlaClock,
    SlaEvent,
)
from sla.services.engine import _event, _now, _sweep_rules
from sla.services.notify import ACTOR_LABEL, _emit_webhook, _escalate, _iso, _local, _notify, _notify_breach
from tickets import services as ticket_services
from tickets.models import (
    AuditEntry,
    Notification,
    Ticket,
    WebhookEvent,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    warned: int
    breached: int


def _lock_ticket_of(clock_id: int) -> bool:
    """Lock the clock's ticket first: the order every writer uses (ticket, then clocks)."""
    ticket_id = SlaClock.objects.filter(pk=clock_id).values_list("ticket_id", flat=True).first()
    return ticket_id is not None and Ticket.objects.select_for_update().filter(pk=ticket_id).exists()


def sla_clock_warn(*, clock_id: int, now: datetime, live: bool = True) -> bool:
    """Warn on one clock if it is still running, unwarned and past its warning instant; True if it did.

    `live=False` records the warning as history (see `sla_sweep`)."""
    with transaction.atomic():
        if not _lock_ticket_of(clock_id):
            return False
        changed = SlaClock.objects.filter(
            pk=clock_id, state=ClockState.RUNNING, warned_at__isnull=True, warn_at__lte=now
        ).update(warned_at=now)
        if changed != 1:
            return False
        clock = SlaClock.objects.select_related("ticket", "ticket__team").get(pk=clock_id)
        _event(clock, SlaEvent.Kind.WARNED, now, warn_at=_iso(clock.warn_at), due_at=_iso(clock.due_at))
        ticket = clock.ticket
        ticket_services.audit_record(
            ticket=ticket,
            action=AuditEntry.Action.SLA,
            now=now,
            actor_label=ACTOR_LABEL,
            field=f"sla_{clock.metric}",
            new_value="warned",
            details={"clock": clock.pk, "due_at": _iso(clock.due_at)},
        )
        if live:
            _emit_webhook(WebhookEvent.SLA_WARNING, clock, ticket, now)
        recipient = ticket.assignee if ticket.assignee_id else (ticket.team.lead if ticket.team else None)
        metric = clock.get_metric_display().lower()
        if recipient is not None:
            _notify(
                recipient=recipient,
                kind=Notification.Kind.SLA_WARNING,
                clock=clock,
                title=f"{ticket.reference}: {metric} due {_local(clock.due_at)}",
                body=f"{ticket.subject}\nThe {metric} target is due at {_local(clock.due_at)}.",
                dedupe_key=f"sla-warning:{clock.pk}",
                now=now,
                live=live,
            )
        return True


def sla_clock_breach(*, clock_id: int, now: datetime, live: bool = True) -> bool:
    """Breach one clock if it is still running past its due time; True if it did. Runs the escalations."""
    with transaction.atomic():
        if not _lock_ticket_of(clock_id):
            return False
        changed = SlaClock.objects.filter(
            pk=clock_id, state=ClockState.RUNNING, breached_at__isnull=True, due_at__lt=now
        ).update(state=ClockState.BREACHED, breached_at=F("due_at"))
        if changed != 1:
            return False
        clock = SlaClock.objects.select_related("policy", "ticket").get(pk=clock_id)
        _event(clock, SlaEvent.Kind.BREACHED, clock.breached_at, detected_at=_iso(now), detected_by="sweep")
        _notify_breach(clock, now, detected_by="sweep", live=live)
        if clock.policy is not None:
            _escalate(clock, clock.policy, now, live=live)
        return True


def sla_sweep(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int = 100, live: bool = True
) -> SweepResult:
    """Fire every warning, then every breach, that has come due by `now`, oldest first, in bounded batches.

    Safe to run from any number of workers at once and after any outage: each transition is a
    compare-and-swap, so it happens exactly once, and a clock overdue for an hour is still found.
    Warnings go first so a clock that passed both instants while no sweep ran is warned and breached.
    `live=False` is for catching up on history that predates the SLA setup (`seed_sla_demo` after
    replaying old tickets): transitions, events, audit and escalations as usual, in-app notifications
    marked emailed so no email goes out, and no webhooks.
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
    warned = breached = 0
    for _ in range(max_batches):
        ids = list(
            SlaClock.objects.filter(state=ClockState.RUNNING, warned_at__isnull=True, warn_at__lte=now)
            .order_by("warn_at", "pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        warned += sum(sla_clock_warn(clock_id=pk, now=now, live=live) for pk in ids)
        if len(ids) < batch_size:
            break
    for _ in range(max_batches):
        ids = list(
            SlaClock.objects.filter(state=ClockState.RUNNING, due_at__lt=now)
            .order_by("due_at", "pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        breached += sum(sla_clock_breach(clock_id=pk, now=now, live=live) for pk in ids)
        if len(ids) < batch_size:
            break
    return SweepResult(warned=warned, breached=breached)
