"""The outbox: reply callbacks over real HTTP, routes, the lease and the sweep, broker outages, bounces."""

import email
import email.policy
import io
import json
import logging
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from kombu.exceptions import OperationalError

from tests import factories
from tickets import enqueue, services
from tickets.exceptions import DomainError
from tickets.intake.services import ChatLine, intake_chat_transcript
from tickets.models import Channel, IntegrationKey, Message, Notification, OutboundDelivery
from tickets.outbox import services as outbox
from tickets.outbox.replies import reply_route
from tickets.tasks import tickets_deliver_outbound, tickets_sweep_outbox
from tickets.webhooks import protocol as webhook_protocol

pytestmark = pytest.mark.django_db
State = OutboundDelivery.State


@pytest.fixture
def published(monkeypatch):
    """Deliveries handed to the broker (the tests run the task themselves)."""
    calls = []
    monkeypatch.setattr(enqueue.current_app, "send_task", lambda name, args, countdown: calls.append(args[0]))
    return calls


def chat_ticket(*, callback_url: str = "", email: str | None = None):
    integration, _ = factories.integration_key(channel=Channel.CHAT, callback_url=callback_url)
    result = intake_chat_transcript(
        integration=integration,
        conversation_id="conv-42",
        lines=[ChatLine(author="customer", text="Where is my parcel?", timestamp=timezone.now())],
        customer_handle="visitor-7",
        customer_email=email,
    )
    return result.ticket, integration


def reply(ticket, agent, text="It ships today."):
    return services.message_add(
        ticket=ticket, author_role=Message.AuthorRole.AGENT, author_user=agent, body_text=text
    )


def test_a_chat_reply_is_posted_signed_to_the_integrations_callback(receiver, agent_user):
    server = receiver()
    ticket, integration = chat_ticket(callback_url=server.url, email="bea@example.com")
    message = reply(ticket, agent_user)
    delivery = OutboundDelivery.objects.get(message=message)
    assert delivery.transport == OutboundDelivery.Transport.CALLBACK

    assert tickets_deliver_outbound(delivery.pk) == State.SENT

    (request,) = server.requests
    headers = request["headers"]
    assert webhook_protocol.verify(
        integration.callback_secret,
        timestamp=headers["X-Helpdesk-Timestamp"],
        signature=headers["X-Helpdesk-Signature"],
        body=request["body"],
        now=time.time(),
    )
    assert headers["X-Helpdesk-Event"] == "ticket.reply"
    assert headers["X-Helpdesk-Delivery"] == str(delivery.pk)
    body = json.loads(request["body"])
    assert body["data"]["conversation"] == {"channel": "chat", "key": "conv-42"}
    assert body["data"]["message"]["body_text"] == "It ships today."
    assert body["data"]["ticket"]["reference"] == ticket.reference
    message.refresh_from_db()
    assert message.delivery_status == Message.DeliveryStatus.SENT


def test_a_failing_callback_is_retried_with_backoff_and_a_4xx_fails_with_its_reason(receiver, agent_user):
    server = receiver(codes=[503, 404])
    ticket, _ = chat_ticket(callback_url=server.url)
    message = reply(ticket, agent_user)
    delivery = OutboundDelivery.objects.get(message=message)
    now = timezone.now()

    delivery = outbox.delivery_attempt(delivery_id=delivery.pk, now=now)
    assert (delivery.state, delivery.response_code) == (State.PENDING, 503)
    message.refresh_from_db()
    assert (message.delivery_status, message.delivery_error) == (
        "queued",
        "will retry: HTTP 503",
    )

    delivery = outbox.delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    assert (delivery.state, delivery.response_code) == (State.FAILED, 404)
    message.refresh_from_db()
    assert (message.delivery_status, message.delivery_error) == ("failed", "HTTP 404")
    assert Notification.objects.filter(kind=Notification.Kind.DELIVERY_FAILURE, recipient=agent_user).exists()


def test_agent_lines_of_a_chat_transcript_are_not_sent_back_to_the_chat(receiver):
    server = receiver()
    integration, _ = factories.integration_key(channel=Channel.CHAT, callback_url=server.url)
    now = timezone.now()
    intake_chat_transcript(
        integration=integration,
        conversation_id="conv-1",
        customer_handle="visitor-8",
        lines=[
            ChatLine(author="customer", text="Hello?", timestamp=now),
            ChatLine(author="agent", text="Hi, how can I help?", timestamp=now, author_name="Sam"),
        ],
    )

    assert not OutboundDelivery.objects.exists()


def test_a_chat_ticket_without_a_callback_is_answered_by_email_when_the_customer_has_an_address(agent_user):
    ticket, _ = chat_ticket(email="bea@example.com")

    route = reply_route(ticket)

    assert (route.transport, route.email) == (OutboundDelivery.Transport.EMAIL, "bea@example.com")
    assert str(route) == "email to bea@example.com"


def test_a_reply_with_no_route_is_recorded_as_such_and_nothing_is_queued(agent_user):
    ticket, _ = chat_ticket()
    assert reply_route(ticket) is None

    message = reply(ticket, agent_user)

    assert message.delivery_status == Message.DeliveryStatus.NO_ROUTE
    message.refresh_from_db()
    assert message.delivery_status == Message.DeliveryStatus.NO_ROUTE
    assert message.email_message_id is None
    assert not OutboundDelivery.objects.exists()


def test_the_same_source_is_queued_once(ticket, published):
    content = outbox.EmailContent(subject="s", body_text="b", to=["a@example.com"])
    first = outbox.outbox_email_enqueue(
        kind=OutboundDelivery.Kind.ACKNOWLEDGEMENT, source_id=ticket.pk, email=content
    )
    second = outbox.outbox_email_enqueue(
        kind=OutboundDelivery.Kind.ACKNOWLEDGEMENT, source_id=ticket.pk, email=content
    )

    assert first.pk == second.pk
    assert OutboundDelivery.objects.count() == 1


def test_a_broker_outage_keeps_the_reply_and_the_sweep_sends_it_later(
    smtp_server, ticket, agent_user, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    monkeypatch.setattr(enqueue.current_app, "send_task", broker_down)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        message = reply(ticket, agent_user)

    message.refresh_from_db()
    assert message.delivery_status == Message.DeliveryStatus.QUEUED
    assert "a sweep will pick the work up" in caplog.text
    delivery = OutboundDelivery.objects.get(message=message)

    swept = []
    monkeypatch.setattr(enqueue.current_app, "send_task", lambda name, args, countdown: swept.append(args[0]))
    assert tickets_sweep_outbox() == 1
    assert swept == [delivery.pk]
    assert tickets_deliver_outbound(delivery.pk) == State.SENT
    assert len(smtp_server.messages) == 1


def test_a_replys_attachments_are_emailed_with_it(smtp_server, ticket, agent_user, published):
    message = services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="The invoice is attached.",
        attachments=[
            services.AttachmentInput("invoice.pdf", b"%PDF-1.4 invoice", "application/pdf"),
            services.AttachmentInput("virus.exe", b"", rejected_reason="blocked file type"),
        ],
    )
    delivery = OutboundDelivery.objects.get(message=message)

    assert tickets_deliver_outbound(delivery.pk) == State.SENT

    sent = email.message_from_bytes(smtp_server.messages[0], policy=email.policy.default)
    files = [
        (part.get_filename(), part.get_content_type(), part.get_content()) for part in sent.iter_attachments()
    ]
    assert files == [("invoice.pdf", "application/pdf", b"%PDF-1.4 invoice")]
    assert "The invoice is attached." in sent.get_body(("plain",)).get_content()


def test_replies_an_older_version_left_queued_are_adopted_once_and_sent(
    smtp_server, ticket, agent_user, published
):
    # As a version from before the outbox left them: queued (or sending when its worker died), no row.
    left = [
        Message.objects.create(
            ticket=ticket,
            author_role=Message.AuthorRole.AGENT,
            author_user=agent_user,
            body_text=f"Reply {n}",
            delivery_status=status,
            created_at=timezone.now(),
        )
        for n, status in enumerate([Message.DeliveryStatus.QUEUED, Message.DeliveryStatus.SENDING])
    ]
    out = io.StringIO()
    call_command("outbox_adopt_replies", stdout=out)
    call_command("outbox_adopt_replies", stdout=out)

    assert "2 replies are waiting outside the outbox" in out.getvalue()
    assert "nothing to do" in out.getvalue()
    deliveries = OutboundDelivery.objects.filter(message__in=left)
    assert deliveries.count() == 2
    for delivery in deliveries:
        assert tickets_deliver_outbound(delivery.pk) == State.SENT
    assert (
        sorted(m.delivery_status for m in Message.objects.filter(pk__in=[m.pk for m in left]))
        == [Message.DeliveryStatus.SENT] * 2
    )
    assert len(smtp_server.messages) == 2


def test_a_sent_row_is_never_sent_again(smtp_server, ticket, agent_user, published):
    delivery = OutboundDelivery.objects.get(message=reply(ticket, agent_user))
    now = timezone.now()
    outbox.delivery_attempt(delivery_id=delivery.pk, now=now)

    later = now + timedelta(days=30)
    assert outbox.deliveries_due(now=later) == []
    assert outbox.delivery_attempt(delivery_id=delivery.pk, now=later) is None
    assert outbox.delivery_retry(delivery=delivery) is False
    assert len(smtp_server.messages) == 1


def test_two_claims_of_a_due_row_send_it_once(smtp_server, ticket, agent_user):
    delivery = OutboundDelivery.objects.get(message=reply(ticket, agent_user))
    now = timezone.now()

    results = [outbox.delivery_attempt(delivery_id=delivery.pk, now=now) for _ in range(2)]

    assert results[0].state == State.SENT and results[1] is None
    assert len(smtp_server.messages) == 1


def test_a_row_whose_worker_died_is_recovered_after_its_lease_and_the_dead_attempt_cannot_finish(
    smtp_server, ticket, agent_user, settings
):
    delivery = OutboundDelivery.objects.get(message=reply(ticket, agent_user))
    now = timezone.now()
    lease = timedelta(seconds=settings.HELPDESK_OUTBOX_LEASE_SECONDS)
    # A worker claimed it and died while sending.
    dead = outbox._claim(delivery.pk, now)
    assert dead.state == State.SENDING
    assert outbox.deliveries_due(now=now + lease - timedelta(seconds=1)) == []

    after_lease = now + lease
    assert outbox.deliveries_due(now=after_lease) == [delivery.pk]
    recovered = outbox.delivery_attempt(delivery_id=delivery.pk, now=after_lease)

    assert (recovered.state, recovered.attempts) == (State.SENT, 2)
    # Were the first worker only slow, its late outcome no longer counts.
    assert outbox._finish(dead, state=State.FAILED, now=after_lease, error="late") is False
    delivery.refresh_from_db()
    assert delivery.state == State.SENT
    assert len(smtp_server.messages) == 1


def test_a_row_interrupted_more_often_than_the_attempt_budget_fails(ticket, agent_user, settings):
    settings.HELPDESK_OUTBOX_MAX_ATTEMPTS = 2
    delivery = OutboundDelivery.objects.get(message=reply(ticket, agent_user))
    OutboundDelivery.objects.filter(pk=delivery.pk).update(state=State.SENDING, attempts=2)

    delivery = outbox.delivery_attempt(delivery_id=delivery.pk, now=timezone.now())

    assert (delivery.state, delivery.last_error) == (State.FAILED, "gave up after 2 attempts")


def test_the_admin_retries_a_failed_delivery(admin_client, ticket, agent_user, published):
    delivery = OutboundDelivery.objects.get(message=reply(ticket, agent_user))
    OutboundDelivery.objects.filter(pk=delivery.pk).update(state=State.FAILED, attempts=8, last_error="x")

    response = admin_client.post(
        "/admin/tickets/outbounddelivery/", {"action": "action_retry", "_selected_action": [delivery.pk]}
    )

    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (State.PENDING, 0)
    assert Message.objects.get(pk=delivery.message_id).delivery_status == Message.DeliveryStatus.QUEUED


def test_a_bounce_marks_the_delivery_failed_and_the_message_bounced(smtp_server, ticket, agent_user):
    message = reply(ticket, agent_user)
    tickets_deliver_outbound(OutboundDelivery.objects.get(message=message).pk)

    delivery = outbox.delivery_mark_bounced(
        message_id_header=f"<{message.email_message_id}>",
        reason="550 5.1.1 user unknown",
        address="bea@example.com",
    )

    assert (delivery.state, delivery.last_error) == (
        State.FAILED,
        "bounced (bea@example.com): 550 5.1.1 user unknown",
    )
    message.refresh_from_db()
    assert message.delivery_status == Message.DeliveryStatus.BOUNCED
    assert Notification.objects.filter(kind=Notification.Kind.DELIVERY_FAILURE).count() == 1
    # A second bounce report of the same email changes nothing.
    outbox.delivery_mark_bounced(message_id_header=message.email_message_id, reason="again")
    assert Notification.objects.filter(kind=Notification.Kind.DELIVERY_FAILURE).count() == 1
    assert outbox.delivery_mark_bounced(message_id_header="<unknown@example.com>", reason="x") is None


# --- configuring the callback on the integration key ---------------------------------------------


def test_the_management_command_sets_the_callback_url_and_shows_its_secret(capsys):
    from django.core.management import call_command

    call_command(
        "create_integration_key", "widget", "--channel", "chat", "--callback-url", "https://chat.example/r"
    )

    integration = IntegrationKey.objects.get(name="widget")
    assert integration.callback_url == "https://chat.example/r"
    assert integration.callback_secret in capsys.readouterr().err


def test_a_callback_url_that_is_not_http_is_refused():
    with pytest.raises(DomainError, match="not an http"):
        factories.integration_key(channel=Channel.CHAT, callback_url="ftp://chat.example/r")


def test_the_admin_sets_a_callback_url_and_shows_the_secret_read_only(admin_client):
    admin_client.post(
        "/admin/tickets/integrationkey/add/",
        {
            "name": "social",
            "channel": "social",
            "is_active": "on",
            "callback_url": "https://social.example/r",
        },
    )
    integration = IntegrationKey.objects.get(name="social")
    assert integration.callback_url == "https://social.example/r"

    page = admin_client.get(f"/admin/tickets/integrationkey/{integration.pk}/change/").content.decode()
    assert integration.callback_secret in page
    assert 'name="callback_secret"' not in page
