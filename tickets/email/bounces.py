"""Bounces: a delivery failure reported back for mail we sent marks that message and warns its agent.

Called by inbound processing for every message `tickets.mail.classify` recognises as a bounce (an RFC 3464
DSN, a legacy text bounce, a provider's JSON bounce event). The bounce names the Message-ID of the mail that
failed; only a message we emailed (one with a delivery status) can be marked, anything else is ignored with
its reason. Hard bounces are kept per message and address (`EmailBounce`); after
`HELPDESK_HARD_BOUNCE_LIMIT` of them for different messages, the customer's address is flagged
undeliverable, which the workspace shows next to the address.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction

from tickets import services
from tickets.mail.classify import DeliveryStatus
from tickets.models import AuditEntry, Customer, EmailBounce, InboundMessage, Message, Ticket
from tickets.outbox import services as outbox

# DSN actions that report progress, not a failure (RFC 3464 section 2.3.3).
_NOT_FAILURES = frozenset({"delayed", "delivered", "relayed", "expanded"})


@dataclass(frozen=True)
class BounceResult:
    reason: str
    """What happened, or why the bounce was ignored."""
    message: Message | None = None
    """The outbound message marked as bounced; None if the bounce was ignored."""
    note: Message | None = None
    """The internal note added to its ticket (None when the ticket is closed)."""
    flagged: tuple[Customer, ...] = ()
    """Customers whose address this bounce flagged undeliverable."""


@transaction.atomic
def bounce_record(
    *, delivery_status: DeliveryStatus | None, inbound: InboundMessage | None, now: datetime
) -> BounceResult:
    """Mark the message a bounce reports as bounced (through the outbox), note it on the ticket."""
    original_id = delivery_status.original_message_id if delivery_status is not None else None
    if delivery_status is None or not original_id:
        return BounceResult(reason="bounce without the Message-ID of the mail that bounced")
    original = (
        Message.objects.select_related("ticket__customer", "ticket__assignee", "author_user")
        .filter(email_message_id=original_id)
        .exclude(delivery_status=Message.DeliveryStatus.NOT_APPLICABLE)
        .first()
    )
    if original is None:
        return BounceResult(reason=f"bounce for a message we did not send ({original_id})")
    if not delivery_status.failed_recipients and delivery_status.action in _NOT_FAILURES:
        return BounceResult(
            reason=f"delivery status '{delivery_status.action}' for {original_id}, not a failure"
        )

    ticket = original.ticket
    addresses = delivery_status.failed_recipients or ((ticket.customer.email or "").lower(),)
    diagnostic = (delivery_status.diagnostic or delivery_status.status or "delivery failed").strip()[:2000]
    new_bounces = [
        address
        for address in addresses
        if EmailBounce.objects.get_or_create(
            message=original,
            address=address[:254],
            defaults={
                "inbound": inbound,
                "permanent": delivery_status.permanent,
                "status": delivery_status.status[:16],
                "diagnostic": diagnostic,
                "received_at": now,
            },
        )[1]
    ]
    if not new_bounces:
        return BounceResult(reason=f"bounce of {', '.join(addresses)} for {original_id} was already recorded")

    bounced = ", ".join(new_bounces)
    # The outbox owns delivery state: it marks the delivery failed and the message bounced, and its
    # OUTBOUND_FAILED receiver audits that and notifies the agent who wrote the reply.
    delivery = outbox.delivery_mark_bounced(
        message_id_header=original_id, reason=diagnostic, address=bounced, now=now
    )
    if delivery is None:
        # Sent before the outbox existed: no delivery row to fail, so the message itself says it.
        Message.objects.filter(pk=original.pk).update(
            delivery_status=Message.DeliveryStatus.BOUNCED,
            delivery_error=f"bounced ({bounced}): {diagnostic}"[:2000],
        )
    flagged = tuple(
        customer
        for address in new_bounces
        if delivery_status.permanent
        for customer in [_flag_if_undeliverable(address=address, ticket=original.ticket, now=now)]
        if customer is not None
    )
    status = delivery_status.status or "no status code"
    text = f"Delivery failure: the email to {bounced} bounced ({status}).\n\n{diagnostic}"
    if flagged:
        text += "\n\nThe address is now marked undeliverable after repeated hard bounces."
    note = None
    if not ticket.is_closed:
        note = services.message_add(
            ticket=ticket,
            author_role=Message.AuthorRole.SYSTEM,
            visibility=Message.Visibility.INTERNAL,
            body_text=text,
            is_automatic=True,
            now=now,
        )
    return BounceResult(
        reason=f"bounce: bounced by {bounced}: {diagnostic}"[:2000],
        message=original,
        note=note,
        flagged=flagged,
    )


def _flag_if_undeliverable(*, address: str, ticket: Ticket, now: datetime) -> Customer | None:
    """Flag the customer with this address once it has hard-bounced for enough different messages."""
    customer = Customer.objects.filter(email__iexact=address, email_undeliverable_at__isnull=True).first()
    if customer is None:
        return None
    hard = EmailBounce.objects.filter(address__iexact=address, permanent=True).values("message").distinct()
    limit = settings.HELPDESK_HARD_BOUNCE_LIMIT
    if hard.count() < limit:
        return None
    last = EmailBounce.objects.filter(address__iexact=address, permanent=True).first()
    reason = f"{limit} hard bounces, the last: {last.diagnostic if last else ''}"
    # Compare-and-swap: two bounces processed at once flag (and audit) the address once.
    if not Customer.objects.filter(pk=customer.pk, email_undeliverable_at__isnull=True).update(
        email_undeliverable_at=now, email_undeliverable_reason=reason[:2000]
    ):
        return None
    services.audit_record(
        ticket=ticket,
        action=AuditEntry.Action.EMAIL,
        now=now,
        actor_label=services.SYSTEM,
        field="customer_email_undeliverable",
        new_value=address,
        details={"customer_id": customer.pk, "hard_bounces": hard.count()},
    )
    customer.refresh_from_db()
    return customer
