"""The SLA engine: clocks follow the ticket.

`sla_ticket_changed` runs after every ticket change, inside the change's transaction, with the ticket
row already locked (the ticket core announces the change through `tickets.hooks`; `SlaConfig.ready()`
registers the receiver), and brings the ticket's clocks in line with the ticket's new state."""

import logging
import math
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import groupby

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import OuterRef
from django.utils import timezone

from sla import selectors
from sla.business_time import BusinessCalendar, add_business_seconds, business_seconds_between
from sla.models import (
    Calendar,
    ClockState,
    Metric,
    Policy,
    PolicyTarget,
    SlaClock,
    SlaEvent,
)
from sla.selectors import TicketFacts
from sla.services.notify import Transition, _iso, announce
from sla.stored_state import ticket_sla_state_of
from tickets import services as ticket_services
from tickets import transitions
from tickets.config_cache import cached
from tickets.exceptions import DomainError
from tickets.models import (
    AuditEntry,
    Message,
    Status,
    Ticket,
)

logger = logging.getLogger(__name__)

# The policy rules and business calendars of the sweep in progress (see `sla_sweep`), else None.
_sweep_rules: ContextVar[tuple[list[selectors.PolicyRule], dict[int, BusinessCalendar]] | None] = ContextVar(
    "sla_sweep_rules", default=None
)

REPLY_METRICS = (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE)


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


# --- calendars -------------------------------------------------------------------------------------


@dataclass
class _Engine:
    """Brings one ticket's clocks in line with its state at `now`; the ticket row is locked by the caller."""

    facts: TicketFacts
    now: datetime
    policy: Policy | None
    targets: dict[tuple[str, str], PolicyTarget] = field(default_factory=dict)
    clocks: list[SlaClock] = field(default_factory=list)
    _calendars: dict[int, BusinessCalendar] = field(default_factory=dict)
    live: bool = True  # False while replaying history: see `sla_ticket_replay`

    # - measuring -

    def calendar_of(self, clock: SlaClock) -> BusinessCalendar:
        if clock.calendar_id is None:
            return BusinessCalendar.always_open()
        if clock.calendar_id not in self._calendars:
            self._calendars[clock.calendar_id] = selectors.business_calendar(
                Calendar.objects.get(pk=clock.calendar_id)
            )
        return self._calendars[clock.calendar_id]

    def fold(self, clock: SlaClock, at: datetime) -> None:
        """Add the current measuring segment up to `at` to the elapsed counters."""
        if clock.running_since is None or at <= clock.running_since:
            return
        clock.elapsed_business_seconds += business_seconds_between(
            self.calendar_of(clock), clock.running_since, at
        )
        clock.elapsed_calendar_seconds += int((at - clock.running_since).total_seconds())
        clock.running_since = at

    def advance(self, clock: SlaClock, start: datetime, seconds: int) -> datetime | None:
        """When `seconds` of the clock's unit will have elapsed from `start`; None if never."""
        if seconds <= 0:
            return start
        if not clock.business_hours:
            return start + timedelta(seconds=seconds)
        calendar = self.calendar_of(clock)
        if calendar.weekly_business_seconds == 0:
            # A misconfigured calendar must not break ticket changes: the clock is just never due.
            logger.warning(
                "SLA calendar %s has no business hours; clock %s is never due", clock.calendar_id, clock.pk
            )
            return None
        # In UTC: the calendar's zone is for reading, and arithmetic on a zone-aware result (warn_at = due_at
        # minus minutes) is wall-clock arithmetic in Python, wrong by the shift across a DST change.
        return add_business_seconds(calendar, start, seconds).astimezone(UTC)

    def schedule(self, clock: SlaClock) -> None:
        """Compute due_at and warn_at of a measuring clock from its elapsed time; a pinned due time stays."""
        if clock.state == ClockState.BREACHED:
            return
        if clock.running_since is None:
            clock.due_at = clock.pinned_due_at
            clock.warn_at = None
            return
        elapsed = _measure(clock)
        if clock.pinned_due_at is not None:
            clock.due_at = clock.pinned_due_at
        else:
            clock.due_at = self.advance(clock, clock.running_since, clock.target_seconds - elapsed)
        clock.warn_at = None
        policy = clock.policy
        if policy is None or clock.warned_at is not None:
            return
        if policy.warn_percent:
            threshold = math.ceil(clock.target_seconds * policy.warn_percent / 100)
            warn_at = self.advance(clock, clock.running_since, threshold - elapsed)
            clock.warn_at = min(warn_at, clock.due_at) if warn_at and clock.due_at else warn_at
        elif policy.warn_minutes_before and clock.due_at is not None:
            clock.warn_at = clock.due_at - timedelta(minutes=policy.warn_minutes_before)

    # - transitions -

    def start(self, metric: str, at: datetime, target: PolicyTarget) -> SlaClock:
        sequence = 1 + max((c.sequence for c in self.clocks if c.metric == metric), default=0)
        clock = SlaClock(
            ticket_id=self.facts.pk,
            policy=self.policy,
            metric=metric,
            sequence=sequence,
            target_seconds=target.target_seconds,
            business_hours=target.business_hours,
            calendar_id=self.policy.calendar_id,
            state=ClockState.RUNNING,
            started_at=at,
            running_since=at,
        )
        self.schedule(clock)
        clock.save()
        self.clocks.append(clock)
        _event(clock, SlaEvent.Kind.APPLIED, at, due_at=_iso(clock.due_at))
        return clock

    def announce_breach(self, clock: SlaClock) -> None:
        clock.ticket = Ticket.objects.select_related("team__lead", "assignee").get(pk=clock.ticket_id)
        announce(
            [Transition(clock, SlaEvent.Kind.BREACHED, "ticket change")],
            self.now,
            live=self.live,
            replay=not self.live,  # the engine is not live only while replaying old history
        )

    def breach_if_overdue(self, clock: SlaClock, at: datetime) -> None:
        """Record a breach the sweep has not caught yet, at its true instant (no escalation: see docs)."""
        if clock.state != ClockState.RUNNING or clock.due_at is None or at <= clock.due_at:
            return
        clock.state = ClockState.BREACHED
        clock.breached_at = clock.due_at
        _event(
            clock,
            SlaEvent.Kind.BREACHED,
            clock.due_at,
            detected_at=_iso(self.now),
            detected_by="ticket change",
        )
        self.announce_breach(clock)

    def stop(self, clock: SlaClock, at: datetime, reason: str) -> None:
        self.breach_if_overdue(clock, at)
        self.fold(clock, at)
        if clock.state != ClockState.BREACHED:
            clock.state = (
                ClockState.BREACHED
                if clock.running_since is None and _measure(clock) > clock.target_seconds
                else ClockState.ACHIEVED
            )
            if clock.state == ClockState.BREACHED:
                clock.breached_at = at
                _event(clock, SlaEvent.Kind.BREACHED, at, detected_by="ticket change")
                self.announce_breach(clock)
        clock.stopped_at = at
        clock.running_since = None
        clock.paused_at = None
        clock.warn_at = None
        clock.final_business_seconds = clock.elapsed_business_seconds
        clock.final_calendar_seconds = clock.elapsed_calendar_seconds
        clock.save()
        _event(
            clock,
            SlaEvent.Kind.FULFILLED,
            at,
            reason=reason,
            outcome=clock.state,
            business_seconds=clock.final_business_seconds,
            calendar_seconds=clock.final_calendar_seconds,
        )

    def cancel(self, clock: SlaClock, reason: str) -> None:
        """Stop a clock whose policy no longer applies; a breach already recorded remains its outcome."""
        self.breach_if_overdue(clock, self.now)
        self.fold(clock, self.now)
        if clock.state != ClockState.BREACHED:
            clock.state = ClockState.CANCELLED
            clock.due_at = None
        clock.stopped_at = self.now
        clock.running_since = None
        clock.paused_at = None
        clock.warn_at = None
        clock.final_business_seconds = clock.elapsed_business_seconds
        clock.final_calendar_seconds = clock.elapsed_calendar_seconds
        clock.save()
        _event(clock, SlaEvent.Kind.CANCELLED, self.now, reason=reason)

    def pause(self, clock: SlaClock, reason: str) -> None:
        self.breach_if_overdue(clock, self.now)
        self.fold(clock, self.now)
        clock.running_since = None
        clock.paused_at = self.now
        if clock.state == ClockState.RUNNING:
            clock.state = ClockState.PAUSED
        self.schedule(clock)
        clock.save()
        _event(clock, SlaEvent.Kind.PAUSED, self.now, reason=reason, elapsed=_measure(clock))

    def resume(self, clock: SlaClock, reason: str) -> None:
        clock.running_since = self.now
        clock.paused_at = None
        if clock.state in (ClockState.PAUSED, ClockState.ACHIEVED):
            clock.state = ClockState.RUNNING
        clock.stopped_at = None
        clock.final_business_seconds = None
        clock.final_calendar_seconds = None
        self.schedule(clock)
        clock.save()
        _event(
            clock,
            SlaEvent.Kind.RESUMED,
            self.now,
            reason=reason,
            elapsed=_measure(clock),
            due_at=_iso(clock.due_at),
        )

    def retarget(self, clock: SlaClock, target: PolicyTarget) -> None:
        """Apply a new policy/target to a clock, keeping the time it has measured so far."""
        if clock.state == ClockState.BREACHED:
            return  # the breach was measured against the target then in force, and stays
        old = {
            "policy": clock.policy_id,
            "target_seconds": clock.target_seconds,
            "business_hours": clock.business_hours,
        }
        if clock.calendar_id != self.policy.calendar_id:
            # Time measured so far stays as measured on the old calendar; the new one counts from now.
            self.fold(clock, self.now)
            clock.calendar_id = self.policy.calendar_id
        # Otherwise the running segment is kept, so a tighter target that is already exceeded is due
        # at the instant it was exceeded, not at the moment of the change.
        clock.policy = self.policy
        clock.target_seconds = target.target_seconds
        clock.business_hours = target.business_hours
        self.schedule(clock)
        clock.save()
        _event(
            clock,
            SlaEvent.Kind.RECOMPUTED,
            self.now,
            previous=old,
            elapsed=_measure(clock),
            due_at=_iso(clock.due_at),
        )

    # - the rules -

    def open_clocks(self, metric: str | None = None) -> list[SlaClock]:
        return [c for c in self.clocks if c.is_open and (metric is None or c.metric == metric)]

    def target(self, metric: str) -> PolicyTarget | None:
        return self.targets.get((self.facts.priority, metric))

    def run(self, messages: Iterable[Message]) -> None:
        facts = self.facts
        if facts.merged_into_id is not None:
            for clock in self.open_clocks():
                self.cancel(clock, "ticket merged into another ticket")
            return
        self.apply_policy()
        if self.policy is None:
            return
        for message in messages:
            self.apply_message(message)
        self.apply_status()
        self.start_missing()

    def apply_policy(self) -> None:
        for clock in self.open_clocks():
            if self.policy is None:
                self.cancel(clock, "no policy applies any more")
                continue
            target = self.target(clock.metric)
            if target is None:
                self.cancel(
                    clock,
                    f"policy {self.policy} has no {clock.metric} target for priority {self.facts.priority}",
                )
            elif (
                clock.policy_id != self.policy.pk
                or clock.target_seconds != target.target_seconds
                or clock.business_hours != target.business_hours
                or clock.calendar_id != self.policy.calendar_id
            ):
                self.retarget(clock, target)

    def apply_message(self, message: Message) -> None:
        at = message.created_at
        if message.is_public_agent_reply:
            for metric in (*REPLY_METRICS, Metric.PERIODIC_UPDATE):
                for clock in self.open_clocks(metric):
                    if clock.started_at <= at:
                        self.stop(clock, at, "public agent reply")
        elif (
            message.author_role == Message.AuthorRole.CUSTOMER
            and message.visibility == Message.Visibility.PUBLIC
        ):
            waiting = any(self.open_clocks(metric) for metric in REPLY_METRICS)
            target = self.target(Metric.NEXT_RESPONSE)
            if not waiting and self.facts.first_response_at is not None and target is not None:
                self.start(Metric.NEXT_RESPONSE, at, target)

    def apply_status(self) -> None:
        status = self.facts.status
        if status not in transitions.UNSOLVED:
            for clock in self.open_clocks():
                self.stop(clock, self.now, f"ticket {status}")
            return
        pause = (status == Status.PENDING and self.policy.pause_when_pending) or (
            status == Status.ON_HOLD and self.policy.pause_when_on_hold
        )
        resolution = [
            c for c in self.clocks if c.metric == Metric.RESOLUTION and c.state != ClockState.CANCELLED
        ]
        if resolution and not resolution[-1].is_open:
            # A solved ticket was reopened: the resolution clock resumes where it stopped.
            clock = resolution[-1]
            clock.running_since = None
            clock.stopped_at = None
            clock.final_business_seconds = clock.final_calendar_seconds = None
            if clock.state == ClockState.ACHIEVED:
                clock.state = ClockState.PAUSED
            if pause:
                clock.paused_at = self.now
                clock.save()
                _event(clock, SlaEvent.Kind.PAUSED, self.now, reason=f"reopened as {status}")
            else:
                self.resume(clock, "ticket reopened")
            return
        for clock in self.open_clocks(Metric.RESOLUTION):
            if pause and clock.running_since is not None:
                self.pause(clock, f"ticket {status}")
            elif not pause and clock.running_since is None:
                self.resume(clock, f"ticket {status}")

    def start_missing(self) -> None:
        facts = self.facts
        if facts.status not in transitions.UNSOLVED:
            return
        existing = {c.metric for c in self.clocks if c.state != ClockState.CANCELLED}
        target = self.target(Metric.RESOLUTION)
        if target is not None and Metric.RESOLUTION not in existing:
            self.start(Metric.RESOLUTION, facts.created_at, target)
            if facts.status in (Status.PENDING, Status.ON_HOLD):
                self.apply_status()  # pauses it if the policy says so
        target = self.target(Metric.FIRST_RESPONSE)
        if (
            target is not None
            and Metric.FIRST_RESPONSE not in existing
            and facts.first_response_at is None
            and facts.first_customer_message_at is not None
        ):
            self.start(Metric.FIRST_RESPONSE, facts.first_customer_message_at, target)
        target = self.target(Metric.PERIODIC_UPDATE)
        if (
            target is not None
            and facts.first_response_at is not None
            and not self.open_clocks(Metric.PERIODIC_UPDATE)
        ):
            self.start(Metric.PERIODIC_UPDATE, self.now, target)


def _measure(clock: SlaClock) -> int:
    """Elapsed time in the target's own unit."""
    return clock.elapsed_business_seconds if clock.business_hours else clock.elapsed_calendar_seconds


def _event(clock: SlaClock, kind: str, at: datetime, **details: object) -> SlaEvent:
    event = _event_row(clock, kind, at, **details)
    event.save()
    return event


def _event_row(clock: SlaClock, kind: str, at: datetime, **details: object) -> SlaEvent:
    """An unsaved event of the clock's timeline; the sweep writes a batch of them at once."""
    return SlaEvent(
        clock=clock,
        kind=kind,
        at=at,
        policy_id=clock.policy_id,
        target_seconds=clock.target_seconds,
        business_hours=clock.business_hours,
        details=details,
    )


def sla_tickets_store_state(ticket_ids: Iterable[int]) -> None:
    """Store on each ticket what the queues read of its clocks (`selectors.ticket_sla_state`): the next due
    instant, when it counts as breached and its warning windows.

    One UPDATE; every writer of clocks (the engine, the sweep) calls it in the transaction that changes
    them, so queues sort and filter on indexed columns of the ticket instead of searching the clocks."""
    Ticket.objects.filter(pk__in=list(ticket_ids)).update(**selectors.ticket_sla_state(OuterRef("pk")))


def _run_engine(
    facts: TicketFacts,
    now: datetime,
    messages: list[Message],
    rules: list[selectors.PolicyRule],
    calendars: dict[int, BusinessCalendar],
    live: bool = True,
    store_state: bool = True,
    clocks_exist: bool = True,
) -> None:
    rule = selectors.policy_rule_for(facts, rules)
    clocks = []
    if clocks_exist:
        clocks = list(
            SlaClock.objects.select_for_update().filter(ticket_id=facts.pk).order_by("metric", "sequence")
        )
    if rule is None and not any(clock.is_open for clock in clocks):
        return
    engine = _Engine(
        facts=facts,
        now=now,
        policy=rule.policy if rule else None,
        targets=rule.targets if rule else {},
        clocks=clocks,
        _calendars=calendars,
        live=live,
    )
    engine.run(messages)
    if store_state:
        Ticket.objects.filter(pk=facts.pk).update(**ticket_sla_state_of(engine.clocks))


def sla_ticket_changed(
    *, ticket: Ticket, now: datetime, message: Message | None = None, messages: Iterable[Message] = ()
) -> None:
    """Bring the ticket's SLA clocks in line after a change; call inside the change's transaction.

    `message` is the message the change added, if any, or `messages` those several coalesced changes
    added (replies fulfil and customer messages start response clocks). Policy, targets, pauses and
    stops follow from the ticket's state at `now`.
    """
    # Outside a sweep, the rules and the calendars built so far are cached per process until the SLA
    # configuration changes (tickets/config_cache.py).
    rules, calendars = _sweep_rules.get() or cached(
        "sla_rules", lambda: (selectors.active_policy_rules(), {})
    )
    if not rules and not SlaClock.objects.filter(ticket_id=ticket.pk, stopped_at__isnull=True).exists():
        return  # nothing to measure: keeps ticket writes cheap on installs without SLA policies
    added = [*messages, *([message] if message is not None else [])]
    facts = selectors.ticket_facts(ticket.pk)
    # A ticket without clocks (a new one) has none to read and lock.
    _run_engine(facts, now, added, rules, calendars, clocks_exist=facts.has_clocks)


@transaction.atomic
def sla_ticket_replay(
    *,
    ticket: Ticket,
    rules: list[selectors.PolicyRule] | None = None,
    calendars: dict[int, BusinessCalendar] | None = None,
) -> int:
    """Build clocks for a ticket that predates the policies by replaying its messages and status changes.

    Returns the number of clocks the ticket has afterwards. Tickets that already have clocks are left alone.
    Replayed breaches happened in the past, so they are history, not news: they are audited, and nobody
    is notified (in-app or by email) and no webhook is emitted.
    A bulk caller passes `rules` and `calendars` once for all tickets, so they are loaded only once.
    """
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.sla_clocks.exists() or ticket.merged_into_id is not None:
        return ticket.sla_clocks.count()
    final = selectors.ticket_facts(ticket.pk)
    facts = replace(
        final,
        status=Status.NEW,
        first_response_at=None,
        solved_at=None,
        first_customer_message_at=final.created_at if final.opened_by_id is None else None,
    )
    steps: list[tuple[datetime, int, int, object]] = [
        (message.created_at, 0, message.pk, message)
        for message in ticket.messages.order_by("created_at", "pk")
    ]
    steps += [
        (entry.created_at, 1, entry.pk, entry.new_value)
        for entry in ticket.audit_entries.filter(action=AuditEntry.Action.FIELD_CHANGED, field="status")
    ]
    if not steps or steps[0][0] > final.created_at:
        steps.insert(0, (final.created_at, -1, 0, None))
    rules = selectors.active_policy_rules() if rules is None else rules
    calendars = {} if calendars is None else calendars
    # A service call writes its message and its status change at the same instant and then runs the hook
    # once, so the steps of one instant are applied together, messages seeing the final status.
    for at, group in groupby(sorted(steps, key=lambda step: step[:3]), key=lambda step: step[0]):
        messages = []
        for _, kind, _, item in group:
            if kind == 1:
                facts.status = str(item)
                facts.solved_at = at if item == Status.SOLVED else None
            elif kind == 0:
                messages.append(item)
        for message in messages:
            if message.author_role == Message.AuthorRole.CUSTOMER and facts.first_customer_message_at is None:
                facts.first_customer_message_at = at
            if (
                message.is_public_agent_reply
                and facts.first_response_at is None
                and facts.first_customer_message_at is not None
                and facts.first_customer_message_at <= at
            ):
                facts.first_response_at = at
            _run_engine(facts, at, [message], rules, calendars, live=False, store_state=False)
        if not messages:
            _run_engine(facts, at, [], rules, calendars, live=False, store_state=False)
    sla_tickets_store_state([ticket.pk])
    return ticket.sla_clocks.count()


# --- pinning --------------------------------------------------------------------------------------


@transaction.atomic
def sla_clock_pin_due(
    *,
    clock: SlaClock,
    due_at: datetime | None,
    actor: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> SlaClock:
    """Pin a clock's due time by hand (None unpins it and recomputes from the target)."""
    now = _now(now)
    if due_at is not None and timezone.is_naive(due_at):
        raise DomainError("The pinned due time needs a time zone; give an aware date and time.")
    ticket = Ticket.objects.select_for_update().get(pk=clock.ticket_id)
    clock = SlaClock.objects.select_for_update(of=("self",)).select_related("policy").get(pk=clock.pk)
    if not clock.is_open or clock.state == ClockState.BREACHED:
        raise DomainError(
            f"This {clock.get_metric_display().lower()} clock is {clock.get_state_display().lower()}; "
            "only a running or paused clock that has not breached can be pinned."
        )
    old = clock.pinned_due_at
    clock.pinned_due_at = due_at
    engine = _Engine(facts=selectors.ticket_facts(ticket.pk), now=now, policy=clock.policy)
    engine.fold(clock, now)
    engine.schedule(clock)
    clock.save()
    _event(
        clock,
        SlaEvent.Kind.PINNED,
        now,
        pinned_due_at=_iso(due_at),
        previous=_iso(old),
        due_at=_iso(clock.due_at),
    )
    sla_tickets_store_state([ticket.pk])
    ticket_services.audit_record(
        ticket=ticket,
        action=AuditEntry.Action.SLA,
        now=now,
        actor=actor,
        field=f"sla_{clock.metric}_due",
        old_value=_iso(old) or "",
        new_value=_iso(due_at) or "unpinned",
    )
    return clock


# --- the sweep ------------------------------------------------------------------------------------
