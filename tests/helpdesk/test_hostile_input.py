"""Inputs that used to crash (500) answer 400 and lose nothing."""

import pytest
from rest_framework.test import APIClient

from tests import factories
from tickets.models import AuditEntry, Ticket

pytestmark = pytest.mark.django_db

DEEP_JSON = "[" * 100_000 + "]" * 100_000


def post_json(client: APIClient, url: str, body: str):
    return client.post(url, body, content_type="application/json")


def test_deeply_nested_json_on_the_unauthenticated_token_endpoint_is_a_bad_request(api_client):
    response = post_json(api_client, "/api/v1/auth/token/", DEEP_JSON)

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_deeply_nested_json_on_the_intake_api_is_a_bad_request():
    _, key = factories.integration_key(channel="chat")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = post_json(client, "/api/v1/intake/chat/transcripts/", '{"customer": ' + DEEP_JSON + "}")

    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_deeply_nested_json_on_ticket_create_is_a_bad_request(api_client, agent_user):
    api_client.force_authenticate(agent_user)

    assert post_json(api_client, "/api/v1/tickets/", DEEP_JSON).status_code == 400


@pytest.mark.parametrize("length", [180, 190, 200])
def test_a_customer_name_of_up_to_200_characters_does_not_lose_the_web_form_request(client, length):
    name = "N" * length
    response = client.post(
        "/support/new/",
        {"name": name, "email": "long@example.com", "subject": "Long name", "message": "Hello"},
    )

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.customer.name == name
    label = AuditEntry.objects.filter(ticket=ticket).exclude(actor_label="").first().actor_label
    assert len(label) <= 200
    assert label.startswith("customer NNN")


DATES_NEAR_THE_END_OF_TIME = [
    {"start": "9999-12-30", "end": "9999-12-31"},
    {"start": "9998-12-31", "end": "9999-01-01"},
    {"start": "0001-01-01", "end": "0001-01-02"},
]


@pytest.mark.parametrize("dates", DATES_NEAR_THE_END_OF_TIME)
def test_metrics_api_dates_near_the_limits_of_the_calendar_are_a_bad_request(api_client, dates):
    api_client.force_authenticate(factories.UserFactory(is_superuser=True, is_staff=True))

    response = api_client.get("/api/v1/metrics/", dates)

    assert response.status_code == 400
    assert "Dates must lie between" in response.json()["detail"]


@pytest.mark.parametrize("dates", DATES_NEAR_THE_END_OF_TIME)
def test_desk_metrics_dates_near_the_limits_of_the_calendar_are_a_bad_request(desk_client, team, dates):
    lead = factories.AgentFactory(teams=[team]).user
    team.lead = lead
    team.save(update_fields=["lead"])

    response = desk_client(lead).get("/desk/metrics/", dates)

    assert response.status_code == 400
    assert "Dates must lie between" in response.content.decode()


@pytest.mark.parametrize("dates", [*DATES_NEAR_THE_END_OF_TIME, {"end": "0001-01-05"}])
def test_admin_metrics_dates_near_the_limits_of_the_calendar_are_a_bad_request(admin_client, dates):
    response = admin_client.get("/admin/metrics/", dates)

    assert response.status_code == 400
    assert "Dates must lie between" in response.content.decode()


@pytest.mark.parametrize(
    "path", ["/api/v1/tickets/abc/messages/", "/api/v1/no-such-resource/", "/api/v1/tickets/1/x/"]
)
def test_unrouted_api_paths_answer_json_404(api_client, agent_user, path):
    api_client.force_authenticate(agent_user)

    response = api_client.get(path)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_unrouted_pages_outside_the_api_keep_the_html_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
