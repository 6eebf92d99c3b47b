from celery import shared_task
from django.utils import timezone

from . import services, webhooks


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def tickets_close_solved_tickets() -> int:
    """Beat task: close tickets solved longer ago than HELPDESK_AUTO_CLOSE_DAYS; safe to run twice."""
    return services.tickets_close_solved()


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
