"""Outbound webhooks: emit events, deliver them signed, retry with backoff, keep the delivery log.

`webhooks_emit(event, payload, team=None)` is the one entry point for every app (tickets now;
sla.warning, sla.breach and survey.answered from sla/ and surveys/). It writes one
`WebhookDelivery` row per matching active subscription inside the caller's transaction (so an
event exists exactly when the change that caused it commits) and enqueues the delivery task on
commit. Signing, retry policy and sweep are the outbox's (tickets/outbox/). The row is the source
of truth: the task and the beat sweep both go through the same
compare-and-swap claim, so a delivered row is never sent again. Delivery is at-least-once (a
worker that dies after the POST but before recording it leaves the row to be retried after its
lease); receivers dedupe on the `X-Helpdesk-Delivery` id.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tickets.config_cache import cached
from tickets.models import Team, Ticket, WebhookDelivery, WebhookEvent, WebhookSubscription
from tickets.outbox import backoff, transports
from tickets.outbox.services import publish

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)  # longer than the HTTP timeout, so a live attempt is never re-claimed
TIMEOUT_SECONDS = 10
State = WebhookDelivery.State


DELIVER_TASK = "tickets.tasks.tickets_deliver_webhook"


def _enqueue(delivery_id: int) -> None:
    publish(delivery_id, task=DELIVER_TASK)


def webhooks_emit(
    event: str, payload: dict, team: Team | int | None = None, *, now: datetime | None = None
) -> list[WebhookDelivery]:
    """Record `event` for every active subscription that wants it; deliveries start on commit.

    `team` scopes the event (a subscription limited to a team only gets that team's events).
    `payload` must be JSON-serialisable (datetimes and decimals are fine).
    """
    team_id = team.pk if isinstance(team, Team) else team
    return webhooks_emit_many([WebhookEventInput(event, payload, team_id)], now=now)


@dataclass(frozen=True)
class WebhookEventInput:
    event: str
    payload: dict
    team_id: int | None = None


def webhooks_emit_many(
    events: list[WebhookEventInput], *, now: datetime | None = None
) -> list[WebhookDelivery]:
    """`webhooks_emit` for many events in a fixed number of queries (the SLA sweep's batches)."""
    for item in events:
        if item.event not in WebhookEvent.values:
            raise ValueError(
                f"Unknown webhook event {item.event!r}; expected one of {', '.join(WebhookEvent.values)}."
            )
    if not events:
        return []
    now = now or timezone.now()
    subscriptions = cached(
        "webhook_subscriptions", lambda: list(WebhookSubscription.objects.filter(is_active=True))
    )
    rows = [
        # Round-trip through JSON so what is stored is exactly what will be sent.
        WebhookDelivery(
            subscription=subscription,
            event=item.event,
            payload=json.loads(json.dumps(item.payload, cls=DjangoJSONEncoder)),
            created_at=now,
            next_attempt_at=now,
        )
        for item in events
        for subscription in subscriptions
        if subscription.wants(item.event, item.team_id)
    ]
    if not rows:
        return []
    deliveries = WebhookDelivery.objects.bulk_create(rows)
    if not all(d.pk for d in deliveries):  # backends that do not return ids from bulk_create
        deliveries = list(WebhookDelivery.objects.filter(created_at=now, subscription__in=subscriptions))
    for delivery in deliveries:
        # robust: a broker outage must not fail the committed request; tickets_retry_webhooks picks it up.
        transaction.on_commit(lambda pk=delivery.pk: _enqueue(pk), robust=True)
    return deliveries


def ticket_payload(ticket: Ticket, changes: list[dict] | None = None) -> dict:
    """The `data` of ticket.* events: the ticket as it is now, and for updates what changed."""
    data = {
        "ticket": {
            "id": ticket.pk,
            "reference": ticket.reference,
            "subject": ticket.subject,
            "status": ticket.status,
            "priority": ticket.priority,
            "channel": ticket.channel,
            "team": ticket.team_id,
            "assignee": ticket.assignee_id,
            "customer": ticket.customer_id,
            "created_at": ticket.created_at,
            "updated_at": ticket.updated_at,
            "solved_at": ticket.solved_at,
        }
    }
    if changes is not None:
        data["changes"] = changes
    return data


def webhook_body(delivery: WebhookDelivery) -> bytes:
    return transports.envelope_body(
        delivery_id=delivery.pk, event=delivery.event, created_at=delivery.created_at, data=delivery.payload
    )


def webhook_deliver(
    *,
    delivery_id: int,
    now: datetime | None = None,
    rng: Callable[[], float] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> WebhookDelivery | None:
    """Make one attempt if the delivery is due; returns the updated row, or None if nothing was due.

    Network errors, timeouts, 5xx, 408 and 429 are retried with the outbox's backoff
    (tickets/outbox/backoff.py) up to HELPDESK_OUTBOX_MAX_ATTEMPTS; other 4xx answers fail the delivery
    at once (the receiver refuses it).
    """
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status__in=[State.PENDING, State.SENDING], next_attempt_at__lte=now
    ).update(status=State.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + LEASE)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    code, error, permanent = None, "", False
    try:
        code = transports.post_signed(
            url=delivery.subscription.url,
            secret=delivery.subscription.secret,
            event=delivery.event,
            delivery_id=delivery.pk,
            body=webhook_body(delivery),
            now=now,
            timeout=timeout,
        )
    except transports.DeliveryError as failure:
        code, error, permanent = failure.response_code, failure.reason, failure.permanent

    ours = WebhookDelivery.objects.filter(pk=delivery.pk, status=State.SENDING, attempts=delivery.attempts)
    if not error:
        ours.update(
            status=State.DELIVERED, response_code=code, error="", delivered_at=now, next_attempt_at=None
        )
    elif not permanent and delivery.attempts < settings.HELPDESK_OUTBOX_MAX_ATTEMPTS:
        delay = backoff.backoff_seconds(delivery.attempts, **({"rng": rng} if rng else {}))
        ours.update(
            status=State.PENDING,
            response_code=code,
            error=error,
            next_attempt_at=now + timedelta(seconds=delay),
        )
    else:
        ours.update(status=State.FAILED, response_code=code, error=error, next_attempt_at=None)
        logger.warning("Webhook delivery %s failed for good: %s", delivery.pk, error)
    delivery.refresh_from_db()
    return delivery


def webhook_deliveries_due(*, now: datetime | None = None, batch_size: int = 200) -> list[int]:
    """Ids of deliveries whose next attempt (or expired lease) is due, oldest first."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(status__in=[State.PENDING, State.SENDING], next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch_size]
    )


@transaction.atomic
def webhook_delivery_retry(*, delivery: WebhookDelivery, now: datetime | None = None) -> bool:
    """Give a failed delivery a fresh round of attempts (admin action); delivered rows stay as they are."""
    now = now or timezone.now()
    changed = WebhookDelivery.objects.filter(pk=delivery.pk, status=State.FAILED).update(
        status=State.PENDING, attempts=0, next_attempt_at=now
    )
    if changed:
        transaction.on_commit(lambda: _enqueue(delivery.pk), robust=True)
    return bool(changed)
