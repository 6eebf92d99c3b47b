"""What the ticket core does when one of its own outbox rows is sent or fails (registered in apps.py).

Runs inside the transaction that records the outcome, so the outcome and its effects commit together.
"""

from datetime import datetime

from tickets import hooks, services
from tickets.models import AuditEntry, Notification, OutboundDelivery

Kind = OutboundDelivery.Kind
ACKNOWLEDGEMENT_SENT = "acknowledgement sent"


def _message_failed(delivery: OutboundDelivery, now: datetime, bounced: bool) -> None:
    message = delivery.message
    ticket = message.ticket
    status = message.DeliveryStatus.BOUNCED if bounced else message.DeliveryStatus.FAILED
    services.audit_record(
        ticket=ticket,
        action=AuditEntry.Action.EMAIL,
        now=now,
        actor_label=services.SYSTEM,
        field="delivery_status",
        old_value=message.DeliveryStatus.SENT if bounced else message.DeliveryStatus.SENDING,
        new_value=status,
        details={"message_id": message.pk, "delivery_id": delivery.pk, "error": delivery.last_error[:500]},
    )
    recipient = message.author_user or ticket.assignee
    if recipient is not None:
        services.notification_create(
            recipient=recipient,
            kind=Notification.Kind.DELIVERY_FAILURE,
            ticket=ticket,
            title=f"{ticket.reference}: your reply could not be delivered",
            body=delivery.last_error,
            dedupe_key=f"send-failed:{message.pk}",
            now=now,
        )


def _acknowledgement_outcome(delivery: OutboundDelivery, now: datetime, sent: bool) -> None:
    services.audit_record(
        ticket=delivery.ticket,
        action=AuditEntry.Action.EMAIL,
        now=now,
        actor_label=services.SYSTEM,
        new_value=ACKNOWLEDGEMENT_SENT if sent else f"acknowledgement failed: {delivery.last_error}"[:500],
        details={"to": delivery.to, "delivery_id": delivery.pk},
    )


def on_outbound_sent(*, delivery: OutboundDelivery, now: datetime) -> None:
    if delivery.kind == Kind.NOTIFICATION:
        Notification.objects.filter(pk=delivery.source_id, emailed_at__isnull=True).update(emailed_at=now)
    elif delivery.kind == Kind.ACKNOWLEDGEMENT and delivery.ticket_id is not None:
        _acknowledgement_outcome(delivery, now, sent=True)


def on_outbound_failed(*, delivery: OutboundDelivery, now: datetime, bounced: bool) -> None:
    if delivery.kind == Kind.MESSAGE and delivery.message_id is not None:
        _message_failed(delivery, now, bounced)
    elif delivery.kind == Kind.ACKNOWLEDGEMENT and delivery.ticket_id is not None:
        _acknowledgement_outcome(delivery, now, sent=False)


def register() -> None:
    hooks.connect(hooks.OUTBOUND_SENT, on_outbound_sent)
    hooks.connect(hooks.OUTBOUND_FAILED, on_outbound_failed)
