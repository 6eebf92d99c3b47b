"""The acknowledgement email for tickets from the web form.

Deliberately minimal: one plain-text message whose subject carries the reference (`[#HD-1042]`) and
whose Reply-To is the support address, so the customer's reply threads back through email intake.
It is sent by the Celery task `tickets_send_acknowledgement`, enqueued when the ticket commits. The
full outbound pipeline (Message-IDs, threading headers, delivery status) supersedes this module.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone

from tickets.models import AuditEntry, Ticket
from tickets.services import audit_record

logger = logging.getLogger(__name__)

SENT = "acknowledgement sent"


def acknowledgement_subject(ticket: Ticket) -> str:
    return f"[#{ticket.reference}] {ticket.subject}"


def acknowledgement_send(*, ticket: Ticket) -> str:
    """Send the acknowledgement unless it was sent already; mail errors propagate (the task retries)."""
    email = ticket.customer.email
    if not email or ticket.is_auto_generated:
        return "not applicable"
    if ticket.audit_entries.filter(action=AuditEntry.Action.EMAIL, new_value=SENT).exists():
        return "already sent"
    EmailMessage(
        subject=acknowledgement_subject(ticket),
        body=render_to_string("tickets/email/acknowledgement.txt", {"ticket": ticket}),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email],
        reply_to=[settings.HELPDESK_SUPPORT_ADDRESS],
    ).send()
    audit_record(
        ticket=ticket,
        action=AuditEntry.Action.EMAIL,
        now=timezone.now(),
        new_value=SENT,
        details={"to": email},
    )
    return "sent"


def acknowledgement_record_failure(*, ticket: Ticket, error: Exception) -> None:
    logger.warning("Acknowledgement for %s failed for good: %s", ticket.reference, error)
    audit_record(
        ticket=ticket,
        action=AuditEntry.Action.EMAIL,
        now=timezone.now(),
        new_value=f"acknowledgement failed: {error}"[:500],
        details={"to": ticket.customer.email},
    )
