import logging
import random
import smtplib

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from tickets import services
from tickets.email.inbound import (
    MailboxPollError,
    inbound_message_process,
    inbound_messages_requeue_stored,
    inbound_outcome,
    mailbox_poll,
    mailboxes_due,
)
from tickets.email.outbound import (
    TransientSendError,
    message_send_email,
    notification_send_email,
    retry_delay,
)
from tickets.email.raw_mail import inbound_raw_purge
from tickets.intake import acknowledgement as notifications_email
from tickets.models import Mailbox, Ticket
from tickets.webhooks import services as webhooks

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def tickets_close_solved_tickets() -> int:
    """Beat task: close tickets solved longer ago than HELPDESK_AUTO_CLOSE_DAYS; safe to run twice."""
    return services.tickets_close_solved()


# Transient: worth a retry. Anything else (a bad address, a template error) fails at once.
TRANSIENT_MAIL_ERRORS = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    ConnectionError,
    TimeoutError,
)


def _backoff_seconds(retries: int) -> float:
    """30 s, 60 s, 120 s … capped at 15 min, with ±50 % jitter so retries after an outage spread out."""
    return min(30 * 2**retries, 900) * random.uniform(0.5, 1.5)


@shared_task(bind=True, acks_late=True, max_retries=5, time_limit=120, soft_time_limit=90)
def tickets_send_acknowledgement(self, ticket_id: int) -> str:
    """Send the web form acknowledgement of a ticket once; retry transient mail errors with backoff."""
    ticket = Ticket.objects.select_related("customer").filter(pk=ticket_id).first()
    if ticket is None:
        return "no such ticket"
    try:
        return notifications_email.acknowledgement_send(ticket=ticket)
    except TRANSIENT_MAIL_ERRORS as error:
        if self.request.retries >= self.max_retries:
            notifications_email.acknowledgement_record_failure(ticket=ticket, error=error)
            return "failed"
        raise self.retry(exc=error, countdown=_backoff_seconds(self.request.retries)) from error
    except smtplib.SMTPException as error:
        # Refused by the server (bad recipient, policy): retrying would not help.
        notifications_email.acknowledgement_record_failure(ticket=ticket, error=error)
        return "failed"


@shared_task(acks_late=True, time_limit=60, soft_time_limit=45)
def tickets_deliver_webhook(delivery_id: int) -> str:
    """One attempt at a webhook delivery; a retryable failure re-enqueues itself for its due time."""
    delivery = webhooks.webhook_deliver(delivery_id=delivery_id)
    if delivery is None:
        return "not due"
    if delivery.status == delivery.State.PENDING:
        countdown = max(0.0, (delivery.next_attempt_at - timezone.now()).total_seconds())
        tickets_deliver_webhook.apply_async((delivery_id,), countdown=countdown)
    return delivery.status


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def tickets_retry_webhooks() -> int:
    """Beat sweep: enqueue every delivery that is due (lost tasks, expired leases); safe to run twice."""
    due = webhooks.webhook_deliveries_due()
    for delivery_id in due:
        tickets_deliver_webhook.delay(delivery_id)
    return len(due)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def tickets_process_inbound_message(inbound_id: int) -> str:
    """Parse, classify and thread one stored inbound message; a second run does nothing."""
    return inbound_outcome(inbound_message_process(inbound=inbound_id))


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def tickets_purge_raw_mail() -> int:
    """Beat task: delete raw bytes of finished inbound mail past the retention period, in batches."""
    purged = 0
    now = timezone.now()
    while batch := inbound_raw_purge(now=now):
        purged += batch
    return purged


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def tickets_requeue_inbound_messages() -> int:
    """Beat task: enqueue stored inbound messages whose processing was never enqueued or never finished."""
    return len(inbound_messages_requeue_stored())


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def tickets_poll_mailboxes() -> int:
    """Beat task: enqueue one poll per active IMAP mailbox, so a slow server blocks only its own."""
    pks = list(mailboxes_due())
    for pk in pks:
        tickets_poll_mailbox.delay(pk)
    return len(pks)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240, expires=240)
def tickets_poll_mailbox(mailbox_id: int) -> int:
    """Store new messages of one mailbox; errors are recorded on it and the next beat tries again."""
    mailbox = Mailbox.objects.filter(pk=mailbox_id, is_active=True).first()
    if mailbox is None:
        return 0
    try:
        return mailbox_poll(mailbox=mailbox)
    except MailboxPollError:
        logger.warning("IMAP poll failed", exc_info=True)
        return 0


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=settings.HELPDESK_EMAIL_SEND_MAX_RETRIES,
    time_limit=120,
    soft_time_limit=100,
)
def tickets_send_message_email(self, message_id: int) -> str:
    """Send one queued outbound message; transient SMTP errors retry with backoff and jitter."""
    final = self.request.retries >= self.max_retries
    try:
        return message_send_email(message_id=message_id, final_attempt=final)
    except TransientSendError as error:
        raise self.retry(exc=error, countdown=retry_delay(self.request.retries)) from error


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=settings.HELPDESK_EMAIL_SEND_MAX_RETRIES,
    time_limit=120,
    soft_time_limit=100,
)
def tickets_send_notification_email(self, notification_id: int) -> bool:
    """Email one notification to its agent; transient SMTP errors retry with backoff and jitter."""
    final = self.request.retries >= self.max_retries
    try:
        return notification_send_email(notification_id=notification_id, final_attempt=final)
    except TransientSendError as error:
        raise self.retry(exc=error, countdown=retry_delay(self.request.retries)) from error
