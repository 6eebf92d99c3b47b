"""The breach forecast read from real clocks, agents and history: selector, API and board panel."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine

from sla import selectors
from sla.models import Metric
from tests import factories
from tickets import services
from tickets.models import Message, Priority

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def crew(team):
    factories.sla_policy(
        calendar=factories.sla_calendar(
            name="Always", time_zone="UTC", weekly_hours={d: [(time(0), time(0))] for d in range(7)}
        ),
        targets={
            (Priority.NORMAL, Metric.FIRST_RESPONSE): 3600,
            (Priority.NORMAL, Metric.RESOLUTION): 30 * 3600,
        },
    )
    lead = factories.AgentFactory(teams=[team], user__first_name="Lena").user
    team.lead = lead
    team.save(update_fields=["lead"])
    ana = factories.AgentFactory(teams=[team], user__first_name="Ana", capacity=5)
    ben = factories.AgentFactory(teams=[team], user__first_name="Ben", is_available=False)
    factories.AgentFactory(teams=[team], user__first_name="Lou", is_available=False)
    lead.agent.is_available = False
    lead.agent.save()
    return {"team": team, "lead": lead, "ana": ana, "ben": ben}


def _tickets_of_ben(crew, count=3):
    tickets = []
    for index in range(count):
        ticket = factories.ticket(
            team=crew["team"], subject=f"Waiting {index}", now=NOW - timedelta(minutes=10)
        )
        services.ticket_assign(ticket=ticket, assignee=crew["ben"].user, now=NOW - timedelta(minutes=9))
        tickets.append(ticket)
    return tickets


def test_an_away_agents_tickets_will_breach_and_one_can_be_saved_by_a_free_colleague(crew):
    tickets = _tickets_of_ben(crew)

    forecast = selectors.team_breach_forecast(crew["team"], NOW)

    # Each first response is due in 50 minutes; Ben is away, so all three breach if nothing changes.
    assert forecast.breaches_within == {2: 3, 4: 3, 8: 3}
    assert forecast.handling_seconds == selectors.HANDLING_DEFAULT_SECONDS  # no history yet
    assert forecast.agents_on_duty == 1
    assert [f.ticket for f in forecast.first_breaches] == tickets
    # Ana can reply to one in 30 minutes (before its due time); the next would take her to 60.
    assert [(s.ticket, s.to_agent) for s in forecast.suggestions] == [(tickets[0], str(crew["ana"]))]
    assert forecast.suggestions[0].finish_at == NOW + timedelta(minutes=30)
    assert forecast.breaches_within_after_suggestions == {2: 2, 4: 2, 8: 2}


def test_handling_time_is_the_median_from_assignment_to_first_reply(crew):
    for minutes in (10, 20, 40, 50, 60):
        ticket = factories.ticket(team=crew["team"], now=NOW - timedelta(days=1))
        services.ticket_assign(ticket=ticket, assignee=crew["ana"].user, now=NOW - timedelta(days=1))
        services.message_add(
            ticket=ticket,
            author_role=Message.AuthorRole.AGENT,
            author_user=crew["ana"].user,
            body_text="Done",
            now=NOW - timedelta(days=1) + timedelta(minutes=minutes),
        )
    _, calendar = selectors.team_calendar(crew["team"])
    assert selectors.team_handling_seconds(crew["team"], NOW, calendar) == (40 * 60, 5)


@time_machine.travel(NOW, tick=False)
def test_the_api_gives_the_forecast_to_the_lead_only(crew, as_user):
    _tickets_of_ben(crew, count=1)
    team = crew["team"]
    response = as_user(crew["lead"]).get(f"/api/v1/teams/{team.pk}/breach-forecast/")
    assert response.status_code == 200
    body = response.json()
    assert [h["business_hours"] for h in body["horizons"]] == [2, 4, 8]
    assert body["suggestions"][0]["to_agent"] == str(crew["ana"])
    assert as_user(crew["ana"].user).get(f"/api/v1/teams/{team.pk}/breach-forecast/").status_code == 403
    assert as_user(crew["lead"]).get("/api/v1/teams/999999/breach-forecast/").status_code == 404


def test_the_forecast_endpoint_is_in_the_openapi_schema(client):
    paths = client.get("/api/v1/schema/?format=json").json()["paths"]
    assert "get" in paths["/api/v1/teams/{team_pk}/breach-forecast/"]


@time_machine.travel(NOW, tick=False)
def test_the_board_panel_lists_the_breaches_and_a_one_click_reassignment(crew, desk_client):
    _tickets_of_ben(crew, count=2)
    client = desk_client(crew["lead"])
    board = client.get("/desk/team/").content.decode()
    assert f"/desk/team/{crew['team'].pk}/forecast/" in board
    panel = client.get(f"/desk/team/{crew['team'].pk}/forecast/").content.decode()
    assert "Breaching first" in panel
    assert f"to {crew['ana']}</button>" in panel
    assert desk_client(crew["ana"].user).get(f"/desk/team/{crew['team'].pk}/forecast/").status_code == 403
