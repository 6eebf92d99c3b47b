"""Outbound email over a real SMTP server (aiosmtpd on loopback), and replies that thread back.

Every email goes through the outbox (tickets/outbox/); the tests run the delivery task themselves.
"""

import email
from datetime import timedelta
from email import policy
from email.message import EmailMessage

import pytest
from django.utils import timezone

from tests import factories
from tests.conftest import free_port
from tickets import services
from tickets.customers import customer_get_or_create
from tickets.email.inbound import inbound_message_process, inbound_message_store
from tickets.intake.services import intake_phone_call, intake_web_form
from tickets.models import (
    Channel,
    InboundMessage,
    Message,
    Notification,
    OutboundDelivery,
    Ticket,
    TicketParticipant,
)
from tickets.outbox.services import delivery_attempt
from tickets.tasks import tickets_deliver_outbound

pytestmark = pytest.mark.django_db


def receive(raw: bytes) -> InboundMessage:
    return inbound_message_process(
        inbound=inbound_message_store(raw=raw, source=InboundMessage.Source.IMAP, enqueue=False)
    )


def agent_reply(ticket: Ticket, agent, text: str = "Please unplug it and step away.") -> Message:
    return services.message_add(
        ticket=ticket, author_role=Message.AuthorRole.AGENT, author_user=agent, body_text=text
    )


def deliver(message: Message) -> str:
    """Run the delivery task of the message's outbox row, as a worker would."""
    return tickets_deliver_outbound(OutboundDelivery.objects.get(message=message).pk)


def parsed(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def client_reply(outbound: bytes, *, text: str, keep_threading_headers: bool = True, to: str = "") -> bytes:
    """Answer a captured message the way a mail client does: Re: subject, threading headers, quote."""
    original = email.message_from_bytes(outbound, policy=policy.default)
    reply = EmailMessage()
    reply["From"] = original["To"]
    reply["To"] = to or original["Reply-To"]
    reply["Subject"] = "Re: " + original["Subject"]
    reply["Message-ID"] = "<customer-reply-1@mail.example.com>"
    if keep_threading_headers:
        reply["In-Reply-To"] = original["Message-ID"]
        reply["References"] = f"{original.get('References', '')} {original['Message-ID']}".strip()
    quoted = "\n".join(f"> {line}" for line in original.get_content().splitlines())
    reply.set_content(f"{text}\n\nOn Mon, 2 Mar 2026 at 10:00, Support wrote:\n{quoted}\n")
    return reply.as_bytes()


def test_round_trip_customer_mail_agent_reply_over_smtp_and_threaded_customer_reply(
    smtp_server, agent_user, team
):
    # 1. The customer writes in.
    first = receive(factories.email_bytes())
    ticket = first.ticket
    services.ticket_assign(ticket=ticket, team=team, assignee=agent_user)

    # 2. The agent answers; the Message-ID is stored before anything is sent.
    reply = agent_reply(ticket, agent_user)
    assert reply.delivery_status == Message.DeliveryStatus.QUEUED
    assert reply.email_message_id
    assert deliver(reply) == OutboundDelivery.State.SENT

    # 3. A real SMTP server received it with the thread's headers.
    (raw,) = smtp_server.messages
    sent = email.message_from_bytes(raw, policy=policy.default)
    assert sent["Message-ID"] == f"<{reply.email_message_id}>"
    assert sent["In-Reply-To"] == "<first-1@mail.example.com>"
    assert sent["References"] == "<first-1@mail.example.com>"
    assert sent["Subject"] == f"Re: [#{ticket.reference}] My printer is on fire"
    assert sent["Reply-To"] == f"support+{ticket.reply_token}@helpdesk.localhost"
    assert "alice@example.com" in sent["To"]
    assert "unplug it" in sent.get_content()
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.SENT

    # 4. The customer's reply, quoting our message, lands on the same ticket without the quote.
    answer = receive(client_reply(raw, text="Done, the fire is out. Thanks!"))
    assert answer.ticket == ticket and not answer.created_ticket
    assert answer.ticket_message.body_text == "Done, the fire is out. Thanks!"
    assert "unplug it" in answer.ticket_message.full_text
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize("to_plus_address", [True, False], ids=["plus-address", "subject-token"])
def test_a_client_that_drops_threading_headers_still_threads(smtp_server, agent_user, to_plus_address):
    ticket = receive(factories.email_bytes()).ticket
    reply = agent_reply(ticket, agent_user)
    deliver(reply)
    (raw,) = smtp_server.messages

    answer = receive(
        client_reply(
            raw,
            text="Still smoking.",
            keep_threading_headers=False,
            to="" if to_plus_address else "support@helpdesk.localhost",
        )
    )

    assert answer.ticket == ticket
    assert answer.ticket_message.body_text == "Still smoking."


def test_sending_twice_sends_once(smtp_server, ticket, agent_user):
    reply = agent_reply(ticket, agent_user)

    assert deliver(reply) == OutboundDelivery.State.SENT
    assert deliver(reply) == "not due"
    assert len(smtp_server.messages) == 1


def test_internal_notes_and_customer_messages_are_not_emailed(ticket, agent_user):
    note = services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="internal",
        visibility=Message.Visibility.INTERNAL,
    )

    assert note.delivery_status == "" and note.email_message_id is None
    assert ticket.messages.get(author_role=Message.AuthorRole.CUSTOMER).delivery_status == ""
    assert not OutboundDelivery.objects.exists()


def unreachable_smtp(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 5


def test_a_transient_failure_waits_for_the_backoff_and_the_last_one_is_recorded_and_notified(
    settings, ticket, agent_user
):
    unreachable_smtp(settings)
    settings.HELPDESK_OUTBOX_MAX_ATTEMPTS = 2
    reply = agent_reply(ticket, agent_user)
    delivery = OutboundDelivery.objects.get(message=reply)
    now = timezone.now()

    delivery = delivery_attempt(delivery_id=delivery.pk, now=now)
    assert delivery.state == OutboundDelivery.State.PENDING
    assert delivery.next_attempt_at >= now + timedelta(seconds=15)  # half the first 30 s step, at least
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.QUEUED
    assert "ConnectionRefusedError" in reply.delivery_error
    assert delivery_attempt(delivery_id=delivery.pk, now=now) is None  # not due yet

    delivery = delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    assert delivery.state == OutboundDelivery.State.FAILED
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.FAILED
    assert "ConnectionRefusedError" in reply.delivery_error
    notification = Notification.objects.get(kind=Notification.Kind.DELIVERY_FAILURE)
    assert notification.recipient == agent_user


def test_a_refused_recipient_fails_at_once(smtp_server, ticket, agent_user, monkeypatch):
    import smtplib

    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"no such user")})

    monkeypatch.setattr(smtplib.SMTP, "sendmail", refuse)
    reply = agent_reply(ticket, agent_user)

    assert deliver(reply) == OutboundDelivery.State.FAILED
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.FAILED
    assert "SMTPRecipientsRefused" in reply.delivery_error


def test_the_auto_acknowledgement_goes_out_marked_as_automatic(smtp_server, team):
    team.auto_ack_enabled = True
    team.save()
    ticket = factories.ticket(team=team)
    from tickets.email.outbound import ticket_send_auto_ack

    ack = ticket_send_auto_ack(ticket=ticket, now=ticket.created_at)
    deliver(ack)

    (raw,) = smtp_server.messages
    sent = parsed(raw)
    assert sent["Auto-Submitted"] == "auto-replied"
    assert ticket.reference in sent.get_content()


def test_a_notification_is_emailed_to_its_agent_once_and_marked_emailed_only_when_sent(
    smtp_server, ticket, agent_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        notification = services.notification_create(
            recipient=agent_user, kind=Notification.Kind.ASSIGNMENT, title="HD-1001 was assigned to you"
        )
    assert len(callbacks) == 1
    delivery = OutboundDelivery.objects.get(kind=OutboundDelivery.Kind.NOTIFICATION)
    assert delivery.source_id == notification.pk
    notification.refresh_from_db()
    assert notification.emailed_at is None

    assert tickets_deliver_outbound(delivery.pk) == OutboundDelivery.State.SENT
    assert tickets_deliver_outbound(delivery.pk) == "not due"

    (raw,) = smtp_server.messages
    sent = parsed(raw)
    assert sent["To"] == agent_user.email
    assert sent["Subject"] == "HD-1001 was assigned to you"
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_a_notification_email_that_fails_stays_unemailed_and_due_again(settings, agent_user):
    unreachable_smtp(settings)
    notification = services.notification_create(
        recipient=agent_user, kind=Notification.Kind.ASSIGNMENT, title="t"
    )
    delivery = OutboundDelivery.objects.get(kind=OutboundDelivery.Kind.NOTIFICATION)

    assert tickets_deliver_outbound(delivery.pk) == OutboundDelivery.State.PENDING

    notification.refresh_from_db()
    assert notification.emailed_at is None


def test_a_reply_recorded_with_deliver_false_is_not_queued_for_email(ticket, agent_user):
    message = services.message_add(
        ticket=ticket, author_role="agent", author_user=agent_user, body_text="Imported answer", deliver=False
    )

    assert message.delivery_status == ""
    assert message.email_message_id is None
    assert not OutboundDelivery.objects.filter(message=message).exists()


# --- the route follows the customer, not the channel ---------------------------------------------


def web_form_ticket() -> Ticket:
    return intake_web_form(name="Bea Web", email="bea@example.com", subject="Invoice missing", message="Hi")


def api_ticket(agent) -> Ticket:
    customer = customer_get_or_create(email="bea@example.com", name="Bea Api")
    return services.ticket_create(
        subject="Invoice missing", customer=customer, channel=Channel.API, body_text="Hi", opened_by=agent
    )


def phone_ticket() -> Ticket:
    factories.CustomerFactory(name="Bea Phone", email="bea@example.com", phone="+14155550123")
    integration, _ = factories.integration_key(channel=Channel.PHONE)
    return intake_phone_call(
        integration=integration,
        caller="+14155550123",
        outcome="answered",
        started_at=timezone.now(),
        notes="Invoice missing",
    ).ticket


@pytest.mark.parametrize("make_ticket", ["web", "api", "phone"])
def test_replies_on_web_form_api_and_phone_tickets_are_emailed_in_one_thread(
    smtp_server, agent_user, make_ticket
):
    ticket = {"web": web_form_ticket, "api": lambda: api_ticket(agent_user), "phone": phone_ticket}[
        make_ticket
    ]()
    earlier = list(OutboundDelivery.objects.filter(ticket=ticket).values_list("pk", flat=True))
    for delivery_id in earlier:  # the web form's acknowledgement
        tickets_deliver_outbound(delivery_id)

    first = agent_reply(ticket, agent_user, "We are looking into it.")
    second = agent_reply(ticket, agent_user, "Found it, sending it now.")
    assert deliver(first) == deliver(second) == OutboundDelivery.State.SENT

    *acknowledgement, first_raw, second_raw = smtp_server.messages
    first_sent, second_sent = parsed(first_raw), parsed(second_raw)
    thread = [parsed(raw)["Message-ID"] for raw in acknowledgement]
    for sent, message in ((first_sent, first), (second_sent, second)):
        assert "bea@example.com" in sent["To"]
        assert sent["Message-ID"] == f"<{message.email_message_id}>"
        assert sent["Subject"] == f"Re: [#{ticket.reference}] {ticket.subject}"
        assert sent["Reply-To"] == f"support+{ticket.reply_token}@helpdesk.localhost"
    if thread:
        assert first_sent["In-Reply-To"] == thread[-1]
        assert first_sent["References"] == " ".join(thread)
    assert second_sent["In-Reply-To"] == first_sent["Message-ID"]
    assert second_sent["References"] == " ".join([*thread, first_sent["Message-ID"]])
    first.refresh_from_db()
    assert first.delivery_status == Message.DeliveryStatus.SENT


def test_the_web_form_acknowledgement_carries_a_message_id_that_the_first_reply_answers(
    smtp_server, agent_user
):
    ticket = web_form_ticket()
    acknowledgement = OutboundDelivery.objects.get(kind=OutboundDelivery.Kind.ACKNOWLEDGEMENT)
    assert acknowledgement.email_message_id.startswith(f"{ticket.reference}.")

    reply = agent_reply(ticket, agent_user)
    tickets_deliver_outbound(acknowledgement.pk)
    deliver(reply)

    ack_raw, reply_raw = smtp_server.messages
    assert parsed(reply_raw)["In-Reply-To"] == parsed(ack_raw)["Message-ID"]


def test_cc_participants_of_the_ticket_are_copied(smtp_server, ticket, agent_user):
    now = timezone.now()
    TicketParticipant.objects.create(ticket=ticket, email="boss@example.com", is_cc=True, created_at=now)
    TicketParticipant.objects.create(ticket=ticket, email="author@example.com", is_cc=False, created_at=now)

    deliver(agent_reply(ticket, agent_user))

    (raw,) = smtp_server.messages
    assert parsed(raw)["Cc"] == "boss@example.com"
    assert smtp_server.envelope_recipients == [[ticket.customer.email, "boss@example.com"]]
