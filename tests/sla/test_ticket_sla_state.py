"""The SLA state stored on the ticket (`sla_breach_at`, `sla_warn_*`) stays what its clocks say.

The queue views, the team board and `?sla_state=` filter on these columns (`sla.selectors.breached_q`,
`breaching_soon_q`); the engine and the sweep store them in the transaction that changes the clocks. After
every kind of change, the filters must give, at every later instant, what the clocks themselves define.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import OuterRef

from sla import selectors
from sla import services as sla_services
from sla.models import ClockState, Metric, SlaClock
from sla.stored_state import ticket_sla_state_of
from tests import factories
from tickets import services
from tickets.models import Message, Priority, Status, Ticket

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
# Minutes after T0 at which the filters are compared with the clocks (those not before the change).
GRID = [0, 1, 30, 47, 48, 50, 59, 60, 61, 69, 70, 90, 119, 120, 121, 131, 383, 384, 385, 430, 479, 480, 481]
GRID += [530, 600, 24 * 60]
STORED = ["next_sla_due_at", "sla_breach_at", "sla_warn_from", "sla_warn_until", "sla_warn_one_window"]


@pytest.fixture
def policy(db):
    """First response within 60 minutes and resolution within 8 hours, warned at 80 %: two warning
    windows (minutes 48-60 and 384-480) that do not overlap; the resolution clock pauses when pending."""
    return factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={
            (Priority.NORMAL, Metric.FIRST_RESPONSE): (60 * 60, False),
            (Priority.NORMAL, Metric.RESOLUTION): (8 * 60 * 60, False),
        },
        warn_percent=80,
    )


def clocks_say(ticket: Ticket, now: datetime) -> tuple[bool, bool]:
    """(breached, breaching soon) at `now` by the clock-based definitions, read from the clocks."""
    clocks = [c for c in SlaClock.objects.filter(ticket=ticket) if c.stopped_at is None]
    running = [c for c in clocks if c.state == ClockState.RUNNING]
    breached = any(c.state == ClockState.BREACHED for c in clocks) or any(
        c.due_at is not None and c.due_at < now for c in running
    )
    soon = any(
        c.warn_at is not None and c.due_at is not None and c.warn_at <= now <= c.due_at for c in running
    )
    return breached, soon


def filters_say(ticket: Ticket, now: datetime) -> tuple[bool, bool]:
    one = Ticket.objects.filter(pk=ticket.pk)
    soon = one.filter(selectors.breaching_soon_q(now)).exists()
    # The desk's counts add up the arms of Breaching soon: together they are the filter, and disjoint.
    arms = [one.filter(arm).exists() for arm in selectors.breaching_soon_arms(now)]
    assert (sum(arms), any(arms)) == (int(soon), soon), (now, arms)
    return one.filter(selectors.breached_q(now)).exists(), soon


def assert_stored_state_holds(ticket: Ticket, since: datetime) -> None:
    derived = selectors.ticket_sla_state(OuterRef("pk"))
    row = (
        Ticket.objects.filter(pk=ticket.pk)
        .annotate(**{f"derived_{name}": expression for name, expression in derived.items()})
        .values(*STORED, *(f"derived_{name}" for name in STORED))
        .get()
    )
    assert {name: row[name] for name in STORED} == {name: row[f"derived_{name}"] for name in STORED}
    for minutes in GRID:
        now = T0 + timedelta(minutes=minutes)
        if now >= since:
            assert filters_say(ticket, now) == clocks_say(ticket, now), (since, minutes)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_the_stored_state_follows_start_warn_breach_pause_resume_and_fulfil(policy, team, agent_user):
    ticket = factories.ticket(team=team, now=T0)  # start: two clocks, two separate warning windows
    row = Ticket.objects.values("sla_warn_from", "sla_warn_until", "sla_warn_one_window").get(pk=ticket.pk)
    assert row == {"sla_warn_from": at(48), "sla_warn_until": at(480), "sla_warn_one_window": False}
    assert_stored_state_holds(ticket, T0)

    sla_services.sla_sweep(now=at(50))  # warn the first response
    assert_stored_state_holds(ticket, at(50))
    assert filters_say(ticket, at(50)) == (False, True)

    sla_services.sla_sweep(now=at(61))  # breach it: the resolution's window remains, alone
    assert_stored_state_holds(ticket, at(61))
    assert Ticket.objects.get(pk=ticket.pk).sla_warn_one_window

    services.ticket_change_status(ticket=ticket, status=Status.PENDING, now=at(70))  # pause the resolution
    assert_stored_state_holds(ticket, at(70))
    services.ticket_change_status(ticket=ticket, status=Status.OPEN, now=at(120))  # resume it, 50 min later
    assert_stored_state_holds(ticket, at(120))

    services.message_add(  # fulfil the breached first response
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="Looking into it.",
        now=at(131),
    )
    assert_stored_state_holds(ticket, at(131))
    assert filters_say(ticket, at(131)) == (False, False)

    sla_services.sla_sweep(now=at(440))  # warn the resolution (due at minute 530 after the pause)
    assert_stored_state_holds(ticket, at(440))
    assert filters_say(ticket, at(440)) == (False, True)

    services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=at(479))  # fulfil everything
    assert_stored_state_holds(ticket, at(479))
    assert Ticket.objects.values_list("sla_breach_at", "sla_warn_from").get(pk=ticket.pk) == (None, None)

    services.ticket_change_status(ticket=ticket, status=Status.OPEN, now=at(481))  # reopen: resumes
    assert_stored_state_holds(ticket, at(481))
    sla_services.sla_sweep(now=at(600))  # breach the resolution
    assert_stored_state_holds(ticket, at(600))
    assert filters_say(ticket, at(600)) == (True, False)


def test_overdue_clocks_the_sweep_has_not_reached_count_as_breached_and_not_as_breaching_soon(policy, team):
    """Between the windows: the first response is past due but still running (no sweep yet), the
    resolution not yet warned; the stored span covers the instant, the clocks decide."""
    ticket = factories.ticket(team=team, now=T0)
    assert filters_say(ticket, at(90)) == (True, False) == clocks_say(ticket, at(90))


def test_pinning_a_due_instant_stores_the_new_state(policy, team):
    ticket = factories.ticket(team=team, now=T0)
    resolution = SlaClock.objects.get(ticket=ticket, metric=Metric.RESOLUTION)
    sla_services.sla_clock_pin_due(clock=resolution, due_at=at(55), now=at(10))
    assert_stored_state_holds(ticket, at(10))
    assert Ticket.objects.get(pk=ticket.pk).sla_breach_at == at(55)


def test_the_engine_derives_the_same_state_as_the_sql_for_breached_gapped_and_no_windows():
    """The engine's in-memory twin of `selectors.ticket_sla_state` on cases the scenario above does not
    reach: a breached clock without its breach instant, a paused clock, no warning window at all."""

    def clock(state, **instants):
        return SlaClock(state=state, started_at=at(0), **instants)

    breached_without_instant = clock(ClockState.BREACHED, due_at=at(60))
    paused = clock(ClockState.PAUSED, due_at=at(10), warn_at=at(5))
    assert ticket_sla_state_of([breached_without_instant, paused]) == {
        "next_sla_due_at": at(60),
        "sla_breach_at": at(0),
        "sla_warn_from": None,
        "sla_warn_until": None,
        "sla_warn_one_window": True,
    }
    gapped = [
        clock(ClockState.RUNNING, warn_at=at(48), due_at=at(60)),
        clock(ClockState.RUNNING, warn_at=at(384), due_at=at(480)),
        clock(ClockState.RUNNING, warn_at=at(500), due_at=at(490)),  # an empty window counts for nothing
    ]
    assert ticket_sla_state_of(gapped) == {
        "next_sla_due_at": at(60),
        "sla_breach_at": at(60),
        "sla_warn_from": at(48),
        "sla_warn_until": at(480),
        "sla_warn_one_window": False,
    }
