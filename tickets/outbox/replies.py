"""Where a public reply on a ticket goes, what it looks like there, and queuing it in the outbox.

The route follows the customer, not the message's channel:
- chat and social tickets whose conversation came through an integration key with a callback URL:
  a signed POST to that URL (the integrator posts it into the conversation);
- otherwise, any ticket whose customer has an email address: email, threaded with Message-ID,
  In-Reply-To/References and the subject token, the ticket's CC participants copied;
- otherwise there is no route: the reply is recorded (`no_route`), nothing is queued, and the reply box
  says so before the agent sends.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from tickets.mail.threading import make_message_id, reply_address, subject_with_reference
from tickets.models import Channel, ExternalMessage, IntegrationKey, Message, OutboundDelivery, Ticket
from tickets.outbox.services import EmailContent, outbox_callback_enqueue, outbox_email_enqueue

CALLBACK_CHANNELS = (Channel.CHAT, Channel.SOCIAL)
# References keep the thread root and the most recent ids; clients need no more than that.
_MAX_REFERENCES = 20


@dataclass(frozen=True)
class Route:
    transport: str
    email: str = ""
    integration: IntegrationKey | None = None
    conversation_key: str = ""

    def __str__(self) -> str:
        if self.transport == OutboundDelivery.Transport.EMAIL:
            return f"email to {self.email}"
        return f"the {self.integration.get_channel_display().lower()} integration {self.integration.name}"


def reply_route(ticket: Ticket) -> Route | None:
    """How a public reply on `ticket` reaches its customer now, or None when it cannot."""
    if ticket.channel in CALLBACK_CHANNELS:
        external = (
            ExternalMessage.objects.filter(
                message__ticket=ticket, integration__is_active=True, integration__callback_url__gt=""
            )
            .select_related("integration")
            .order_by("-created_at", "-pk")
            .first()
        )
        if external is not None:
            return Route(
                transport=OutboundDelivery.Transport.CALLBACK,
                integration=external.integration,
                # Stored as "<scope>/<id>" (scoped per team or key at intake); the integration knows the id.
                conversation_key=external.conversation_key.partition("/")[2] or external.conversation_key,
            )
    if ticket.customer.email:
        return Route(transport=OutboundDelivery.Transport.EMAIL, email=ticket.customer.email)
    return None


def support_address(ticket: Ticket) -> str:
    """The address the ticket's mail comes from: its team's own address, else the first support address."""
    if ticket.team is not None and ticket.team.email_address:
        return ticket.team.email_address
    configured = [a for a in settings.HELPDESK_SUPPORT_ADDRESSES if a.strip()]
    return configured[0].strip() if configured else parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def new_message_id(ticket: Ticket) -> str:
    """A fresh Message-ID for mail about `ticket`, without angle brackets (as the parser stores ids)."""
    domain = support_address(ticket).rpartition("@")[2] or "helpdesk.localhost"
    return make_message_id(ticket.reference, domain, uuid.uuid4().hex).strip("<>")


def _thread_message_ids(*, ticket: Ticket, message: Message) -> list[str]:
    """The Message-IDs of the ticket's mail before `message`, oldest first: its messages (inbound and
    outbound) and the web-form acknowledgement."""
    dated = list(
        Message.objects.filter(
            ticket=ticket, email_message_id__isnull=False, created_at__lte=message.created_at
        )
        .exclude(pk=message.pk)
        .values_list("created_at", "pk", "email_message_id")
    )
    dated += (
        OutboundDelivery.objects.filter(
            ticket=ticket, kind=OutboundDelivery.Kind.ACKNOWLEDGEMENT, created_at__lte=message.created_at
        )
        .exclude(email_message_id="")
        .values_list("created_at", "pk", "email_message_id")
    )
    return [message_id for _, _, message_id in sorted(dated, key=lambda row: row[:2])]


def reply_email(
    *, message: Message, ticket: Ticket, previous: list[str] | None = None, cc: list[str] | None = None
) -> EmailContent:
    """The email of a public reply: threaded onto the ticket's earlier mail, CC participants copied.

    A caller that wrote the ticket's mail and participants in this transaction passes them: `previous`,
    the Message-IDs before this one, oldest first, and `cc`, the CC participants' addresses.
    """
    sender = support_address(ticket)
    if previous is None:
        previous = _thread_message_ids(ticket=ticket, message=message)
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
    customer = ticket.customer
    if cc is None:
        cc = list(ticket.participants.filter(is_cc=True).values_list("email", flat=True))
    cc = [address for address in cc if address.lower() != customer.email.lower()]
    subject = ticket.subject if ticket.subject.lower().startswith("re:") else f"Re: {ticket.subject}"
    return EmailContent(
        subject=subject_with_reference(subject, ticket.reference),
        body_text=message.body_text,
        body_html=message.body_html,
        from_email=formataddr((parseaddr(settings.DEFAULT_FROM_EMAIL)[0] or "Support", sender)),
        to=[formataddr((customer.name, customer.email))],
        cc=cc,
        reply_to=[reply_address(sender, ticket.reply_token)],
        headers=headers,
    )


def reply_callback_payload(*, message: Message, ticket: Ticket, route: Route) -> dict:
    """The `data` of a `ticket.reply` callback: enough for the integration to post into the conversation."""
    author = message.author_user
    return {
        "ticket": {"id": ticket.pk, "reference": ticket.reference, "subject": ticket.subject},
        "conversation": {"channel": ticket.channel, "key": route.conversation_key},
        "message": {
            "id": message.pk,
            "body_text": message.body_text,
            "body_html": message.body_html,
            "author_name": (author.get_full_name() or author.get_username()) if author else "",
            "created_at": message.created_at.isoformat(),
        },
    }


def message_deliver(*, message: Message, ticket: Ticket, now: datetime) -> OutboundDelivery | None:
    """Queue a public agent or system message to the customer by its route; None when there is none.

    Called by `tickets.services` inside the transaction that creates the message. An email reply gets
    its Message-ID now, so a fast customer answer threads even before the send finishes.
    """
    route = reply_route(ticket)
    if route is None:
        Message.objects.filter(pk=message.pk).update(delivery_status=Message.DeliveryStatus.NO_ROUTE)
        message.delivery_status = Message.DeliveryStatus.NO_ROUTE
        return None
    kind = OutboundDelivery.Kind.MESSAGE
    if route.transport == OutboundDelivery.Transport.CALLBACK:
        delivery = outbox_callback_enqueue(
            kind=kind,
            source_id=message.pk,
            integration=route.integration,
            payload=reply_callback_payload(message=message, ticket=ticket, route=route),
            ticket=ticket,
            message=message,
            now=now,
        )
    else:
        if not message.email_message_id:
            message.email_message_id = new_message_id(ticket)
            Message.objects.filter(pk=message.pk).update(email_message_id=message.email_message_id)
        delivery = outbox_email_enqueue(
            kind=kind,
            source_id=message.pk,
            email=reply_email(message=message, ticket=ticket),
            ticket=ticket,
            message=message,
            now=now,
        )
    message.delivery_status = Message.DeliveryStatus.QUEUED
    return delivery


def messages_without_delivery() -> QuerySet[Message]:
    """Public replies left `queued` or `sending` with no outbox row: written by a version from before the
    outbox (every reply since gets its row, or `no_route`, in the transaction that creates it)."""
    return Message.objects.filter(
        delivery_status__in=[Message.DeliveryStatus.QUEUED, Message.DeliveryStatus.SENDING],
        deliveries__isnull=True,
    ).order_by("pk")


def messages_without_delivery_adopt(*, now: datetime) -> list[OutboundDelivery]:
    """Give each such reply its outbox row, so the outbox sends it like any other (once: the rows are
    unique per message, and a message that has one is no longer selected)."""
    adopted = []
    for message_id in messages_without_delivery().values_list("pk", flat=True).iterator():
        with transaction.atomic():
            message = (
                Message.objects.select_for_update().select_related("ticket__customer").get(pk=message_id)
            )
            if message.deliveries.exists():
                continue  # adopted meanwhile by a second run
            delivery = message_deliver(message=message, ticket=message.ticket, now=now)
            if delivery is not None:
                adopted.append(delivery)
    return adopted
