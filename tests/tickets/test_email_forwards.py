"""Forwarded mail through intake and the ticket page: content kept, who forwarded what, attached messages."""

from email.message import EmailMessage

import pytest
from django.urls import reverse

from tests import factories
from tickets import services
from tickets.email.inbound import inbound_message_process, inbound_message_store
from tickets.models import InboundMessage

pytestmark = pytest.mark.django_db

OUTLOOK_FORWARD = (
    "Can you handle this one?\n\nAlice\n\n________________________________\n"
    "From: Bob Buyer <bob@example.com>\nSent: Monday, April 2, 2012 2:20 PM\nTo: Alice <alice@example.com>\n"
    "Subject: Order 42\n\nMy order 42 never arrived. Where is it?\n"
)


def receive(raw: bytes) -> InboundMessage:
    return inbound_message_process(
        inbound=inbound_message_store(raw=raw, source=InboundMessage.Source.FILE, enqueue=False)
    )


def ticket_page(ticket, agent, team, desk_client) -> str:
    services.ticket_assign(ticket=ticket, team=team, assignee=agent)
    return desk_client(agent).get(reverse("workspace:ticket", args=[ticket.pk])).content.decode()


def test_an_outlook_forward_keeps_the_forwarded_message_as_the_request():
    inbound = receive(factories.email_bytes(subject="FW: Order 42", body=OUTLOOK_FORWARD))

    body = inbound.ticket_message.body_text
    assert body.startswith("Can you handle this one?")
    assert "From: Bob Buyer <bob@example.com>" in body
    assert "My order 42 never arrived. Where is it?" in body


def test_the_same_block_in_a_reply_is_still_cut_as_history():
    inbound = receive(factories.email_bytes(subject="RE: Order 42", body=OUTLOOK_FORWARD))

    assert inbound.ticket_message.body_text == "Can you handle this one?\n\nAlice"


def test_the_ticket_page_says_who_forwarded_which_message(agent_user, team, desk_client):
    gmail_forward = (
        "FYI, see below.\n\n---------- Forwarded message ---------\nFrom: Bob Buyer <bob@example.com>\n"
        "Date: Mon, Apr 2, 2012 at 2:20 PM\nSubject: Order 42\nTo: Alice <alice@example.com>\n\n"
        "My order 42 never arrived.\n"
    )
    ticket = receive(factories.email_bytes(subject="Fwd: Order 42", body=gmail_forward)).ticket

    page = ticket_page(ticket, agent_user, team, desk_client)

    assert "Forwarded by <strong>Alice Customer</strong>: a message from" in page
    assert "<strong>Bob Buyer &lt;bob@example.com&gt;</strong>" in page
    assert "Mon, Apr 2, 2012 at 2:20 PM, “Order 42”" in page
    assert "My order 42 never arrived." in page


def test_an_attached_message_is_shown_as_a_message_not_an_opaque_file(agent_user, team, desk_client):
    original = EmailMessage()
    original["From"] = "Bob Buyer <bob@example.com>"
    original["To"] = "shop@example.com"
    original["Subject"] = "Order 42"
    original["Date"] = "Mon, 02 Apr 2012 14:20:00 +0000"
    original.set_content("My order 42 never arrived.\n")
    outer = EmailMessage()
    outer["From"] = "Alice Customer <alice@example.com>"
    outer["To"] = "support@helpdesk.localhost"
    outer["Subject"] = "Complaint attached"
    outer["Message-ID"] = "<outer-1@example.com>"
    outer.set_content("Please see the attached message.\n")
    outer.add_attachment(original)
    ticket = receive(outer.as_bytes()).ticket
    attachment = ticket.messages.get().attachments.get()
    assert attachment.content_type == "message/rfc822"

    page = ticket_page(ticket, agent_user, team, desk_client)

    assert "Attached message from <strong>Bob Buyer &lt;bob@example.com&gt;</strong>" in page
    assert "“Order 42”" in page
    assert "My order 42 never arrived." in page
    assert reverse("workspace:attachment", args=[attachment.pk]) in page  # the file is still there
