"""Customers, organizations, teams, agents and API tokens: who sees and changes what."""

import pytest
from rest_framework.throttling import ScopedRateThrottle

from tests import factories
from tickets import services
from tickets.models import Agent, Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_team():
    return factories.TeamFactory(name="Other team")


@pytest.fixture
def lead(team):
    user = factories.UserFactory(username="lead")
    team.lead = user
    team.save()
    return user


def test_agent_sees_only_customers_with_tickets_in_their_teams(as_user, agent_user, ticket, other_team):
    organization = factories.OrganizationFactory()
    ticket.customer.organization = organization
    ticket.customer.save()
    stranger = factories.ticket(team=other_team).customer
    factories.CustomerFactory()  # no tickets at all
    client = as_user(agent_user)
    assert [c["id"] for c in client.get("/api/v1/customers/").json()["results"]] == [ticket.customer_id]
    assert client.get(f"/api/v1/customers/{stranger.pk}/").status_code == 404
    assert [o["id"] for o in client.get("/api/v1/organizations/").json()["results"]] == [organization.pk]


def test_admin_sees_all_customers_and_organizations(as_user, admin_user, ticket):
    factories.CustomerFactory()
    factories.OrganizationFactory()
    client = as_user(admin_user)
    assert len(client.get("/api/v1/customers/").json()["results"]) == 2
    assert len(client.get("/api/v1/organizations/").json()["results"]) == 1


def test_invisible_organization_answers_404(as_user, agent_user, other_team):
    customer = factories.CustomerFactory(organization=factories.OrganizationFactory())
    factories.ticket(team=other_team, customer=customer)
    response = as_user(agent_user).get(f"/api/v1/organizations/{customer.organization_id}/")
    assert response.status_code == 404


def test_customers_filter_by_email_and_search(as_user, admin_user):
    factories.CustomerFactory(email="Ada@Example.com", name="Ada Lovelace")
    factories.CustomerFactory(email="bob@example.com", name="Bob")
    client = as_user(admin_user)
    assert [c["name"] for c in client.get("/api/v1/customers/?email=ada@example.com").json()["results"]] == [
        "Ada Lovelace"
    ]
    assert [c["name"] for c in client.get("/api/v1/customers/?q=lovel").json()["results"]] == ["Ada Lovelace"]


def test_every_agent_lists_all_teams_but_only_the_lead_changes_one(as_user, agent_user, team, other_team):
    client = as_user(agent_user)
    assert {t["id"] for t in client.get("/api/v1/teams/").json()["results"]} == {team.pk, other_team.pk}
    response = client.patch(f"/api/v1/teams/{team.pk}/", {"assignment_strategy": "round_robin"})
    assert response.status_code == 403
    team.refresh_from_db()
    assert team.assignment_strategy == "queue"


def test_team_lead_changes_strategy_and_address_of_their_team(as_user, lead, team, other_team):
    client = as_user(lead)
    response = client.patch(
        f"/api/v1/teams/{team.pk}/",
        {"assignment_strategy": "least_loaded", "email_address": "billing@helpdesk.test"},
    )
    assert response.status_code == 200, response.json()
    team.refresh_from_db()
    assert (team.assignment_strategy, team.email_address) == ("least_loaded", "billing@helpdesk.test")
    assert client.patch(f"/api/v1/teams/{other_team.pk}/", {"email_address": ""}).status_code == 403


def test_admin_changes_any_team_and_bad_values_answer_400(as_user, admin_user, team):
    client = as_user(admin_user)
    assert (
        client.patch(f"/api/v1/teams/{team.pk}/", {"assignment_strategy": "skill_based"}).status_code == 200
    )
    response = client.patch(f"/api/v1/teams/{team.pk}/", {"assignment_strategy": "dice"})
    assert response.status_code == 400
    assert "assignment_strategy" in response.json()["errors"]
    assert Team.objects.get(pk=team.pk).assignment_strategy == "skill_based"


def test_agent_sees_agents_of_their_teams_only(as_user, agent_user, team, other_team):
    teammate = factories.AgentFactory(teams=[team])
    stranger = factories.AgentFactory(teams=[other_team])
    client = as_user(agent_user)
    ids = {a["id"] for a in client.get("/api/v1/agents/").json()["results"]}
    assert ids == {agent_user.agent.pk, teammate.pk}
    assert client.get(f"/api/v1/agents/{stranger.pk}/").status_code == 404


def test_agent_sets_their_own_availability_but_not_a_teammates(as_user, agent_user, team):
    teammate = factories.AgentFactory(teams=[team])
    client = as_user(agent_user)
    response = client.patch(f"/api/v1/agents/{agent_user.agent.pk}/", {"is_available": False})
    assert response.status_code == 200
    assert response.json()["is_available"] is False
    assert client.patch(f"/api/v1/agents/{teammate.pk}/", {"is_available": False}).status_code == 403
    assert Agent.objects.get(pk=teammate.pk).is_available is True


def test_team_lead_sets_availability_of_the_teams_agents(as_user, lead, team, other_team):
    member = factories.AgentFactory(teams=[team])
    outsider = factories.AgentFactory(teams=[other_team])
    client = as_user(lead)
    assert client.patch(f"/api/v1/agents/{member.pk}/", {"is_available": False}).status_code == 200
    assert Agent.objects.get(pk=member.pk).is_available is False
    # The lead does not even see agents of other teams.
    assert client.patch(f"/api/v1/agents/{outsider.pk}/", {"is_available": False}).status_code == 404


def test_agents_filter_by_team(as_user, admin_user, team, other_team):
    member = factories.AgentFactory(teams=[team])
    factories.AgentFactory(teams=[other_team])
    body = as_user(admin_user).get(f"/api/v1/agents/?team={team.pk}").json()
    assert [a["id"] for a in body["results"]] == [member.pk]


def test_token_endpoint_exchanges_credentials_for_a_token_that_authenticates(api_client, agent_user, ticket):
    response = api_client.post(
        "/api/v1/auth/token/", {"username": agent_user.username, "password": "pass-word-123"}
    )
    assert response.status_code == 200
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/tickets/").status_code == 200
    again = api_client.post(
        "/api/v1/auth/token/", {"username": agent_user.username, "password": "pass-word-123"}
    )
    assert again.json()["token"] == token


def test_token_endpoint_refuses_wrong_credentials_with_400(api_client, agent_user):
    response = api_client.post("/api/v1/auth/token/", {"username": agent_user.username, "password": "nope"})
    assert response.status_code == 400
    assert "wrong password" in response.json()["detail"]
    assert api_client.post("/api/v1/auth/token/", {}).status_code == 400


def test_session_login_works_for_the_api(client, agent_user, ticket):
    client.force_login(agent_user)
    assert client.get("/api/v1/tickets/").status_code == 200


def test_remaining_list_filters(as_user, admin_user, team, ticket):
    vip_org = factories.OrganizationFactory(name="Acme Corp")
    vip = factories.CustomerFactory(is_vip=True, organization=vip_org)
    away = factories.AgentFactory(teams=[team], is_available=False)
    services.notification_create(recipient=admin_user, kind="sla_breach", title="late")
    services.notification_create(recipient=admin_user, kind="assignment", title="yours")
    services.message_add(
        ticket=ticket, author_role="agent", author_user=admin_user, body_text="note", visibility="internal"
    )
    client = as_user(admin_user)

    def ids(url, key="id"):
        response = client.get(url)
        assert response.status_code == 200, response.json()
        return [row[key] for row in response.json()["results"]]

    assert ids("/api/v1/customers/?is_vip=true") == [vip.pk]
    assert ids(f"/api/v1/customers/?organization={vip_org.pk}") == [vip.pk]
    assert ids("/api/v1/organizations/?name=acme") == [vip_org.pk]
    assert ids("/api/v1/agents/?is_available=false") == [away.pk]
    assert ids("/api/v1/notifications/?kind=sla_breach", key="title") == ["late"]
    assert ids(f"/api/v1/tickets/{ticket.pk}/messages/?author_role=agent", key="body_text") == ["note"]
    assert client.get("/api/v1/notifications/?kind=spam").status_code == 400


def test_token_endpoint_is_throttled_against_password_guessing(api_client, agent_user, monkeypatch):
    # The rates are read when DRF loads; patch the throttle's copy to a small limit.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth-token": "3/minute"})
    credentials = {"username": agent_user.username, "password": "guess"}
    answers = [api_client.post("/api/v1/auth/token/", credentials).status_code for _ in range(4)]
    assert answers == [400, 400, 400, 429]
    assert api_client.post("/api/v1/auth/token/", credentials).json()["code"] == "throttled"
