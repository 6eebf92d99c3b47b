"""Provider inbound webhooks (Mailgun, Postmark, SendGrid) through django-anymail.

Anymail's views check each provider's signature or basic auth (a bad one is answered with 400 and nothing
is stored) and send its `inbound` signal; the one receiver below only stores the raw MIME message and
enqueues its processing, so the provider gets its 200 quickly.
"""

from anymail.inbound import AnymailInboundMessage
from anymail.signals import AnymailInboundEvent

from tickets.email.inbound import inbound_message_store
from tickets.models import InboundMessage

SOURCES = {
    "mailgun": InboundMessage.Source.MAILGUN,
    "postmark": InboundMessage.Source.POSTMARK,
    "sendgrid": InboundMessage.Source.SENDGRID,
}


def store_inbound_email(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    message: AnymailInboundMessage = event.message
    inbound_message_store(
        raw=message.as_bytes(),
        source=SOURCES.get(esp_name.lower(), InboundMessage.Source.WEBHOOK),
        received_for=message.envelope_recipient or "",
        origin=f"{esp_name} webhook {event.event_id or ''}".strip(),
    )
