"""Writes of the outbox: queue a delivery, attempt it, record its outcome, recover it.

Every state change is a compare-and-swap UPDATE (`... WHERE state = old`), so any number of workers and
sweeps may race on a row and exactly one wins each transition; a sent row is never claimed again.
A claim takes a lease (`next_attempt_at = now + HELPDESK_OUTBOX_LEASE_SECONDS`, longer than the send
task's time limit); a worker that dies mid-send leaves the row `sending` until its lease expires, and
then the sweep claims it again. Delivery is therefore at-least-once across the SMTP or HTTP boundary
(a worker killed after the server accepted the message but before recording it sends it again) and
exactly-once in the database.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tickets import hooks
from tickets.enqueue import enqueue
from tickets.models import IntegrationKey, Message, OutboundDelivery, Ticket
from tickets.outbox import backoff, transports

logger = logging.getLogger(__name__)

State = OutboundDelivery.State
DeliveryStatus = Message.DeliveryStatus
DELIVER_TASK = "tickets.tasks.tickets_deliver_outbound"
TIMEOUT_SECONDS = 10

# What a message shows while its delivery is in each state.
_MESSAGE_STATUS = {
    State.PENDING: DeliveryStatus.QUEUED,
    State.SENDING: DeliveryStatus.SENDING,
    State.SENT: DeliveryStatus.SENT,
    State.FAILED: DeliveryStatus.FAILED,
}


@dataclass(frozen=True)
class EmailContent:
    """A rendered email, exactly as it will be sent (`headers` carries the Message-ID, if any)."""

    subject: str
    body_text: str
    to: list[str]
    from_email: str = ""
    body_html: str = ""
    cc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


def lease() -> timedelta:
    return timedelta(seconds=settings.HELPDESK_OUTBOX_LEASE_SECONDS)


def publish(delivery_id: int, *, countdown: float = 0, task: str = DELIVER_TASK) -> bool:
    """Hand a delivery to a worker; a broker outage only logs, the outbox sweep sends the row later."""
    return enqueue(task, delivery_id, countdown=countdown)


def _mirror_on_message(delivery: OutboundDelivery, *, state: str, error: str = "") -> None:
    if delivery.message_id is not None:
        Message.objects.filter(pk=delivery.message_id).update(
            delivery_status=_MESSAGE_STATUS[state], delivery_error=error[:2000]
        )


def _enqueue(delivery: OutboundDelivery, **fields: object) -> OutboundDelivery:
    """Write the row unless this source was queued before (then return that row, untouched)."""
    existing = OutboundDelivery.objects.filter(kind=delivery.kind, source_id=delivery.source_id).first()
    if existing is not None:
        return existing
    delivery.save()
    _mirror_on_message(delivery, state=State.PENDING)
    transaction.on_commit(lambda: publish(delivery.pk))
    return delivery


@dataclass(frozen=True)
class QueuedEmail:
    """One email for `outbox_emails_enqueue`: what it delivers (`source_id`), the email, its ticket."""

    source_id: int
    email: EmailContent
    ticket: Ticket | None = None
    message: Message | None = None  # the ticket message it delivers (its status mirrors the row's)


def _email_row(
    *,
    kind: str,
    source_id: int,
    email: EmailContent,
    ticket: Ticket | None,
    message: Message | None,
    now: datetime,
) -> OutboundDelivery:
    return OutboundDelivery(
        kind=kind,
        source_id=source_id,
        transport=OutboundDelivery.Transport.EMAIL,
        ticket=ticket,
        message=message,
        from_email=email.from_email or settings.DEFAULT_FROM_EMAIL,
        to=list(email.to),
        cc=list(email.cc),
        reply_to=list(email.reply_to),
        subject=email.subject,
        body_text=email.body_text,
        body_html=email.body_html,
        headers=dict(email.headers),
        email_message_id=email.headers.get("Message-ID", "").strip().strip("<>")[:998],
        created_at=now,
        next_attempt_at=now,
    )


def outbox_email_enqueue(
    *,
    kind: str,
    source_id: int,
    email: EmailContent,
    ticket: Ticket | None = None,
    message: Message | None = None,
    now: datetime | None = None,
) -> OutboundDelivery:
    """Queue an email; call inside the transaction of the change that causes it (it is sent on commit)."""
    now = now or timezone.now()
    return _enqueue(
        _email_row(kind=kind, source_id=source_id, email=email, ticket=ticket, message=message, now=now)
    )


def outbox_emails_enqueue(
    *, kind: str, emails: list[QueuedEmail], now: datetime | None = None
) -> list[OutboundDelivery]:
    """Queue many emails of one kind in one INSERT, for sources created in the same transaction (so none
    can have been queued before): the notifications of an SLA sweep batch, the acknowledgement of a new
    email ticket (whose message the caller writes with its `queued` status)."""
    now = now or timezone.now()
    deliveries = OutboundDelivery.objects.bulk_create(
        _email_row(
            kind=kind, source_id=q.source_id, email=q.email, ticket=q.ticket, message=q.message, now=now
        )
        for q in emails
    )
    for delivery in deliveries:
        transaction.on_commit(lambda pk=delivery.pk: publish(pk))
    return deliveries


def outbox_callback_enqueue(
    *,
    kind: str,
    source_id: int,
    integration: IntegrationKey,
    payload: dict,
    ticket: Ticket | None = None,
    message: Message | None = None,
    now: datetime | None = None,
) -> OutboundDelivery:
    """Queue a signed POST of `payload` to the integration's callback URL (sent on commit)."""
    now = now or timezone.now()
    return _enqueue(
        OutboundDelivery(
            kind=kind,
            source_id=source_id,
            transport=OutboundDelivery.Transport.CALLBACK,
            ticket=ticket,
            message=message,
            url=integration.callback_url,
            integration=integration,
            payload=payload,
            created_at=now,
            next_attempt_at=now,
        )
    )


def _claim(delivery_id: int, now: datetime) -> OutboundDelivery | None:
    with transaction.atomic():
        claimed = OutboundDelivery.objects.filter(
            pk=delivery_id, state__in=[State.PENDING, State.SENDING], next_attempt_at__lte=now
        ).update(state=State.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + lease())
        if not claimed:
            return None
        delivery = OutboundDelivery.objects.select_related("integration").get(pk=delivery_id)
        _mirror_on_message(delivery, state=State.SENDING)
    return delivery


def _finish(
    delivery: OutboundDelivery,
    *,
    state: str,
    now: datetime,
    error: str = "",
    response_code: int | None = None,
) -> bool:
    """Record the outcome of the attempt this worker claimed; False if its lease was taken over."""
    with transaction.atomic():
        retry_at = None
        if state == State.PENDING:
            retry_at = now + timedelta(seconds=backoff.backoff_seconds(delivery.attempts))
        changed = OutboundDelivery.objects.filter(
            pk=delivery.pk, state=State.SENDING, attempts=delivery.attempts
        ).update(
            state=state,
            last_error=error[:2000],
            response_code=response_code,
            next_attempt_at=retry_at,
            sent_at=now if state == State.SENT else None,
        )
        if not changed:
            return False
        delivery.state, delivery.last_error, delivery.next_attempt_at = state, error[:2000], retry_at
        delivery.response_code = response_code
        delivery.sent_at = now if state == State.SENT else None
        _mirror_on_message(delivery, state=state, error=f"will retry: {error}" if retry_at else error)
        if state == State.SENT:
            hooks.announce(hooks.OUTBOUND_SENT, delivery=delivery, now=now)
        elif state == State.FAILED:
            logger.warning("Outbox delivery %s failed for good: %s", delivery.pk, error)
            hooks.announce(hooks.OUTBOUND_FAILED, delivery=delivery, now=now, bounced=False)
    return True


def delivery_attempt(
    *, delivery_id: int, now: datetime | None = None, connection=None, timeout: float = TIMEOUT_SECONDS
) -> OutboundDelivery | None:
    """Make one attempt if the delivery is due; returns the row afterwards, or None if nothing was due.

    Transient failures go back to pending, due after the backoff, until HELPDESK_OUTBOX_MAX_ATTEMPTS;
    permanent ones (refused recipient, 4xx answer) fail at once.
    """
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    max_attempts = settings.HELPDESK_OUTBOX_MAX_ATTEMPTS
    if delivery.attempts > max_attempts:
        # Only a row whose earlier attempts were all interrupted (worker killed) gets here.
        _finish(delivery, state=State.FAILED, now=now, error=f"gave up after {max_attempts} attempts")
        return delivery
    try:
        if delivery.transport == OutboundDelivery.Transport.CALLBACK:
            code = transports.send_callback(delivery, now=now, timeout=timeout)
        else:
            transports.send_email(delivery, connection=connection)
            code = None
    except transports.DeliveryError as error:
        final = error.permanent or delivery.attempts >= max_attempts
        _finish(
            delivery,
            state=State.FAILED if final else State.PENDING,
            now=now,
            error=error.reason,
            response_code=error.response_code,
        )
        return delivery
    _finish(delivery, state=State.SENT, now=now, response_code=code)
    return delivery


def deliveries_due(*, now: datetime | None = None, batch_size: int = 500) -> list[int]:
    """Ids of rows whose next attempt, or whose expired lease, is due; oldest first."""
    now = now or timezone.now()
    return list(
        OutboundDelivery.objects.filter(state__in=[State.PENDING, State.SENDING], next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:batch_size]
    )


@transaction.atomic
def delivery_retry(*, delivery: OutboundDelivery, now: datetime | None = None) -> bool:
    """Give a failed delivery a fresh round of attempts (admin action); sent rows stay as they are."""
    now = now or timezone.now()
    changed = OutboundDelivery.objects.filter(pk=delivery.pk, state=State.FAILED).update(
        state=State.PENDING, attempts=0, next_attempt_at=now, last_error=""
    )
    if changed:
        _mirror_on_message(delivery, state=State.PENDING)
        transaction.on_commit(lambda: publish(delivery.pk))
    return bool(changed)


@transaction.atomic
def delivery_mark_bounced(
    *, message_id_header: str, reason: str, address: str = "", now: datetime | None = None
) -> OutboundDelivery | None:
    """A bounce arrived for the email with this Message-ID: mark its delivery failed with the reason.

    Returns the delivery, or None when we sent no email with that id. The message (if any) shows
    `bounced`; `OUTBOUND_FAILED` is announced with `bounced=True` (a second bounce for the same
    email changes nothing and announces nothing).
    """
    now = now or timezone.now()
    message_id = message_id_header.strip().strip("<>")
    delivery = OutboundDelivery.objects.filter(
        transport=OutboundDelivery.Transport.EMAIL, email_message_id=message_id
    ).first()
    if not message_id or delivery is None:
        return None
    error = f"bounced{f' ({address})' if address else ''}: {reason}"[:2000]
    changed = (
        OutboundDelivery.objects.filter(pk=delivery.pk)
        .exclude(state=State.FAILED)
        .update(state=State.FAILED, last_error=error, next_attempt_at=None)
    )
    if changed:
        delivery.state, delivery.last_error = State.FAILED, error
        if delivery.message_id is not None:
            Message.objects.filter(pk=delivery.message_id).update(
                delivery_status=DeliveryStatus.BOUNCED, delivery_error=error
            )
        hooks.announce(hooks.OUTBOUND_FAILED, delivery=delivery, now=now, bounced=True)
    return delivery
