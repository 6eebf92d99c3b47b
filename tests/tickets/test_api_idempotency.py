"""`Idempotency-Key` on API creates: a client's retry never opens a second ticket."""

import pytest
from rest_framework.test import APIClient

from tests import factories
from tickets.models import IdempotencyKey, Ticket

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"
CHAT = "/api/v1/intake/chat/transcripts/"


@pytest.fixture
def agent_client(agent_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(agent_user)
    return client


def ticket_body(team, subject="Cannot log in") -> dict:
    return {"subject": subject, "customer_email": "ada@example.com", "customer_name": "Ada", "team": team.pk}


def test_a_retried_ticket_create_with_the_same_key_returns_the_first_answer_and_creates_nothing(
    agent_client, team
):
    first = agent_client.post(TICKETS, ticket_body(team), format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    again = agent_client.post(TICKETS, ticket_body(team), format="json", HTTP_IDEMPOTENCY_KEY="retry-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Ticket.objects.count() == 1


def test_without_a_key_each_create_is_a_new_ticket(agent_client, team):
    agent_client.post(TICKETS, ticket_body(team), format="json")
    agent_client.post(TICKETS, ticket_body(team), format="json")

    assert Ticket.objects.count() == 2


def test_the_same_key_with_a_different_body_is_refused(agent_client, team):
    agent_client.post(TICKETS, ticket_body(team), format="json", HTTP_IDEMPOTENCY_KEY="k")

    response = agent_client.post(TICKETS, ticket_body(team, "Other"), format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Ticket.objects.count() == 1


def test_keys_belong_to_their_user(agent_client, team):
    agent_client.post(TICKETS, ticket_body(team), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    colleague = APIClient()
    colleague.force_authenticate(factories.AgentFactory(teams=[team]).user)

    response = colleague.post(TICKETS, ticket_body(team), format="json", HTTP_IDEMPOTENCY_KEY="shared")

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Ticket.objects.count() == 2


def test_a_refused_create_stores_no_key_so_a_corrected_retry_goes_through(agent_client, team):
    bad = agent_client.post(TICKETS, {"subject": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="fix-me")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", ["x" * 256, "caf\u00e9"])
def test_an_unusable_key_is_a_bad_request(agent_client, team, key):
    response = agent_client.post(TICKETS, ticket_body(team), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_a_retried_intake_post_with_the_same_key_files_once():
    _, key = factories.integration_key(channel="chat")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = {
        "conversation_id": "conv-1",
        "customer": {"name": "Ada", "email": "ada@example.com"},
        "messages": [{"author": "customer", "text": "Hello", "timestamp": "2026-11-23T09:00:00Z"}],
    }

    first = client.post(CHAT, body, format="json", HTTP_IDEMPOTENCY_KEY="chat-1")
    again = client.post(CHAT, body, format="json", HTTP_IDEMPOTENCY_KEY="chat-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().messages.count() == 1
