"""The breach forecast read from real clocks, agents and history: selector, API and board panel."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sla import selectors
from sla.business_time import BusinessCalendar
from sla.models import Metric
from tests import factories
from tests.conftest import _on_postgres
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
    _, calendar = selectors.team_calendar(crew["team"], NOW)
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


def test_breached_tickets_are_counted_apart_and_agents_open_tickets_in_every_team_count(crew):
    late = factories.ticket(team=crew["team"], subject="Late", now=NOW - timedelta(hours=2))  # due 1 h ago
    _tickets_of_ben(crew, count=1)
    other_team = factories.TeamFactory()
    crew["ana"].teams.add(other_team)
    elsewhere = factories.ticket(team=other_team, now=NOW - timedelta(minutes=5))
    services.ticket_assign(ticket=elsewhere, assignee=crew["ana"].user, now=NOW - timedelta(minutes=5))

    forecast = selectors.team_breach_forecast(crew["team"], NOW)

    assert forecast.already_breached == 1
    assert late not in [f.ticket for f in forecast.first_breaches]
    # Ana (capacity 5) already holds a ticket of another team; she can still take Ben's.
    assert [s.to_agent for s in forecast.suggestions] == [str(crew["ana"])]
    _, agents, _ = selectors.forecast_inputs(crew["team"], NOW, BusinessCalendar.always_open(), 8)
    assert {a.label: a.open_tickets for a in agents}[str(crew["ana"])] == 1


def test_clocks_counting_calendar_time_are_forecast_on_a_24_7_calendar(team):
    office = factories.sla_calendar(
        name="Office", time_zone="UTC", weekly_hours={d: [(time(9), time(17))] for d in range(5)}
    )
    factories.sla_policy(
        calendar=office, targets={(Priority.NORMAL, Metric.FIRST_RESPONSE): (3600, False)}, position=5
    )
    factories.ticket(team=team, now=NOW - timedelta(minutes=10))
    assert selectors.team_calendar(team, NOW)[0] == "24/7"
    factories.sla_policy(
        calendar=office,
        targets={(Priority.NORMAL, Metric.FIRST_RESPONSE): 3600},
        name="Office hours",
        position=0,
    )
    for _ in range(2):
        factories.ticket(team=team, now=NOW - timedelta(minutes=5))
    assert selectors.team_calendar(team, NOW)[0] == "Office"  # most of the running clocks now


@pytest.mark.skipif(not _on_postgres(), reason="EXPLAIN checks are for PostgreSQL")
def test_the_forecast_reads_the_teams_unsolved_tickets_through_their_partial_index(crew):
    _tickets_of_ben(crew, count=2)
    factories.desk_for_the_planner(
        teams=[crew["team"], *factories.TeamFactory.create_batch(7)],
        assignees=[crew["ana"].user, crew["ben"].user],
    )
    with CaptureQueriesContext(connection) as captured:
        selectors.team_breach_forecast(crew["team"], NOW)
    assert len(captured.captured_queries) <= 12  # a fixed number of statements, whatever the backlog
    plans = {}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in captured.captured_queries:
            cursor.execute("EXPLAIN " + query["sql"])
            plans[query["sql"]] = "\n".join(row[0] for row in cursor.fetchall())
    by_due = [plan for sql, plan in plans.items() if '"next_sla_due_at" <' in sql or "ORDER BY U0" in sql]
    assert len(by_due) >= 2 and all("ticket_unsolved_team_next_due" in plan for plan in by_due), by_due
    # The open tickets per agent are counted for the team's agents only; which index serves them depends on
    # how selective the assignees are (at 1M tickets: index-only on `ticket_assignee_status`), so only
    # the absence of a table scan is checked here.
    assert all("Seq Scan on tickets_ticket" not in plan for plan in plans.values()), plans
