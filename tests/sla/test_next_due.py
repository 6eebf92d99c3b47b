"""Ticket.next_sla_due_at: the earliest due instant of a running clock, stored by every clock writer."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import OuterRef

from sla import selectors
from sla import services as sla_services
from sla.models import Metric, SlaClock
from tests import factories
from tickets import services
from tickets.models import Message, Priority, Status, Ticket

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def policy(db):
    return factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={
            (Priority.NORMAL, Metric.FIRST_RESPONSE): 3600,
            (Priority.NORMAL, Metric.RESOLUTION): 4 * 3600,
        },
    )


def stored(ticket: Ticket):
    return Ticket.objects.values_list("next_sla_due_at", flat=True).get(pk=ticket.pk)


def computed(ticket: Ticket):
    return (
        Ticket.objects.filter(pk=ticket.pk)
        .annotate(due=selectors.earliest_due(OuterRef("pk")))
        .values_list("due", flat=True)
        .get()
    )


def test_next_due_follows_creation_pins_breaches_pauses_and_solving(policy, team, agent_user):
    ticket = factories.ticket(team=team, now=T0)
    assert stored(ticket) == T0 + timedelta(hours=1) == computed(ticket)

    resolution = SlaClock.objects.get(ticket=ticket, metric=Metric.RESOLUTION)
    pinned = T0 + timedelta(minutes=50)
    sla_services.sla_clock_pin_due(clock=resolution, due_at=pinned, now=T0 + timedelta(minutes=10))
    assert stored(ticket) == pinned == computed(ticket)

    # A breach keeps the clock's due instant (the sweep does not write the ticket): still unfulfilled.
    sla_services.sla_sweep(now=T0 + timedelta(hours=1, minutes=1))
    assert stored(ticket) == pinned == computed(ticket)

    services.ticket_change_status(ticket=ticket, status=Status.PENDING, now=T0 + timedelta(minutes=70))
    assert stored(ticket) == computed(ticket)

    services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="Fixed.",
        new_status=Status.SOLVED,
        now=T0 + timedelta(minutes=80),
    )
    assert stored(ticket) is None and computed(ticket) is None


def test_replayed_tickets_store_their_next_due(team):
    ticket = factories.ticket(team=team, now=T0)
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={(Priority.NORMAL, Metric.RESOLUTION): 4 * 3600},
    )
    assert stored(ticket) is None
    sla_services.sla_ticket_replay(ticket=ticket)
    assert stored(ticket) == T0 + timedelta(hours=4) == computed(ticket)
