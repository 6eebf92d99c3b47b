import logging

from celery import shared_task
from django.conf import settings

from . import services
from .inbound import MailboxPollError, inbound_message_process, inbound_outcome, mailbox_poll, mailboxes_due
from .models import Mailbox
from .outbound import TransientSendError, message_send_email, notification_send_email, retry_delay

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def tickets_close_solved_tickets() -> int:
    """Beat task: close tickets solved longer ago than HELPDESK_AUTO_CLOSE_DAYS; safe to run twice."""
    return services.tickets_close_solved()


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def tickets_process_inbound_message(inbound_id: int) -> str:
    """Parse, classify and thread one stored inbound message; a second run does nothing."""
    return inbound_outcome(inbound_message_process(inbound=inbound_id))


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
