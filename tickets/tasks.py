import logging

from celery import shared_task
from django.utils import timezone

from tickets import services
from tickets.api.idempotency import idempotency_keys_purge
from tickets.email.inbound import (
    OUTCOMES,
    MailboxPollError,
    inbound_message_process,
    inbound_messages_requeue_stored,
    inbound_outcome,
    mailbox_poll,
    mailboxes_due,
)
from tickets.email.raw_mail import inbound_raw_purge
from tickets.models import Mailbox, OutboundDelivery
from tickets.outbox import services as outbox
from tickets.reporting import rollup
from tickets.webhooks import services as webhooks

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def tickets_close_solved_tickets() -> int:
    """Beat task: close tickets solved longer ago than HELPDESK_AUTO_CLOSE_DAYS; safe to run twice."""
    return services.tickets_close_solved()


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def tickets_rollup_metrics() -> int:
    """Beat task: compute the rollup's marked and newly ended days, and its recent days hourly; safe twice."""
    return rollup.rollup_sweep()


@shared_task(acks_late=True, time_limit=60, soft_time_limit=45)
def tickets_deliver_webhook(delivery_id: int) -> str:
    """One attempt at a webhook delivery; a retryable failure re-enqueues itself for its due time."""
    delivery = webhooks.webhook_deliver(delivery_id=delivery_id)
    if delivery is None:
        return "not due"
    if delivery.status == delivery.State.PENDING:
        countdown = max(0.0, (delivery.next_attempt_at - timezone.now()).total_seconds())
        outbox.publish(delivery_id, countdown=countdown, task=webhooks.DELIVER_TASK)
    return delivery.status


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def tickets_process_inbound_message(inbound_id: int) -> str:
    """Parse, classify and thread one stored inbound message; a second run does nothing."""
    return inbound_outcome(inbound_message_process(inbound=inbound_id))


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def tickets_process_inbound_messages(inbound_ids: list[int]) -> dict[str, int]:
    """Process stored inbound messages one after the other, in the given order (one conversation's
    messages are never split across tasks: see `inbound_messages_enqueue`); returns the outcome counts."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for inbound_id in inbound_ids:
        counts[inbound_outcome(inbound_message_process(inbound=inbound_id))] += 1
    return counts


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def tickets_purge_raw_mail() -> int:
    """Beat task: delete raw bytes of finished inbound mail past the retention period, in batches."""
    purged = 0
    now = timezone.now()
    while batch := inbound_raw_purge(now=now):
        purged += batch
    return purged


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def tickets_purge_idempotency_keys() -> int:
    """Beat task: delete Idempotency-Key records older than the retention period, in batches."""
    purged = 0
    now = timezone.now()
    while batch := idempotency_keys_purge(now=now):
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


# The time limit stays well under HELPDESK_OUTBOX_LEASE_SECONDS, so a live attempt is never re-claimed.
@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def tickets_deliver_outbound(delivery_id: int) -> str:
    """One attempt at an outbox delivery; a transient failure re-enqueues it for its due time."""
    delivery = outbox.delivery_attempt(delivery_id=delivery_id)
    if delivery is None:
        return "not due"
    if delivery.state == OutboundDelivery.State.PENDING:
        outbox.publish(
            delivery_id, countdown=max(0.0, (delivery.next_attempt_at - timezone.now()).total_seconds())
        )
    return delivery.state


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def tickets_sweep_outbox() -> int:
    """Beat sweep: enqueue every due outbox row and webhook delivery (lost tasks, retries, expired
    leases); safe to run twice, the claim lets one attempt through."""
    due = outbox.deliveries_due()
    for delivery_id in due:
        outbox.publish(delivery_id)
    webhooks_due = webhooks.webhook_deliveries_due()
    for delivery_id in webhooks_due:
        outbox.publish(delivery_id, task=webhooks.DELIVER_TASK)
    return len(due) + len(webhooks_due)
