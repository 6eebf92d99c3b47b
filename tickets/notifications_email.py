"""The acknowledgement email for tickets from the web form.

Deliberately minimal: one plain-text message whose subject carries the reference (`[#HD-1042]`) and
whose Reply-To is the support address, so the customer's reply threads back through email intake.
The full outbound pipeline (Message-IDs, threading headers, delivery status) supersedes this.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .models import AuditEntry, Ticket
from .services import audit_record

logger = logging.getLogger(__name__)


def acknowledgement_subject(ticket: Ticket) -> str:
    return f"[#{ticket.reference}] {ticket.subject}"


def send_acknowledgement(*, ticket: Ticket) -> bool:
    """Send the acknowledgement now; a delivery failure is logged and audited, never raised."""
    email = ticket.customer.email
    if not email or ticket.is_auto_generated:
        return False
    message = EmailMessage(
        subject=acknowledgement_subject(ticket),
        body=render_to_string("tickets/email/acknowledgement.txt", {"ticket": ticket}),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email],
        reply_to=[settings.HELPDESK_SUPPORT_ADDRESS],
    )
    try:
        message.send()
    except OSError as error:  # smtplib.SMTPException is an OSError
        logger.warning("Acknowledgement for %s to %s failed: %s", ticket.reference, email, error)
        outcome = f"acknowledgement failed: {error}"
        sent = False
    else:
        outcome = "acknowledgement sent"
        sent = True
    audit_record(
        ticket=ticket,
        action=AuditEntry.Action.EMAIL,
        now=timezone.now(),
        new_value=outcome,
        details={"to": email},
    )
    return sent


def send_acknowledgement_on_commit(*, ticket: Ticket) -> None:
    """Send once the ticket is committed, so a rolled-back intake never mails the customer."""
    transaction.on_commit(lambda: send_acknowledgement(ticket=ticket))
