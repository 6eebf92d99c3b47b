"""SLA status for a ticket and for lists, queue filters and ordering."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import F

from sla import selectors
from sla import services as sla_services
from sla.models import ClockState, Metric
from tests import factories
from tickets import services
from tickets.models import Message, Priority, Status, Ticket

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
MINUTE = 60


@pytest.fixture
def policy(db):
    return factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={
            (Priority.NORMAL, Metric.FIRST_RESPONSE): 60 * MINUTE,
            (Priority.NORMAL, Metric.RESOLUTION): 240 * MINUTE,
            (Priority.HIGH, Metric.FIRST_RESPONSE): 30 * MINUTE,
        },
    )


def test_ticket_status_gives_target_due_remaining_and_state_per_metric(policy, ticket, agent_user):
    ticket = factories.ticket(team=ticket.team, now=T0)
    status = selectors.ticket_sla_status(ticket, T0 + timedelta(minutes=20))
    assert [(s.metric, s.target_seconds, s.due_at, s.remaining_seconds, s.state) for s in status] == [
        (Metric.FIRST_RESPONSE, 3600, T0 + timedelta(minutes=60), 40 * MINUTE, ClockState.RUNNING),
        (Metric.RESOLUTION, 14400, T0 + timedelta(minutes=240), 220 * MINUTE, ClockState.RUNNING),
    ]
    sla_services.sla_sweep(now=T0 + timedelta(minutes=90))
    first, resolution = selectors.ticket_sla_status(ticket, T0 + timedelta(minutes=90))
    assert (first.state, first.breached_at, first.remaining_seconds) == (
        ClockState.BREACHED,
        T0 + timedelta(minutes=60),
        -30 * MINUTE,
    )
    services.ticket_change_status(ticket=ticket, status=Status.PENDING, now=T0 + timedelta(minutes=100))
    first, resolution = selectors.ticket_sla_status(ticket, T0 + timedelta(hours=9))
    assert (resolution.paused, resolution.due_at, resolution.remaining_seconds) == (True, None, 140 * MINUTE)


def test_bulk_status_costs_one_query_whatever_the_number_of_tickets(
    policy, team, agent_user, django_assert_num_queries
):
    tickets = [factories.ticket(team=team, now=T0 + timedelta(minutes=n)) for n in range(6)]
    services.message_add(
        ticket=tickets[0],
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="Hi",
        now=T0 + timedelta(minutes=5),
    )
    no_clocks = Ticket.objects.create(subject="x", customer=tickets[0].customer, created_at=T0, updated_at=T0)
    ids = [ticket.pk for ticket in tickets] + [no_clocks.pk]
    with django_assert_num_queries(1):
        statuses = selectors.sla_status_for_tickets(ids, T0 + timedelta(minutes=10))
    assert statuses[no_clocks.pk] == []
    assert [s.state for s in statuses[tickets[0].pk]] == [ClockState.ACHIEVED, ClockState.RUNNING]
    assert statuses[tickets[3].pk][0].remaining_seconds == 53 * MINUTE


def test_queue_filters_find_breached_and_soon_due_tickets_and_order_by_next_due(policy, team):
    early = factories.ticket(team=team, now=T0)
    late = factories.ticket(team=team, now=T0 + timedelta(minutes=40))
    urgent = factories.ticket(team=team, priority=Priority.HIGH, now=T0 + timedelta(minutes=20))
    sla_services.sla_sweep(now=T0 + timedelta(minutes=61))
    qs = Ticket.objects.all()
    assert set(selectors.tickets_breached(qs)) == {early, urgent}
    now = T0 + timedelta(minutes=61)
    assert set(selectors.tickets_breaching_within(qs, 40, now)) == {late}
    assert set(selectors.tickets_breaching_within(qs, 0, now)) == set()
    ordered = list(selectors.annotate_next_sla_due(qs).order_by(F("next_sla_due").asc(nulls_last=True)))
    # Breached and unfulfilled clocks count, so the most overdue ticket comes first.
    assert [(t, t.next_sla_due) for t in ordered] == [
        (urgent, T0 + timedelta(minutes=50)),
        (early, T0 + timedelta(minutes=60)),
        (late, T0 + timedelta(minutes=100)),
    ]


@pytest.mark.parametrize("minutes", [-1, "10", 1.5, True])
def test_breaching_within_refuses_a_malformed_window(minutes):
    with pytest.raises(ValueError, match="non-negative whole number"):
        selectors.tickets_breaching_within(Ticket.objects.all(), minutes, T0)
