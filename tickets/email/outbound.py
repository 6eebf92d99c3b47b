"""The automatic acknowledgement of new email tickets.

It is stored as a public automatic system message, so it reaches the customer like any reply: through
the outbox (tickets/outbox/), threaded and marked as automatic mail.
"""

from datetime import datetime

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


def ticket_send_auto_ack(*, ticket: Ticket, now: datetime) -> Message | None:
    """Acknowledge a new email ticket if its team wants that (never for automatic mail).

    Stored as a public automatic system message: it is emailed like a reply but never counts as the first
    response.
    """
    team = ticket.team
    if team is None or not team.auto_ack_enabled or ticket.is_auto_generated or not ticket.customer.email:
        return None
    if is_from_own_address(ticket.customer.email, own_addresses()):
        return None
    text = Template(team.auto_ack_template or DEFAULT_AUTO_ACK).render(
        Context(
            {"ticket": ticket, "customer": ticket.customer, "reference": ticket.reference}, autoescape=False
        )
    )
    return services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.SYSTEM,
        visibility=Message.Visibility.PUBLIC,
        channel=Channel.EMAIL,
        body_text=text.strip(),
        is_automatic=True,
        now=now,
    )
