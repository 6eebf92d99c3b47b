"""Delivery state where agents look: the reply box's route, the thread's pills, the API's messages."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tickets import services
from tickets.intake.services import ChatLine, intake_chat_transcript
from tickets.models import Channel, Message, OutboundDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(desk_client, agent_user):
    return desk_client(agent_user)


@pytest.fixture
def unreachable_ticket(team):
    """A chat ticket whose customer has no address and whose integration has no callback."""
    integration, _ = factories.integration_key(channel=Channel.CHAT, default_team=team)
    return intake_chat_transcript(
        integration=integration,
        conversation_id="conv-9",
        customer_handle="visitor-9",
        lines=[ChatLine(author="customer", text="Anyone there?", timestamp=timezone.now())],
    ).ticket


def ticket_url(ticket) -> str:
    return reverse("workspace:ticket", args=[ticket.pk])


def test_the_reply_box_warns_before_sending_when_there_is_no_route(agent_client, unreachable_ticket):
    page = agent_client.get(ticket_url(unreachable_ticket)).content.decode()

    assert "No route to the customer" in page
    assert "saved on the ticket but not delivered" in page


def test_a_reply_without_a_route_records_no_delivery_and_does_not_claim_it_was_sent(
    agent_client, unreachable_ticket
):
    response = agent_client.post(
        reverse("workspace:ticket", args=[unreachable_ticket.pk]),
        {"body": "We are here.", "visibility": "public"},
        follow=True,
    )

    page = response.content.decode()
    assert "Reply sent" not in page
    assert "not delivered: there is no route to the customer" in page
    assert not OutboundDelivery.objects.exists()
    message = unreachable_ticket.messages.latest("pk")
    assert message.delivery_status == Message.DeliveryStatus.NO_ROUTE
    assert "Not sent: no route to the customer" in page


def test_a_routed_reply_says_where_it_goes_and_shows_queued(agent_client, ticket):
    page = agent_client.get(ticket_url(ticket)).content.decode()
    assert f"Public replies go by email to {ticket.customer.email}." in page

    response = agent_client.post(
        reverse("workspace:ticket", args=[ticket.pk]), {"body": "On it.", "visibility": "public"}, follow=True
    )

    page = response.content.decode()
    assert "Reply sent" not in page
    assert f"Reply queued for delivery by email to {ticket.customer.email}." in page
    assert 'class="delivery delivery-queued"' in page


def test_a_failed_delivery_shows_its_reason_in_the_thread(agent_client, ticket, agent_user):
    message = services.message_add(ticket=ticket, author_role="agent", author_user=agent_user, body_text="Hi")
    Message.objects.filter(pk=message.pk).update(
        delivery_status=Message.DeliveryStatus.FAILED, delivery_error="SMTPRecipientsRefused: no such user"
    )

    page = agent_client.get(ticket_url(ticket)).content.decode()

    assert 'class="delivery delivery-failed"' in page
    assert "SMTPRecipientsRefused: no such user" in page


def test_the_api_shows_each_messages_delivery_state_and_reason(as_user, ticket, agent_user):
    message = services.message_add(ticket=ticket, author_role="agent", author_user=agent_user, body_text="Hi")
    Message.objects.filter(pk=message.pk).update(
        delivery_status=Message.DeliveryStatus.FAILED, delivery_error="HTTP 404 Not Found"
    )

    response = as_user(agent_user).get(f"/api/v1/tickets/{ticket.pk}/messages/")

    reply = next(m for m in response.json()["results"] if m["id"] == message.pk)
    assert (reply["delivery_status"], reply["delivery_error"]) == ("failed", "HTTP 404 Not Found")
