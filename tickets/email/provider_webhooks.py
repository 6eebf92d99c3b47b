"""Provider inbound webhooks (Mailgun, Postmark, SendGrid) through django-anymail.

A provider's webhook is served only when it is listed in HELPDESK_EMAIL_WEBHOOK_PROVIDERS (otherwise 404)
and its credential is configured (otherwise 403): anymail itself accepts unauthenticated posts when
ANYMAIL_WEBHOOK_SECRET is empty, which would let anyone create tickets with a forged sender.
Anymail's views then check each provider's signature or basic auth (a bad one is answered with 400 and
nothing is stored) and send its `inbound` signal; the one receiver below only stores the raw MIME message
and enqueues its processing, so the provider gets its 200 quickly.
"""

import logging
import time
from collections.abc import Callable

from anymail.inbound import AnymailInboundMessage
from anymail.signals import AnymailInboundEvent
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView
from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from redis.exceptions import RedisError

from helpdesk.client_ip import client_ip
from tickets.email.inbound import inbound_message_store
from tickets.models import InboundMessage

logger = logging.getLogger(__name__)

# Mailgun's own recommendation: reject signatures older than a few minutes; 15 allows for clock skew.
MAILGUN_SIGNATURE_MAX_AGE = 15 * 60

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


def _mailgun_replay(request: HttpRequest) -> str | None:
    """Why a Mailgun post must be refused as stale or replayed, or None.

    Anymail checks the HMAC of timestamp+token but not their age, so a captured post stays valid for ever.
    A post older (or newer) than MAILGUN_SIGNATURE_MAX_AGE is refused, and each signature is accepted once
    within that window (remembered in the cache; when the cache is down the check is skipped with a warning).
    """
    timestamp, signature = request.POST.get("timestamp", ""), request.POST.get("signature", "")
    if not timestamp or not signature:
        return None  # anymail refuses posts without its security fields
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return "its timestamp is not a number"
    if age > MAILGUN_SIGNATURE_MAX_AGE:
        return "its timestamp is too old (or in the future)"
    try:
        first_use = cache.add(
            f"mailgun-signature:{signature[:128]}", 1, timeout=2 * MAILGUN_SIGNATURE_MAX_AGE
        )
    except (RedisError, OSError) as error:
        logger.warning("Mailgun replay check skipped, the cache is unavailable (%s)", error)
        return None
    return None if first_use else "its signature was used before (a replay)"


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
        if provider == "mailgun" and (replay := _mailgun_replay(request)):
            logger.warning("Refused mailgun inbound webhook from %s: %s", client_ip(request), replay)
            return HttpResponseBadRequest("Refused: stale or replayed signature.")
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
