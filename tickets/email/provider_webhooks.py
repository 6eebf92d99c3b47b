"""Provider inbound webhooks (Mailgun, Postmark, SendGrid) through django-anymail.

A provider's webhook is served only when it is listed in HELPDESK_EMAIL_WEBHOOK_PROVIDERS (otherwise 404)
and its credential is configured (otherwise 403): anymail itself accepts unauthenticated posts when
ANYMAIL_WEBHOOK_SECRET is empty, which would let anyone create tickets with a forged sender.
Anymail's views then check each provider's signature or basic auth (a bad one is answered with 400 and
nothing is stored) and send its `inbound` signal; the one receiver below only stores the raw MIME message
and enqueues its processing, so the provider gets its 200 quickly.
"""

import logging
from collections.abc import Callable

from anymail.inbound import AnymailInboundMessage
from anymail.signals import AnymailInboundEvent
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt

from helpdesk.client_ip import client_ip
from tickets.email.inbound import inbound_message_store
from tickets.models import InboundMessage

logger = logging.getLogger(__name__)

PROVIDER_VIEWS = {
    "mailgun": MailgunInboundWebhookView,
    "postmark": PostmarkInboundWebhookView,
    "sendgrid": SendGridInboundWebhookView,
}


def provider_missing_credential(provider: str) -> str | None:
    """The setting a provider's webhook needs and lacks, or None when it can authenticate posts."""
    anymail = getattr(settings, "ANYMAIL", {})
    if provider == "mailgun":
        # Mailgun signs every post (HMAC); an empty key would make any signature "valid".
        return None if anymail.get("MAILGUN_WEBHOOK_SIGNING_KEY") else "MAILGUN_WEBHOOK_SIGNING_KEY"
    # Postmark and SendGrid have no signature: HTTP basic auth is their only credential.
    return None if anymail.get("WEBHOOK_SECRET") else "ANYMAIL_WEBHOOK_SECRET"


def provider_webhook_view(provider: str) -> Callable[[HttpRequest], HttpResponse]:
    """Anymail's inbound view for `provider`, served only when enabled and its credential is set."""
    anymail_view = PROVIDER_VIEWS[provider].as_view()

    @csrf_exempt
    def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if provider not in settings.HELPDESK_EMAIL_WEBHOOK_PROVIDERS:
            logger.warning(
                "Refused %s inbound webhook from %s: the provider is not in HELPDESK_EMAIL_WEBHOOK_PROVIDERS",
                provider,
                client_ip(request),
            )
            raise Http404("This inbound email webhook is not enabled.")
        missing = provider_missing_credential(provider)
        if missing:
            logger.error(
                "Refused %s inbound webhook from %s: %s is not set, so the post cannot be authenticated",
                provider,
                client_ip(request),
                missing,
            )
            return HttpResponseForbidden("This inbound email webhook has no credential configured.")
        try:
            return anymail_view(request, *args, **kwargs)
        except RecursionError:
            # Postmark's JSON body is decoded by anymail; absurd nesting is a bad request, not a crash.
            return HttpResponseBadRequest("The request body is nested too deeply.")

    return view


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
