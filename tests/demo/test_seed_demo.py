from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from sla import selectors as sla_selectors
from sla.models import Policy
from surveys.models import SurveyResponse
from tickets import transitions
from tickets.models import (
    Agent,
    Channel,
    Customer,
    Macro,
    Message,
    Notification,
    PhoneCall,
    PublishedAnswer,
    RoutingRule,
    Status,
    Team,
    Ticket,
    TicketMetrics,
    WebhookDelivery,
)

pytestmark = pytest.mark.django_db

# A Monday morning in New York, after a weekend's backlog built up: the hardest hour for the desk.
MONDAY_MORNING = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)


def test_the_demo_is_a_healthy_busy_desk_at_the_end_of_seeding(
    email_queue, django_capture_on_commit_callbacks, mailoutbox
):
    """Seeded at a smaller size with the demo's rates (40 tickets a day) on a Monday morning."""
    now = MONDAY_MORNING
    out = StringIO()
    with time_machine.travel(now, tick=False), django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", tickets=360, customers=100, days=9, stdout=out)
    unsolved = Ticket.objects.filter(status__in=transitions.UNSOLVED)
    breached = sla_selectors.tickets_breached(unsolved, now).count()
    assert unsolved.count() >= 25
    assert 0.03 <= breached / unsolved.count() <= 0.15, (breached, unsolved.count())
    breaching = sla_selectors.tickets_breaching_within(unsolved, 60, now)
    assert breaching.exclude(pk__in=sla_selectors.tickets_breached(unsolved, now).values("pk")).exists()
    assert {Status.NEW, Status.OPEN, Status.PENDING, Status.SOLVED, Status.CLOSED} <= set(
        Ticket.objects.values_list("status", flat=True)
    )
    assert set(Ticket.objects.values_list("channel", flat=True)) == set(Channel.values)
    assert set(SurveyResponse.objects.values_list("kind", flat=True)) == {"csat", "ces", "nps"}
    # A healthy phone queue: few callers give up, and most calls are answered within the service level.
    inbound = PhoneCall.objects.filter(direction="inbound")
    answered_soon = inbound.filter(outcome="answered", queue_wait_seconds__lte=20).count()
    assert inbound.filter(outcome="abandoned").count() <= 0.15 * inbound.count()
    assert answered_soon >= 0.7 * inbound.count() > 0, (answered_soon, inbound.count())
    assert Macro.objects.count() >= 3 and RoutingRule.objects.count() >= 3
    # The support form has public answers to suggest, each written from a closed ticket.
    assert PublishedAnswer.objects.filter(is_published=True, ticket__status=Status.CLOSED).exists()
    assert Team.objects.filter(is_default=True).count() == 1
    assert Policy.objects.count() == 2
    # History is never mailed, announced to webhooks or piled into the bell.
    assert email_queue == [] and mailoutbox == []
    assert not Message.objects.exclude(delivery_status="").exists()
    assert not WebhookDelivery.objects.exists()
    assert not Notification.objects.exists()
    # Last activity is the story's: only the breaches escalated right now touch a ticket at seeding time.
    assert Ticket.objects.filter(updated_at=now).count() <= breached
    # The logins README.md names, and people with whole names.
    assert Agent.objects.filter(user__username="agent").exists()
    assert Team.objects.filter(lead__username="lead").exists()
    assert all(len(c.name.split()[0]) > 1 for c in Customer.objects.all())
    # Customers are customers since their first contact, not since the seed ran.
    first = Ticket.objects.order_by("created_at").first()
    assert Customer.objects.get(pk=first.customer_id).created_at == first.created_at
    assert "Demo ready" in out.getvalue()
    # The metric columns the services keep are filled as the services would have: a ticket solved once
    # spent its whole life until the solve waiting on the team (new, open, on hold) or on the customer.
    solved_once = TicketMetrics.objects.filter(ticket__status=Status.SOLVED, reopens=0)
    assert solved_once.count() >= 10
    for row in solved_once:
        assert row.requester_wait_seconds + row.agent_wait_seconds == row.resolution_seconds
        assert row.first_resolution_seconds == row.resolution_seconds
        assert row.requester_wait_business_seconds <= row.requester_wait_seconds
        assert row.resolution_business_seconds <= row.resolution_seconds
        assert (row.team_stations, row.assignee_stations) == (1, 1)
    assert TicketMetrics.objects.filter(agent_wait_seconds__gt=0).exists()
    assert TicketMetrics.objects.filter(on_hold_seconds__gt=0).exists()
    assert PhoneCall.objects.filter(outcome="answered", wrap_up_seconds__gt=0).exists()


def test_seed_demo_refuses_clearly_when_data_exists():
    call_command("seed_demo", tickets=10, customers=5, days=2, stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert Ticket.objects.count() == 13  # ten arrivals and the three VIP tickets that just arrived
    assert "already present (13 tickets); nothing was changed" in out.getvalue()
