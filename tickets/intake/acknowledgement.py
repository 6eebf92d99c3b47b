"""The acknowledgement email for tickets from the web form.

One plain-text message whose subject carries the reference (`[#HD-1042]`) and whose Reply-To is the
support address, so the customer's reply threads back through email intake. It is queued in the
outbox (tickets/outbox/) in the transaction that creates the ticket, so a rolled-back intake never
mails the customer and a broker outage never loses it.
"""

from datetime import datetime

from django.conf import settings
from django.template.loader import render_to_string

from tickets.models import OutboundDelivery, Ticket
from tickets.outbox.replies import new_message_id
from tickets.outbox.services import EmailContent, outbox_email_enqueue


def acknowledgement_subject(ticket: Ticket) -> str:
    return f"[#{ticket.reference}] {ticket.subject}"


def acknowledgement_queue(*, ticket: Ticket, now: datetime) -> OutboundDelivery | None:
    """Queue the acknowledgement once per ticket; None when the customer has no address."""
    email = ticket.customer.email
    if not email or ticket.is_auto_generated:
        return None
    return outbox_email_enqueue(
        kind=OutboundDelivery.Kind.ACKNOWLEDGEMENT,
        source_id=ticket.pk,
        email=EmailContent(
            subject=acknowledgement_subject(ticket),
            body_text=render_to_string("tickets/email/acknowledgement.txt", {"ticket": ticket}),
            to=[email],
            reply_to=[settings.HELPDESK_SUPPORT_ADDRESS],
            # Agents' email replies name it in In-Reply-To/References, so the customer's mail client
            # shows the acknowledgement and the answers as one conversation.
            headers={"Message-ID": f"<{new_message_id(ticket)}>", "Auto-Submitted": "auto-replied"},
        ),
        ticket=ticket,
        now=now,
    )
