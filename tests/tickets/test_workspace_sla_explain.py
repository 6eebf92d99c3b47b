"""The ticket page's SLA explainer panel (workspace view over sla.selectors through the SLA adapter)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sla.models import Metric
from tests import factories
from tickets.models import Priority
from tickets.workspace.services import desk_profile_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket_with_clock(customer, team):
    factories.sla_policy(
        calendar=factories.sla_calendar(), targets={(Priority.NORMAL, Metric.FIRST_RESPONSE): 4 * 3600}
    )
    # Thursday 8 January 2026 15:00 in Copenhagen; Friday is not a holiday here.
    return factories.ticket(
        customer=customer, team=team, now=datetime(2026, 1, 8, 15, tzinfo=ZoneInfo("Europe/Copenhagen"))
    )


def test_ticket_page_offers_the_explainer(desk_client, agent_user, ticket_with_clock):
    page = desk_client(agent_user).get(f"/desk/tickets/{ticket_with_clock.pk}/")
    assert b'id="sla-explain"' in page.content
    assert f"/desk/tickets/{ticket_with_clock.pk}/sla/explain/".encode() in page.content


def test_explainer_shows_the_arithmetic_in_the_agents_zone(desk_client, agent_user, ticket_with_clock):
    client = desk_client(agent_user)
    body = client.get(f"/desk/tickets/{ticket_with_clock.pk}/sla/explain/?tz=Asia/Tokyo").content.decode()
    assert "Times in Asia/Tokyo" in body
    # 2 h Thursday + 2 h Friday morning in Copenhagen: due Friday 11:00 CET = 19:00 in Tokyo.
    assert "due Fri 09 Jan 2026 19:00:00 JST" in body
    assert "Standard" in body


def test_explainer_without_a_zone_speaks_the_agents_profile_zone(desk_client, agent_user, ticket_with_clock):
    desk_profile_update(user=agent_user, time_zone="Asia/Tokyo")
    body = desk_client(agent_user).get(f"/desk/tickets/{ticket_with_clock.pk}/sla/explain/").content.decode()
    assert "Times in Asia/Tokyo" in body
    assert "due Fri 09 Jan 2026 19:00:00 JST" in body


def test_explainer_refuses_an_unknown_zone_and_hides_other_teams_tickets(
    desk_client, agent_user, ticket_with_clock
):
    client = desk_client(agent_user)
    assert client.get(f"/desk/tickets/{ticket_with_clock.pk}/sla/explain/?tz=Nowhere/City").status_code == 400
    other = factories.ticket(team=factories.TeamFactory())
    assert client.get(f"/desk/tickets/{other.pk}/sla/explain/").status_code == 404
