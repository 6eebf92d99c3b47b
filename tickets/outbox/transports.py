"""How an outbox row leaves: SMTP through Django's email backend, or a signed HTTP POST.

Both raise `DeliveryError` when the attempt failed; `permanent` says whether another attempt could
help (a refused recipient or a 4xx answer cannot; a dropped connection, a timeout or a 5xx can).
Integrator webhooks (tickets/webhooks/services.py) post through `post_signed` too, so every POST that leaves
the system is signed and classified the same way.
"""

import json
import smtplib
from datetime import datetime

from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.serializers.json import DjangoJSONEncoder

from helpdesk.outbound_http import OutboundConnectionError, OutboundURLRefused, outbound_post
from tickets.models import Attachment, OutboundDelivery
from tickets.webhooks import protocol as webhook_protocol

USER_AGENT = "Helpdesk-Webhooks/1"
CALLBACK_EVENT = "ticket.reply"


class DeliveryError(Exception):
    """One attempt failed; `permanent` when retrying the same delivery cannot succeed."""

    def __init__(self, reason: str, *, permanent: bool = False, response_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason[:2000]
        self.permanent = permanent
        self.response_code = response_code


def _smtp_is_permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused):
        return True
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def email_message(delivery: OutboundDelivery, *, connection=None) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=delivery.subject,
        body=delivery.body_text,
        from_email=delivery.from_email,
        to=list(delivery.to),
        cc=list(delivery.cc),
        reply_to=list(delivery.reply_to),
        headers=dict(delivery.headers),
        connection=connection,
    )
    if delivery.body_html:
        email.attach_alternative(delivery.body_html, "text/html")
    if delivery.message_id is not None:
        # The files of the reply travel with it (read at each attempt, so a retry sends them too).
        for attachment in Attachment.objects.filter(
            message_id=delivery.message_id, rejected_reason=""
        ).exclude(file=""):
            with attachment.file.open("rb") as handle:
                email.attach(attachment.filename, handle.read(), attachment.content_type)
    return email


def send_email(delivery: OutboundDelivery, *, connection=None) -> None:
    try:
        email_message(delivery, connection=connection or get_connection()).send()
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryError(
            f"{type(error).__name__}: {error}", permanent=_smtp_is_permanent(error)
        ) from error


def _is_transient(code: int) -> bool:
    return code >= 500 or code in (408, 425, 429)


def envelope_body(*, delivery_id: int, event: str, created_at: datetime, data: dict) -> bytes:
    """The JSON body of a signed POST: the same envelope for webhooks and reply callbacks."""
    envelope = {"id": delivery_id, "event": event, "created_at": created_at, "data": data}
    return json.dumps(envelope, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":")).encode()


def post_signed(
    *, url: str, secret: str, event: str, delivery_id: int, body: bytes, now: datetime, timeout: float
) -> int:
    """POST `body` signed with `secret` (docs/webhooks.md) through the SSRF-guarded client
    (helpdesk/outbound_http.py); returns the 2xx status or raises DeliveryError."""
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        webhook_protocol.EVENT_HEADER: event,
        webhook_protocol.DELIVERY_HEADER: str(delivery_id),
        webhook_protocol.TIMESTAMP_HEADER: str(timestamp),
        webhook_protocol.SIGNATURE_HEADER: webhook_protocol.sign(secret, timestamp, body),
    }
    try:
        code = outbound_post(url, body, headers, timeout)
    except OutboundURLRefused as error:
        # The URL, or what its host resolves to now, is not allowed (SSRF guard): retrying cannot help.
        raise DeliveryError(str(error), permanent=True) from error
    except OutboundConnectionError as error:
        raise DeliveryError(str(error)) from error
    if 300 <= code < 400:
        raise DeliveryError(
            f"HTTP {code}: redirects are not followed; configure the final URL.",
            permanent=True,
            response_code=code,
        )
    if not 200 <= code < 300:
        raise DeliveryError(f"HTTP {code}", permanent=not _is_transient(code), response_code=code)
    return code


def send_callback(delivery: OutboundDelivery, *, now: datetime, timeout: float) -> int:
    if delivery.integration is None:
        raise DeliveryError("the integration key of this callback was deleted", permanent=True)
    body = envelope_body(
        delivery_id=delivery.pk, event=CALLBACK_EVENT, created_at=delivery.created_at, data=delivery.payload
    )
    return post_signed(
        url=delivery.url,
        secret=delivery.integration.callback_secret,
        event=CALLBACK_EVENT,
        delivery_id=delivery.pk,
        body=body,
        now=now,
        timeout=timeout,
    )
