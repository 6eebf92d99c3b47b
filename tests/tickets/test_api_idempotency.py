"""`Idempotency-Key` on API creates: a client's retry never opens a second ticket."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from tests import factories
from tickets.api.idempotency import idempotency_keys_purge
from tickets.models import IdempotencyKey, Ticket
from tickets.tasks import tickets_purge_idempotency_keys

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


# --- purge ----------------------------------------------------------------------------------------


def stored_key(key: str, *, age: timedelta) -> IdempotencyKey:
    return IdempotencyKey.objects.create(
        owner="user:1",
        key=key,
        request_fingerprint="0" * 64,
        response_status=201,
        response_body={"id": 1},
        created_at=timezone.now() - age,
    )


def test_the_beat_task_purges_keys_past_the_retention_and_keeps_younger_ones(settings):
    settings.HELPDESK_IDEMPOTENCY_KEY_RETENTION_HOURS = 24
    for i in range(5):
        stored_key(f"old-{i}", age=timedelta(hours=24, seconds=1 + i))
    young = stored_key("young", age=timedelta(hours=23, minutes=59))

    assert tickets_purge_idempotency_keys() == 5
    assert list(IdempotencyKey.objects.all()) == [young]
    # Idempotent: a second run finds nothing.
    assert tickets_purge_idempotency_keys() == 0


def test_the_purge_deletes_in_bounded_batches_oldest_first(settings):
    settings.HELPDESK_IDEMPOTENCY_KEY_RETENTION_HOURS = 1
    for i in range(5):
        stored_key(f"k-{i}", age=timedelta(hours=2 + i))

    assert idempotency_keys_purge(now=timezone.now(), batch_size=2) == 2
    assert sorted(IdempotencyKey.objects.values_list("key", flat=True)) == ["k-0", "k-1", "k-2"]


def test_a_retry_within_the_retention_still_replays_after_a_purge(agent_client, team, settings):
    settings.HELPDESK_IDEMPOTENCY_KEY_RETENTION_HOURS = 24
    first = agent_client.post(TICKETS, ticket_body(team), format="json", HTTP_IDEMPOTENCY_KEY="r-1")

    with time_machine.travel(timezone.now() + timedelta(hours=23)):
        assert tickets_purge_idempotency_keys() == 0
        again = agent_client.post(TICKETS, ticket_body(team), format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert tickets_purge_idempotency_keys() == 1

    assert again.json() == first.json()
    assert Ticket.objects.count() == 1
    assert not IdempotencyKey.objects.exists()


def test_the_beat_schedule_runs_the_idempotency_key_purge_with_an_expiry(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["tickets-purge-idempotency-keys"]
    assert entry["task"] == "tickets.tasks.tickets_purge_idempotency_keys"
    assert entry["options"]["expires"] < entry["schedule"].total_seconds()
