"""Outbound email: public agent replies, automatic acknowledgements and their delivery state.

A message to be emailed gets its Message-ID and `delivery_status=queued` in the transaction that creates
it (so a fast customer reply can thread even before the send finishes); the Celery task
`tickets_send_message_email` then claims it with a compare-and-swap (queued -> sending) and sends it
through Django's email backend, retrying transient SMTP errors with exponential backoff and jitter.
"""

import logging
import random
import smtplib
import uuid
from datetime import datetime
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template import Context, Template
from django.utils import timezone

from tickets import services
from tickets.email.inbound import own_addresses
from tickets.mail.classify import is_from_own_address
from tickets.mail.threading import make_message_id, reply_address, subject_with_reference
from tickets.models import AuditEntry, Channel, Message, Notification, Ticket

logger = logging.getLogger(__name__)

DeliveryStatus = Message.DeliveryStatus

DEFAULT_AUTO_ACK = (
    "Hello {{ customer.first_name|default:'there' }},\n\n"
    "thank you for your message. We have received it as ticket {{ reference }} and will get back to you "
    "as soon as we can. Simply reply to this email to add more information.\n"
)
# References keep the thread root and the most recent ids; clients need no more than that.
_MAX_REFERENCES = 20


class TransientSendError(Exception):
    """Sending failed in a way that may succeed later (connection refused, 4xx); the task retries."""


def support_address(ticket: Ticket) -> str:
    """The address the ticket's mail comes from: its team's own address, else the first support address."""
    if ticket.team is not None and ticket.team.email_address:
        return ticket.team.email_address
    configured = [a for a in settings.HELPDESK_SUPPORT_ADDRESSES if a.strip()]
    return configured[0].strip() if configured else parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def should_email(message: Message, ticket: Ticket) -> bool:
    # A web form customer left an email address and nothing else, so the answer goes there too.
    return (
        message.channel in (Channel.EMAIL, Channel.WEB)
        and message.visibility == Message.Visibility.PUBLIC
        and message.author_role in (Message.AuthorRole.AGENT, Message.AuthorRole.SYSTEM)
        and bool(ticket.customer.email)
    )


def message_queue_email(*, message: Message, ticket: Ticket) -> Message:
    """Give the message its Message-ID, mark it queued and send it in a task once the transaction commits.

    Called by `tickets.services` inside the transaction that creates the message.
    """
    domain = support_address(ticket).rpartition("@")[2] or "helpdesk.localhost"
    # Stored without angle brackets, like the ids the parser reads from inbound headers.
    message.email_message_id = message.email_message_id or make_message_id(
        ticket.reference, domain, uuid.uuid4().hex
    ).strip("<>")
    message.delivery_status = DeliveryStatus.QUEUED
    message.delivery_error = ""
    Message.objects.filter(pk=message.pk).update(
        email_message_id=message.email_message_id, delivery_status=DeliveryStatus.QUEUED, delivery_error=""
    )
    from tickets.tasks import tickets_send_message_email

    pk = message.pk
    transaction.on_commit(lambda: tickets_send_message_email.delay(pk), robust=True)
    return message


def retry_delay(retries: int) -> float:
    """Exponential backoff with jitter: ~30 s, 1 min, 2 min ... capped at one hour."""
    base = min(3600, 30 * 2**retries)
    return base * random.uniform(0.5, 1.5)


def _is_permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return True
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def build_email(message: Message) -> EmailMultiAlternatives:
    ticket = message.ticket
    sender = support_address(ticket)
    previous = list(
        Message.objects.filter(
            ticket=ticket, email_message_id__isnull=False, created_at__lte=message.created_at
        )
        .exclude(pk=message.pk)
        .order_by("created_at", "pk")
        .values_list("email_message_id", flat=True)
    )
    references = (
        previous if len(previous) <= _MAX_REFERENCES else previous[:1] + previous[-(_MAX_REFERENCES - 1) :]
    )
    headers = {"Message-ID": f"<{message.email_message_id}>"}
    if references:
        headers["In-Reply-To"] = f"<{references[-1]}>"
        headers["References"] = " ".join(f"<{ref}>" for ref in references)
    if message.is_automatic:
        # RFC 3834: automatic mail must say so, so other robots do not answer it (loop protection).
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    subject = ticket.subject if ticket.subject.lower().startswith("re:") else f"Re: {ticket.subject}"
    from_name = parseaddr(settings.DEFAULT_FROM_EMAIL)[0] or "Support"
    email = EmailMultiAlternatives(
        subject=subject_with_reference(subject, ticket.reference),
        body=message.body_text,
        from_email=formataddr((from_name, sender)),
        to=[formataddr((ticket.customer.name, ticket.customer.email))],
        reply_to=[reply_address(sender, ticket.reply_token)],
        headers=headers,
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    return email


def message_send_email(
    *, message_id: int, final_attempt: bool = True, connection=None, now: datetime | None = None
) -> str:
    """Send one queued message; returns its delivery status afterwards.

    Idempotent: only a queued message is claimed (queued -> sending), so a second run, or a duplicate task,
    sends nothing. A transient failure puts it back to queued and raises TransientSendError unless this is
    the final attempt; a permanent or final failure marks it failed and notifies the assignee.
    """
    now = now or timezone.now()
    claimed = Message.objects.filter(pk=message_id, delivery_status=DeliveryStatus.QUEUED).update(
        delivery_status=DeliveryStatus.SENDING
    )
    if not claimed:
        return Message.objects.filter(pk=message_id).values_list("delivery_status", flat=True).first() or ""
    message = Message.objects.select_related("ticket__customer", "ticket__team", "ticket__assignee").get(
        pk=message_id
    )
    try:
        email = build_email(message)
        email.connection = connection or get_connection()
        email.send()
    except (smtplib.SMTPException, OSError) as error:
        reason = f"{type(error).__name__}: {error}"[:2000]
        if final_attempt or _is_permanent(error):
            _record_failure(message=message, reason=reason, now=now)
            return DeliveryStatus.FAILED
        Message.objects.filter(pk=message_id, delivery_status=DeliveryStatus.SENDING).update(
            delivery_status=DeliveryStatus.QUEUED, delivery_error=f"will retry after: {reason}"
        )
        raise TransientSendError(reason) from error
    Message.objects.filter(pk=message_id, delivery_status=DeliveryStatus.SENDING).update(
        delivery_status=DeliveryStatus.SENT, delivery_error=""
    )
    return DeliveryStatus.SENT


@transaction.atomic
def _record_failure(*, message: Message, reason: str, now: datetime) -> None:
    Message.objects.filter(pk=message.pk).update(delivery_status=DeliveryStatus.FAILED, delivery_error=reason)
    ticket = message.ticket
    services.audit_record(
        ticket=ticket,
        action=AuditEntry.Action.EMAIL,
        now=now,
        actor_label=services.SYSTEM,
        field="delivery_status",
        old_value=DeliveryStatus.SENDING,
        new_value=DeliveryStatus.FAILED,
        details={"message_id": message.pk, "error": reason[:500]},
    )
    recipient = message.author_user or ticket.assignee
    if recipient is not None:
        services.notification_create(
            recipient=recipient,
            kind=Notification.Kind.DELIVERY_FAILURE,
            ticket=ticket,
            title=f"{ticket.reference}: your email to {ticket.customer.email} could not be sent",
            body=reason,
            dedupe_key=f"send-failed:{message.pk}",
            now=now,
        )


def ticket_send_auto_ack(*, ticket: Ticket, now: datetime) -> Message | None:
    """Acknowledge a new email ticket if its team wants that (never for automatic mail).

    Stored as a public automatic system message: it is emailed like a reply but never counts as the first
    response.
    """
    team = ticket.team
    if team is None or not team.auto_ack_enabled or ticket.is_auto_generated or not ticket.customer.email:
        return None
    if is_from_own_address(ticket.customer.email, own_addresses()):
        return None
    text = Template(team.auto_ack_template or DEFAULT_AUTO_ACK).render(
        Context(
            {"ticket": ticket, "customer": ticket.customer, "reference": ticket.reference}, autoescape=False
        )
    )
    return services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.SYSTEM,
        visibility=Message.Visibility.PUBLIC,
        channel=Channel.EMAIL,
        body_text=text.strip(),
        is_automatic=True,
        now=now,
    )


def notification_send_email(
    *, notification_id: int, final_attempt: bool = True, now: datetime | None = None
) -> bool:
    """Email one in-app notification to its recipient; returns whether it was sent by this call.

    Claimed by setting `emailed_at` only where it is empty (a second run sends nothing); a transient failure
    clears it again and raises TransientSendError unless this is the final attempt.
    """
    now = now or timezone.now()
    if not Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(emailed_at=now):
        return False
    notification = Notification.objects.select_related("recipient", "ticket").get(pk=notification_id)
    if not notification.recipient.email:
        return False
    try:
        EmailMultiAlternatives(
            subject=notification.title,
            body=notification.body or notification.title,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[notification.recipient.email],
            headers={"Auto-Submitted": "auto-generated"},
            connection=get_connection(),
        ).send()
    except (smtplib.SMTPException, OSError) as error:
        if final_attempt or _is_permanent(error):
            logger.warning("Notification %s could not be emailed: %s", notification_id, error)
            return False
        Notification.objects.filter(pk=notification_id).update(emailed_at=None)
        raise TransientSendError(f"{type(error).__name__}: {error}") from error
    return True
