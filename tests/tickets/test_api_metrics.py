import csv
import io
from datetime import UTC, date, datetime

import pytest

from tests import factories
from tickets import services

pytestmark = pytest.mark.django_db

URL = "/api/v1/metrics/"
RANGE = "start=2026-03-01&end=2026-03-31"


@pytest.fixture
def teams():
    lead = factories.UserFactory(username="lead")
    led = factories.TeamFactory(name="Led", lead=lead)
    other = factories.TeamFactory(name="Other")
    when = datetime(2026, 3, 5, 9, tzinfo=UTC)
    factories.ticket(team=led, now=when)
    ticket = factories.ticket(team=other, now=when)
    services.ticket_change_status(ticket=ticket, status="solved", now=when.replace(hour=10))
    return {"lead": lead, "led": led, "other": other}


def test_plain_agents_cannot_read_metrics(as_user, agent_user):
    response = as_user(agent_user).get(f"{URL}?{RANGE}")
    assert response.status_code == 403
    assert "team leads and admins" in response.json()["detail"]


def test_team_lead_sees_only_the_teams_they_lead(as_user, teams):
    client = as_user(teams["lead"])
    body = client.get(f"{URL}?{RANGE}&group_by=team").json()
    assert [g["label"] for g in body["groups"]] == ["Led"]
    assert body["totals"]["tickets_created"] == 1
    response = client.get(f"{URL}?{RANGE}&team={teams['other'].pk}")
    assert response.status_code == 400
    assert "teams you lead" in response.json()["errors"]["team"][0]


def test_admin_sees_all_teams(as_user, admin_user, teams):
    body = as_user(admin_user).get(f"{URL}?{RANGE}&group_by=team").json()
    assert [g["label"] for g in body["groups"]] == ["Led", "Other"]
    assert body["totals"]["tickets_solved"] == 1
    assert body["groups"][0]["csat"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "start"),
        ("start=2026-03-01", "end"),
        ("start=yesterday&end=2026-03-02", "start"),
        ("start=2026-03-05&end=2026-03-01", "end"),
        ("start=2020-01-01&end=2026-03-01", "end"),
        (f"{RANGE}&group_by=year", "group_by"),
        (f"{RANGE}&channel=fax", "channel"),
        (f"{RANGE}&team=abc", "team"),
    ],
)
def test_bad_query_parameters_answer_400_naming_the_field(as_user, admin_user, query, field):
    response = as_user(admin_user).get(f"{URL}?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_csv_export_has_one_row_per_group_and_a_total(as_user, admin_user, teams):
    response = as_user(admin_user).get(f"{URL}?{RANGE}&group_by=team&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["label"] for row in rows] == ["Led", "Other", "Total"]
    assert rows[2]["tickets_created"] == "2"
    assert rows[1]["resolution_hours_mean"] == "1.0"
    assert rows[0]["csat"] == ""


def test_csv_errors_still_say_what_was_wrong(as_user, admin_user):
    response = as_user(admin_user).get(f"{URL}?format=csv")
    assert response.status_code == 400
    assert "start" in response.content.decode()


def test_survey_and_phone_measures_in_json_and_csv_follow_the_lead_scope(as_user, teams):
    from surveys.models import SurveySettings
    from surveys.services import survey_response_record

    when = datetime(2026, 3, 6, 9, tzinfo=UTC)
    for team, score in ((teams["led"], 5), (teams["other"], 1)):
        SurveySettings.objects.create(team=team, kinds=["csat"], delay_minutes=0, throttle_days=0)
        ticket = factories.ticket(team=team, now=when)
        services.ticket_change_status(ticket=ticket, status="solved", now=when)
        survey_response_record(
            invitation=factories.sent_survey(ticket=ticket, now=when), answers={"csat": score}, now=when
        )
        factories.phone_call(ticket=ticket, started_at=when, queue_wait_seconds=score * 10)
    client = as_user(teams["lead"])
    totals = client.get(f"{URL}?{RANGE}").json()["totals"]
    # Only the led team's answer (5) and call (50 s wait) count for its lead.
    assert (totals["csat"], totals["csat_responses"], totals["survey_response_rate"]) == (100.0, 1, 1.0)
    assert (totals["phone_calls"], totals["phone_average_speed_of_answer_seconds"]) == (1, 50.0)
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"{URL}?{RANGE}&group_by=team&format=csv").content.decode()))
    )
    assert [(r["label"], r["csat"], r["surveys_sent"], r["phone_abandonment_rate"]) for r in rows] == [
        ("Led", "100.0", "1", "0.0"),
        ("Total", "100.0", "1", "0.0"),
    ]


def _bulk_tickets(team, agents, n: int) -> None:
    """n solved tickets with metric columns and one answered call each, written in bulk (no services)."""
    from tickets.models import PhoneCall, Ticket, TicketMetrics

    when = datetime(2026, 3, 5, 9, tzinfo=UTC)
    customer = factories.CustomerFactory()
    start = Ticket.objects.count()
    tickets = Ticket.objects.bulk_create(
        Ticket(
            subject=f"Bulk {start + i}",
            reference=f"BULK-{start + i}",
            reply_token=f"bulk{start + i}",
            customer=customer,
            team=team,
            assignee=agents[i % len(agents)],
            status="solved",
            created_at=when,
            updated_at=when,
            first_response_at=when.replace(hour=10),
            solved_at=when.replace(hour=11),
        )
        for i in range(n)
    )
    TicketMetrics.objects.bulk_create(
        TicketMetrics(
            ticket=ticket,
            first_response_seconds=3600,
            resolution_seconds=7200,
            agent_public_replies=1,
            solved_by=ticket.assignee,
            team_stations=1,
            assignee_stations=1,
        )
        for ticket in tickets
    )
    PhoneCall.objects.bulk_create(
        PhoneCall(
            ticket=ticket,
            caller="+4512345678",
            outcome="answered",
            agent=ticket.assignee,
            queue_wait_seconds=10,
            started_at=when,
            created_at=when,
        )
        for ticket in tickets
    )


@pytest.mark.parametrize("through_rollup", [False, True], ids=["raw", "rollup"])
def test_the_endpoint_costs_the_same_queries_for_10_and_500_tickets(
    as_user, admin_user, time_machine, through_rollup
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.reporting import rollup

    team = factories.TeamFactory()
    agents = [factories.AgentFactory(teams=[team]).user for _ in range(3)]
    client = as_user(admin_user)
    # Long after March: every day of the range is settled, so the rollup (when computed) answers for it.
    time_machine.move_to(datetime(2026, 6, 1, 12, tzinfo=UTC), tick=False)

    def queries() -> dict[str, int]:
        if through_rollup:
            rollup.rollup_backfill(since=date(2026, 2, 1), until=date(2026, 4, 30))
        counts = {}
        for group_by in ("day", "agent", "team"):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(f"{URL}?{RANGE}&group_by={group_by}")
            assert response.status_code == 200
            counts[group_by] = len(captured.captured_queries)
        return counts

    _bulk_tickets(team, agents, 10)
    few = queries()
    _bulk_tickets(team, agents, 490)
    assert queries() == few
    assert client.get(f"{URL}?{RANGE}").json()["totals"]["tickets_solved"] == 500
