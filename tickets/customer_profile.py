"""Reads for the customer profile: one customer as a user may see them.

Customers are team-scoped (docs/security.md): a user sees a customer, with their contact details, notes,
VIP flag and organization, only through a ticket they can see, and of the customer's tickets, messages
and calls only those on tickets they can see. Admins see everything.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.db.models.functions import Lower

from tickets.adapters import surveys as survey_adapter
from tickets.customers import normalize_phone
from tickets.exceptions import CustomerIdentityError
from tickets.models import Customer, CustomerHandle, Message, PhoneCall, Ticket
from tickets.permissions import visible_customers_q
from tickets.selectors import ticket_visibility_q

# The profile lists this many tickets, newest first; the queue filtered by the customer has them all.
PROFILE_TICKETS = 100
PROFILE_CONTACTS = 10
# The ticket page shows the customer's last few contacts inline.
TICKET_PAGE_CONTACTS = 5


@dataclass(frozen=True)
class Contact:
    """One time the customer reached us: a message they wrote or a phone call."""

    at: datetime
    kind: str  # "message" or "call"
    channel: str
    ticket: Ticket
    summary: str


@dataclass(frozen=True)
class CustomerProfile:
    customer: Customer
    emails: list[str]
    phones: list[str]
    handles: list[CustomerHandle]
    merged_from: list[Customer]
    tickets: list[Ticket]  # each with `csat`: (score, scale min, scale max) or None
    ticket_count: int
    contacts: list[Contact]


def customer_get(*, user: AbstractBaseUser, pk: int) -> Customer:
    """The customer if the user may see them; raises Customer.DoesNotExist otherwise (a 404, never a 403)."""
    return Customer.objects.filter(visible_customers_q(user)).select_related("organization").get(pk=pk)


def _visible_tickets(user: AbstractBaseUser, customer_id: int) -> QuerySet[Ticket]:
    return Ticket.objects.filter(ticket_visibility_q(user), customer_id=customer_id)


def customer_recent_contacts(
    *, user: AbstractBaseUser, customer_id: int, limit: int = PROFILE_CONTACTS
) -> list[Contact]:
    """The customer's latest messages and calls on the tickets the user may see, newest first."""
    return _recent_contacts(_visible_tickets(user, customer_id), limit)


def _recent_contacts(tickets: QuerySet[Ticket], limit: int) -> list[Contact]:
    tickets = tickets.values("pk")
    messages = (
        Message.objects.filter(ticket__in=tickets, author_role=Message.AuthorRole.CUSTOMER)
        .select_related("ticket")
        .only("created_at", "channel", "body_text", "ticket__reference", "ticket__subject", "ticket__channel")
        .order_by("-created_at", "-pk")[:limit]
    )
    calls = (
        PhoneCall.objects.filter(ticket__in=tickets)
        .select_related("ticket")
        .only(
            "started_at",
            "outcome",
            "direction",
            "talk_seconds",
            "ticket__reference",
            "ticket__subject",
            "ticket__channel",
        )
        .order_by("-started_at", "-pk")[:limit]
    )
    contacts = [
        Contact(m.created_at, "message", m.channel, m.ticket, " ".join(m.body_text.split())[:160])
        for m in messages
    ] + [
        Contact(
            c.started_at,
            "call",
            "phone",
            c.ticket,
            f"{c.get_direction_display()} call, {c.get_outcome_display().lower()}"
            + (f", {c.talk_seconds // 60} min {c.talk_seconds % 60} s" if c.talk_seconds else ""),
        )
        for c in calls
    ]
    return sorted(contacts, key=lambda contact: contact.at, reverse=True)[:limit]


def customer_profile(*, user: AbstractBaseUser, customer: Customer) -> CustomerProfile:
    """Everything the profile page and `GET /api/v1/customers/{id}/profile/` show, in a fixed number of
    queries: contact details across channels (including those of customers merged into this one), every
    ticket the user may see on every channel with its CSAT, and the recent contacts."""
    visible = _visible_tickets(user, customer.pk)
    tickets_q = visible.select_related("team").order_by("-created_at", "-pk")
    tickets = list(tickets_q[:PROFILE_TICKETS])
    ticket_count = len(tickets) if len(tickets) < PROFILE_TICKETS else tickets_q.count()
    scores = survey_adapter.csat_scores([t.pk for t in tickets])
    for ticket in tickets:
        ticket.csat = scores.get(ticket.pk)
    merged_from = list(Customer.objects.filter(merged_into=customer).order_by("pk"))
    emails = [address for address in [customer.email, *(c.email for c in merged_from)] if address]
    phones = [number for number in [customer.phone, *(c.phone for c in merged_from)] if number]
    return CustomerProfile(
        customer=customer,
        emails=list(dict.fromkeys(emails)),
        phones=list(dict.fromkeys(phones)),
        handles=list(customer.handles.order_by("channel", "platform", "handle")),
        merged_from=merged_from,
        tickets=tickets,
        ticket_count=ticket_count,
        contacts=_recent_contacts(visible, PROFILE_CONTACTS),
    )


def customer_find(*, user: AbstractBaseUser, text: str) -> Customer | None:
    """The unmerged customer the user may see whose number, email address or phone number `text` is."""
    text = (text or "").strip()
    customers = Customer.objects.filter(visible_customers_q(user), merged_into__isnull=True)
    if text.isdigit() and len(text) < 19:
        return customers.filter(pk=int(text)).first()
    if "@" in text:
        # LOWER(email): the unique index customer_email_unique_ci (iexact would scan on PostgreSQL).
        return customers.alias(email_lower=Lower("email")).filter(email_lower=text.lower()).first()
    try:
        phone = normalize_phone(text)
    except CustomerIdentityError:
        return None
    return customers.filter(phone=phone).first()
