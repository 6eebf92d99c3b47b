"""The ticket list's hand-written rows (`TicketRowSerializer`) answer exactly what `TicketSerializer` does."""

from datetime import timedelta

import pytest
from django.db.models import DateTimeField, FloatField, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from tests import factories
from tickets import selectors
from tickets.api.serializers import TicketSerializer
from tickets.models import NO_SLA_DUE, Priority, Status, Tag, Ticket

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"
# The columns TicketFilterSet annotates for these orders (relevance without `q`: all equal).
ORDER_COLUMNS = {
    "next_sla_due": {
        "next_sla_due_or_last": Coalesce("next_sla_due_at", Value(NO_SLA_DUE, output_field=DateTimeField()))
    },
    "relevance": {"search_rank": Value(0.0, output_field=FloatField())},
}


@pytest.fixture
def varied_tickets(team):
    """Tickets that differ in every field a row shows, including the empty and null cases."""
    organization = factories.OrganizationFactory()
    named = factories.AgentFactory(teams=[team], user__first_name="Åsa", user__last_name="Ngũgĩ").user
    unnamed = factories.AgentFactory(teams=[team], user__first_name="", user__last_name="").user
    last_only = factories.AgentFactory(teams=[team], user__first_name="", user__last_name="Okafor").user
    people = [
        factories.CustomerFactory(organization=organization, is_vip=True, name="Zoë <b>d'Arc</b>"),
        factories.CustomerFactory(email=None, name=""),
        factories.CustomerFactory(),
    ]
    tags = [Tag.objects.create(name=name) for name in ("zebra", "billing", "vip-escalation")]
    now = timezone.now().replace(microsecond=123456)
    tickets = []
    for index, (priority, status) in enumerate(
        [
            (Priority.URGENT, Status.OPEN),
            (Priority.LOW, Status.NEW),
            (Priority.HIGH, Status.SOLVED),
            (Priority.NORMAL, Status.CLOSED),
            (Priority.URGENT, Status.PENDING),
            (Priority.LOW, Status.OPEN),
        ]
    ):
        ticket = factories.ticket(
            customer=people[index % 3],
            team=None if index == 5 else team,
            subject=f"Ticket {index} — «quoted» \u2028 line",
            priority=priority,
            now=now - timedelta(hours=index, seconds=index),
        )
        ticket.tags.set(tags[: index % 4])
        Ticket.objects.filter(pk=ticket.pk).update(status=status)
        tickets.append(ticket)
    Ticket.objects.filter(pk=tickets[0].pk).update(assignee=named, reopen_count=2, next_sla_due_at=now)
    Ticket.objects.filter(pk=tickets[1].pk).update(assignee=unnamed, reference=None)
    Ticket.objects.filter(pk=tickets[2].pk).update(
        assignee=last_only,
        status=Status.SOLVED,
        first_response_at=now - timedelta(minutes=30),
        solved_at=now,
        follow_up_of=tickets[0],
    )
    Ticket.objects.filter(pk=tickets[3].pk).update(
        status=Status.CLOSED,
        solved_at=now - timedelta(days=3),
        closed_at=now - timedelta(days=1, microseconds=1),
        merged_into=tickets[0],
    )
    Ticket.objects.filter(pk=tickets[4].pk).update(
        status=Status.PENDING, next_sla_due_at=now - timedelta(hours=1), updated_at=now + timedelta(hours=2)
    )
    return tickets


def _pages(client, query: str) -> list[dict]:
    rows, url = [], f"{TICKETS}?page_size=2&{query}"
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        rows += response.json()["results"]
        url = response.json()["next"]
    return rows


@pytest.mark.parametrize("time_zone", ["UTC", "America/St_Johns"])
@pytest.mark.parametrize("ordering", list(selectors.TICKET_ORDERINGS))
def test_rows_equal_the_ticket_serializer_in_every_order_and_time_zone(
    as_user, admin_user, varied_tickets, settings, time_zone, ordering
):
    settings.TIME_ZONE = time_zone
    rows = _pages(as_user(admin_user), f"ordering={ordering}")

    tickets = selectors.ticket_list(user=admin_user).annotate(**ORDER_COLUMNS.get(ordering, {}))
    expected = TicketSerializer(tickets.order_by(*selectors.TICKET_ORDERINGS[ordering]), many=True).data
    assert rows == expected
    assert len(rows) == len(varied_tickets)


def test_rows_equal_the_ticket_serializer_for_an_agent_with_filters(as_user, agent_user, varied_tickets):
    Ticket.objects.filter(pk=varied_tickets[1].pk).update(assignee=agent_user)
    client = as_user(agent_user)
    for query in ("status=open", "status=new&status=pending", "tag=billing", "priority=low", "assignee=me"):
        rows = _pages(client, query)
        shown = Ticket.objects.filter(pk__in=[row["id"] for row in rows]).order_by("-created_at", "-pk")
        assert rows and rows == TicketSerializer(shown, many=True).data, query


def test_a_users_teams_as_member_and_as_lead_are_read_in_one_query(team, django_assert_num_queries):
    led, elsewhere = factories.TeamFactory(), factories.TeamFactory()
    agent = factories.AgentFactory(teams=[team, led])
    led.lead = agent.user
    led.save()
    lead_only = factories.TeamFactory(lead=agent.user)

    with django_assert_num_queries(1):
        teams = selectors.user_team_ids(agent.user)

    assert teams == sorted([team.pk, led.pk, lead_only.pk])
    assert elsewhere.pk not in teams
