"""Bounces of mail we sent: the reply is marked, its agent notified, repeated hard bounces flag the address.

The replies go out over a real SMTP server (aiosmtpd on loopback); the bounces come back as files through
`ingest_mail`, the same store-then-process path as IMAP and the provider webhooks.
"""

import email
import io
import json
from email import policy

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests import factories
from tickets import services
from tickets.email.inbound import inbound_message_process, inbound_message_store
from tickets.models import (
    AuditEntry,
    Customer,
    EmailBounce,
    InboundMessage,
    Message,
    Notification,
    OutboundDelivery,
    Ticket,
)
from tickets.tasks import tickets_deliver_outbound

pytestmark = pytest.mark.django_db


def receive(raw: bytes) -> InboundMessage:
    return inbound_message_process(
        inbound=inbound_message_store(raw=raw, source=InboundMessage.Source.FILE, enqueue=False)
    )


def ingest(tmp_path, raw: bytes, name: str) -> dict[str, int]:
    path = tmp_path / f"{name}.eml"
    path.write_bytes(raw)
    out = io.StringIO()
    call_command("ingest_mail", str(path), "--json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue().strip().splitlines()[-1])


def send_reply(
    ticket: Ticket, agent, smtp_server, text: str = "Please restart the router."
) -> tuple[Message, bytes]:
    reply = services.message_add(
        ticket=ticket, author_role=Message.AuthorRole.AGENT, author_user=agent, body_text=text
    )
    tickets_deliver_outbound(OutboundDelivery.objects.get(message=reply).pk)  # as the outbox worker does
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.SENT
    return reply, smtp_server.messages[-1]


def dsn_for(sent: bytes, *, status: str = "5.1.1", action: str = "failed", dsn_id: str = "dsn-1") -> bytes:
    """A Postfix-style RFC 3464 report returning the message exactly as our SMTP server received it."""
    original = email.message_from_bytes(sent, policy=policy.default)
    recipient = email.utils.parseaddr(original["To"])[1]
    code = "550" if status.startswith("5") else "450"
    return (
        (
            "Return-Path: <>\r\n"
            "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"
            f"To: {email.utils.parseaddr(original['From'])[1]}\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\n"
            f"Message-ID: <{dsn_id}@mx.example.com>\r\n"
            "Auto-Submitted: auto-replied\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
            "--B\r\nContent-Type: text/plain\r\n\r\n"
            "I'm sorry to have to inform you that your message could not\r\n"
            "be delivered to one or more recipients.\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.com\r\n\r\n"
            f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
            f"Diagnostic-Code: smtp; {code} {status} <{recipient}>: Recipient address rejected:\r\n"
            " User unknown\r\n"
            "--B\r\nContent-Type: message/rfc822\r\n\r\n"
        ).encode()
        + sent.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        + b"\r\n--B--\r\n"
    )


@pytest.fixture
def customer_ticket(agent_user, team):
    ticket = receive(factories.email_bytes()).ticket
    services.ticket_assign(ticket=ticket, team=team, assignee=agent_user)
    return ticket


def test_a_bounce_of_our_reply_over_smtp_marks_it_and_notifies_its_agent(
    tmp_path, smtp_server, customer_ticket, agent_user
):
    reply, sent = send_reply(customer_ticket, agent_user, smtp_server)

    counts = ingest(tmp_path, dsn_for(sent), "bounce")

    assert counts == {"created": 0, "threaded": 1, "duplicates": 0, "ignored": 0, "quarantined": 0}
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.BOUNCED
    assert reply.delivery_error.startswith("bounced (alice@example.com): 550 5.1.1")
    bounce = EmailBounce.objects.get()
    assert (bounce.message, bounce.address, bounce.permanent, bounce.status) == (
        reply,
        "alice@example.com",
        True,
        "5.1.1",
    )
    notification = Notification.objects.get(kind=Notification.Kind.DELIVERY_FAILURE)
    assert notification.recipient == agent_user
    assert notification.title == f"{customer_ticket.reference}: your reply could not be delivered"
    assert "alice@example.com" in notification.body
    note = customer_ticket.messages.get(visibility=Message.Visibility.INTERNAL)
    assert "alice@example.com bounced (5.1.1)" in note.body_text
    assert Ticket.objects.count() == 1
    assert not Customer.objects.get(email="alice@example.com").email_undeliverable_at


def test_the_agent_who_wrote_the_reply_is_notified_even_when_someone_else_is_assigned(
    smtp_server, customer_ticket, agent_user
):
    author = factories.AgentFactory().user
    reply, sent = send_reply(customer_ticket, author, smtp_server)

    receive(dsn_for(sent))

    assert Notification.objects.get(kind=Notification.Kind.DELIVERY_FAILURE).recipient == author
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.BOUNCED


def test_repeated_hard_bounces_flag_the_customer_address_undeliverable_in_the_workspace(
    settings, smtp_server, customer_ticket, agent_user, desk_client
):
    settings.HELPDESK_HARD_BOUNCE_LIMIT = 3
    customer = customer_ticket.customer
    for number in range(1, 4):
        _reply, sent = send_reply(customer_ticket, agent_user, smtp_server, text=f"Attempt {number}")
        receive(dsn_for(sent, dsn_id=f"dsn-{number}"))
        customer.refresh_from_db()
        assert bool(customer.email_undeliverable_at) == (number == 3)

    assert "3 hard bounces" in customer.email_undeliverable_reason
    assert (
        AuditEntry.objects.filter(field="customer_email_undeliverable", new_value="alice@example.com").count()
        == 1
    )
    page = desk_client(agent_user).get(reverse("workspace:ticket", args=[customer_ticket.pk]))
    assert "Undeliverable" in page.content.decode()


def test_soft_bounces_and_delay_warnings_do_not_flag_the_address(
    settings, smtp_server, customer_ticket, agent_user
):
    settings.HELPDESK_HARD_BOUNCE_LIMIT = 1
    soft, sent = send_reply(customer_ticket, agent_user, smtp_server)
    receive(dsn_for(sent, status="4.2.2", dsn_id="soft"))
    delayed, sent_later = send_reply(customer_ticket, agent_user, smtp_server, text="Second")

    warning = receive(dsn_for(sent_later, status="4.4.7", action="delayed", dsn_id="delay"))

    soft.refresh_from_db()
    delayed.refresh_from_db()
    assert soft.delivery_status == Message.DeliveryStatus.BOUNCED  # failed for now, but not a hard bounce
    assert delayed.delivery_status == Message.DeliveryStatus.SENT
    assert warning.state == InboundMessage.State.IGNORED
    assert "'delayed'" in warning.reason and "not a failure" in warning.reason
    assert not Customer.objects.get(email="alice@example.com").email_undeliverable_at


def test_the_same_bounce_delivered_twice_counts_once(settings, smtp_server, customer_ticket, agent_user):
    settings.HELPDESK_HARD_BOUNCE_LIMIT = 2
    _reply, sent = send_reply(customer_ticket, agent_user, smtp_server)

    receive(dsn_for(sent, dsn_id="first-copy"))
    again = receive(dsn_for(sent, dsn_id="second-copy"))

    assert again.state == InboundMessage.State.IGNORED
    assert "already recorded" in again.reason
    assert EmailBounce.objects.count() == 1
    assert not Customer.objects.get(email="alice@example.com").email_undeliverable_at


def test_a_bounce_for_mail_we_never_sent_is_ignored_with_its_reason(tmp_path, smtp_server, customer_ticket):
    stranger = factories.email_bytes(
        from_="support@helpdesk.localhost", message_id="<elsewhere-1@example.net>"
    )

    counts = ingest(tmp_path, dsn_for(stranger), "stranger")

    assert counts["ignored"] == 1 and counts["created"] == 0
    inbound = InboundMessage.objects.get(message_id="dsn-1@mx.example.com")
    assert inbound.reason == "bounce: bounce for a message we did not send (elsewhere-1@example.net)"
    assert not EmailBounce.objects.exists()


def test_a_bounce_naming_a_customers_own_message_is_not_ours_to_mark(customer_ticket):
    # The customer's first message carries a Message-ID too, but we never emailed it.
    first = customer_ticket.messages.get()
    inbound = receive(dsn_for(factories.email_bytes()))

    assert inbound.state == InboundMessage.State.IGNORED
    first.refresh_from_db()
    assert first.delivery_status == Message.DeliveryStatus.NOT_APPLICABLE


def test_an_amazon_ses_json_bounce_marks_our_reply(smtp_server, customer_ticket, agent_user):
    reply, _sent = send_reply(customer_ticket, agent_user, smtp_server)
    event = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bouncedRecipients": [
                {
                    "emailAddress": "alice@example.com",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 no such user",
                }
            ],
        },
        "mail": {"headers": [{"name": "Message-ID", "value": f"<{reply.email_message_id}>"}]},
    }
    raw = factories.email_bytes(
        from_="AWS Notifications <no-reply@sns.amazonaws.com>",
        subject="AWS Notification Message",
        message_id="<sns-1@amazonses.com>",
        body=json.dumps(event) + "\n\n--\nIf you wish to stop receiving notifications ...\n",
    )

    inbound = receive(raw)

    assert inbound.state == InboundMessage.State.PROCESSED
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.BOUNCED
    assert reply.delivery_error == "bounced (alice@example.com): 550 5.1.1 no such user"


def test_a_dsn_without_any_from_header_is_recognised_not_quarantined(
    smtp_server, customer_ticket, agent_user
):
    reply, sent = send_reply(customer_ticket, agent_user, smtp_server)
    headerless = dsn_for(sent).replace(b"From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n", b"")
    assert b"\r\nFrom:" not in headerless.split(b"\r\n\r\n", 1)[0]

    inbound = receive(headerless)

    assert inbound.state == InboundMessage.State.PROCESSED
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.BOUNCED


def test_a_from_less_dsn_for_mail_we_never_sent_is_ignored_not_quarantined():
    stranger = factories.email_bytes(
        from_="support@helpdesk.localhost", message_id="<elsewhere-2@example.net>"
    )
    headerless = dsn_for(stranger).replace(
        b"From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n", b""
    )

    inbound = receive(headerless)

    assert inbound.state == InboundMessage.State.IGNORED
    assert "did not send" in inbound.reason
