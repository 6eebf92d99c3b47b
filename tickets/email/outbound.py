"""The automatic acknowledgement of new email tickets.

It is stored as a public automatic system message, so it reaches the customer like any reply: through
the outbox (tickets/outbox/), threaded and marked as automatic mail.
"""

from datetime import datetime
from functools import lru_cache

from django.template import Context, Template

from tickets import services
from tickets.email.addresses import own_addresses
from tickets.mail.classify import is_from_own_address
from tickets.models import Channel, Message, Ticket

DEFAULT_AUTO_ACK = (
    "Hello {{ customer.first_name|default:'there' }},\n\n"
    "thank you for your message. We have received it as ticket {{ reference }} and will get back to you "
    "as soon as we can. Simply reply to this email to add more information.\n"
)


@lru_cache(maxsize=64)
def _template(source: str) -> Template:
    # Compiling the template cost more than rendering it; a team's text changes rarely.
    return Template(source)


def auto_ack_text(ticket: Ticket) -> str | None:
    """The acknowledgement a new email ticket gets, or None if its team sends none (never for automatic
    mail, a customer without an address, or one of our own addresses)."""
    team = ticket.team
    if team is None or not team.auto_ack_enabled or ticket.is_auto_generated or not ticket.customer.email:
        return None
    if is_from_own_address(ticket.customer.email, own_addresses()):
        return None
    text = _template(team.auto_ack_template or DEFAULT_AUTO_ACK).render(
        Context(
            {"ticket": ticket, "customer": ticket.customer, "reference": ticket.reference}, autoescape=False
        )
    )
    return text.strip()


def ticket_send_auto_ack(*, ticket: Ticket, now: datetime) -> Message | None:
    """Acknowledge a new email ticket if its team wants that (never for automatic mail).

    Stored as a public automatic system message: it is emailed like a reply but never counts as the first
    response.
    """
    text = auto_ack_text(ticket)
    if text is None:
        return None
    return services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.SYSTEM,
        visibility=Message.Visibility.PUBLIC,
        channel=Channel.EMAIL,
        body_text=text,
        is_automatic=True,
        now=now,
    )
