import random
import smtplib

from celery import shared_task
from django.utils import timezone

from . import notifications_email, services, webhooks
from .models import Ticket


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
