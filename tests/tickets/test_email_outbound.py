"""Outbound email over a real SMTP server (aiosmtpd on loopback), and replies that thread back."""

import email
from email import policy
from email.message import EmailMessage

import pytest

from tests import factories
from tests.conftest import free_port
from tickets import services
from tickets.email.inbound import inbound_message_process, inbound_message_store
from tickets.email.outbound import TransientSendError, message_send_email, retry_delay
from tickets.models import InboundMessage, Message, Notification, Ticket
from tickets.tasks import tickets_send_message_email

pytestmark = pytest.mark.django_db


def receive(raw: bytes) -> InboundMessage:
    return inbound_message_process(
        inbound=inbound_message_store(raw=raw, source=InboundMessage.Source.IMAP, enqueue=False)
    )


def agent_reply(ticket: Ticket, agent, text: str = "Please unplug it and step away.") -> Message:
    return services.message_add(
        ticket=ticket, author_role=Message.AuthorRole.AGENT, author_user=agent, body_text=text
    )


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
    assert tickets_send_message_email(reply.pk) == Message.DeliveryStatus.SENT

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
    message_send_email(message_id=reply.pk)
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

    assert message_send_email(message_id=reply.pk) == Message.DeliveryStatus.SENT
    assert message_send_email(message_id=reply.pk) == Message.DeliveryStatus.SENT
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


def test_a_transient_failure_requeues_and_the_final_one_is_recorded_and_notified(
    settings, ticket, agent_user
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 5
    reply = agent_reply(ticket, agent_user)

    with pytest.raises(TransientSendError):
        message_send_email(message_id=reply.pk, final_attempt=False)
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.QUEUED
    assert "ConnectionRefusedError" in reply.delivery_error

    assert message_send_email(message_id=reply.pk, final_attempt=True) == Message.DeliveryStatus.FAILED
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.FAILED
    assert "ConnectionRefusedError" in reply.delivery_error
    notification = Notification.objects.get(kind=Notification.Kind.DELIVERY_FAILURE)
    assert notification.recipient == agent_user


def test_the_send_task_retries_then_records_the_failure(settings, ticket, agent_user):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 5
    reply = agent_reply(ticket, agent_user)

    # apply() runs the task and its retries in this process (countdowns are not waited for).
    tickets_send_message_email.apply(args=[reply.pk])

    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.FAILED


def test_retry_delay_grows_exponentially_with_jitter_and_is_capped():
    assert 15 <= retry_delay(0) <= 45
    assert 60 <= retry_delay(2) <= 180
    assert retry_delay(30) <= 5400


def test_the_auto_acknowledgement_goes_out_marked_as_automatic(smtp_server, team):
    team.auto_ack_enabled = True
    team.save()
    ticket = factories.ticket(team=team)
    from tickets.email.outbound import ticket_send_auto_ack

    ack = ticket_send_auto_ack(ticket=ticket, now=ticket.created_at)
    message_send_email(message_id=ack.pk)

    (raw,) = smtp_server.messages
    sent = email.message_from_bytes(raw, policy=policy.default)
    assert sent["Auto-Submitted"] == "auto-replied"
    assert ticket.reference in sent.get_content()


def test_a_notification_is_emailed_to_its_agent_once(
    smtp_server, ticket, agent_user, django_capture_on_commit_callbacks
):
    from tickets.email.outbound import notification_send_email

    with django_capture_on_commit_callbacks() as callbacks:
        notification = services.notification_create(
            recipient=agent_user, kind=Notification.Kind.ASSIGNMENT, title="HD-1001 was assigned to you"
        )
    assert len(callbacks) == 1

    assert notification_send_email(notification_id=notification.pk) is True
    assert notification_send_email(notification_id=notification.pk) is False

    (raw,) = smtp_server.messages
    sent = email.message_from_bytes(raw, policy=policy.default)
    assert sent["To"] == agent_user.email
    assert sent["Subject"] == "HD-1001 was assigned to you"
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_a_notification_email_failure_clears_the_claim_for_the_retry(settings, agent_user):
    from tickets.email.outbound import notification_send_email

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 5
    notification = services.notification_create(
        recipient=agent_user, kind=Notification.Kind.ASSIGNMENT, title="t"
    )

    with pytest.raises(TransientSendError):
        notification_send_email(notification_id=notification.pk, final_attempt=False)

    notification.refresh_from_db()
    assert notification.emailed_at is None


def test_a_reply_recorded_with_deliver_false_is_not_queued_for_email(ticket, agent_user):
    message = services.message_add(
        ticket=ticket, author_role="agent", author_user=agent_user, body_text="Imported answer", deliver=False
    )

    assert message.delivery_status == ""
    assert message.email_message_id is None
