"""Customer health on a scenario whose risk order is worked out by hand (now: 2026-06-30 12:00 UTC).

Burning Inc: three tickets 20 days ago breached a 1-hour first-response target (two solved since, one
still open and breaching); a customer came back 2 days after a solve (that ticket, never answered, also
breached its target); 5 tickets in the last 30 days against 1 in the 30 before. Score: 4 breaches 20 +
open breach 10 + repeat contact 5 + volume up 10 = 45.
Sliding Ltd: NPS 100 (answers 10 and 9, 150 days ago) fell to -50 (answers 3 and 8, 20 days ago): 25,
plus one detractor 5 = 30.
Calm Co: one ticket, CSAT 5: 0.
"""

from datetime import UTC, datetime, timedelta

import pytest

from sla import services as sla_services
from surveys.services import survey_response_record
from tests import factories
from tickets import services
from tickets.models import Status, Ticket
from tickets.reporting.health import customer_health

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)
URL = "/api/v1/customer-health/"


def solve(ticket, when):
    return services.ticket_change_status(
        ticket=Ticket.objects.get(pk=ticket.pk), status=Status.SOLVED, now=when
    )


def answered(ticket, when, **scores):
    solve(ticket, when)
    survey_response_record(
        invitation=factories.sent_survey(ticket=ticket, now=when), answers=scores, now=when
    )


def build_health_scenario(now: datetime = NOW) -> dict:
    """The scenario of the module docstring, relative to `now`; shared with the browser test."""

    def days_ago(days: float) -> datetime:
        return now - timedelta(days=days)

    lead = factories.UserFactory(username="lead")
    team = factories.TeamFactory(name="Accounts", lead=lead)
    factories.SurveySettingsFactory(team=team, kinds=["csat", "nps"], delay_minutes=0, throttle_days=0)
    burning, sliding, calm = (
        factories.OrganizationFactory(name=name) for name in ("Burning Inc", "Sliding Ltd", "Calm Co")
    )

    def customer(org):
        return factories.CustomerFactory(organization=org)

    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={("normal", "first_response"): (3600, False)},
        organizations=[burning],
    )
    breached = [factories.ticket(team=team, customer=customer(burning), now=days_ago(20)) for _ in range(3)]
    sla_services.sla_sweep(now=days_ago(20) + timedelta(hours=2))
    for ticket in breached[:2]:
        solve(ticket, days_ago(20) + timedelta(hours=3))
    solve(factories.ticket(team=team, customer=customer(burning), now=days_ago(45)), days_ago(44))
    returning = customer(burning)
    solve(factories.ticket(team=team, customer=returning, now=days_ago(12)), days_ago(10))
    factories.ticket(team=team, customer=returning, now=days_ago(8))

    for when, scores in ((days_ago(150), (10, 9)), (days_ago(20), (3, 8))):
        for nps in scores:
            answered(factories.ticket(team=team, customer=customer(sliding), now=when), when, nps=nps)

    answered(factories.ticket(team=team, customer=customer(calm), now=days_ago(10)), days_ago(9), csat=5)
    return {"lead": lead, "team": team, "burning": burning, "sliding": sliding, "calm": calm}


@pytest.fixture
def scenario():
    return build_health_scenario()


def test_organizations_are_listed_by_risk_with_their_reasons(scenario):
    rows = customer_health(tickets=Ticket.objects.all(), now=NOW)
    assert [(row.name, row.risk_score) for row in rows] == [
        ("Burning Inc", 45),
        ("Sliding Ltd", 30),
        ("Calm Co", 0),
    ]
    burning, sliding, calm = rows
    assert burning.reasons == [
        "1 unsolved ticket(s) breaching their SLA now",
        "4 SLA breach(es) in 30 days",
        "1 repeat contact(s) in 90 days",
        "5 tickets in 30 days, up from 1",
    ]
    assert (burning.tickets_recent, burning.tickets_previous, burning.breaches_recent) == (5, 1, 4)
    assert (sliding.nps_previous, sliding.nps_recent, sliding.detractors) == (100.0, -50.0, 1)
    assert sliding.reasons == ["NPS fell from 100 to -50 in 90 days", "1 detractor(s) in 90 days"]
    assert (calm.csat_recent, calm.reasons, calm.last_contact_at) == (100.0, [], NOW - timedelta(days=10))
    # Sorting by another column, and the customer level.
    rows = customer_health(tickets=Ticket.objects.all(), now=NOW, sort="name")
    assert [row.name for row in rows] == ["Burning Inc", "Calm Co", "Sliding Ltd"]
    customers = customer_health(tickets=Ticket.objects.all(), now=NOW, level="customer")
    # The detractor alone: NPS -100 (15) and a detractor (5); then the open breach: 1 breach 5 + open 10.
    assert [row.risk_score for row in customers[:2]] == [20, 15]
    with pytest.raises(ValueError, match="sort"):
        customer_health(tickets=Ticket.objects.all(), now=NOW, sort="-password")


def test_the_api_and_the_page_list_the_leads_organizations_by_risk(scenario, as_user, client, time_machine):
    time_machine.move_to(NOW, tick=False)
    other_team = factories.TeamFactory(name="Elsewhere")
    factories.ticket(team=other_team, customer=factories.CustomerFactory(organization=scenario["calm"]))
    body = as_user(scenario["lead"]).get(f"{URL}?level=organization").json()
    assert [(row["name"], row["risk_score"]) for row in body["results"]] == [
        ("Burning Inc", 45),
        ("Sliding Ltd", 30),
        ("Calm Co", 0),
    ]
    assert body["results"][0]["tickets_url"].endswith(f"organization={scenario['burning'].pk}")
    assert as_user(scenario["lead"]).get(f"{URL}?sort=-shoe_size").status_code == 400

    # The page: sortable, each organization linking to its tickets.
    client.force_login(scenario["lead"])
    html = client.get("/desk/health/").content.decode()
    assert html.index("Burning Inc") < html.index("Sliding Ltd") < html.index("Calm Co")
    assert "NPS fell from 100 to -50 in 90 days" in html
    assert f"/desk/?view=all&amp;organization={scenario['burning'].pk}" in html
    html = client.get("/desk/health/?sort=name").content.decode()
    assert html.index("Burning Inc") < html.index("Calm Co") < html.index("Sliding Ltd")
    assert client.get("/desk/health/?sort=bogus").status_code == 400


def test_agents_cannot_read_customer_health(as_user, agent_user, client):
    assert as_user(agent_user).get(URL).status_code == 403
    client.force_login(agent_user)
    assert client.get("/desk/health/").status_code == 403
