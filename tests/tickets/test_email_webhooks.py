"""Provider inbound webhooks (anymail): signed posts are stored and become tickets, bad ones store nothing."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from tests import factories
from tickets.email.checks import check_provider_webhook_credentials
from tickets.email.raw_mail import raw_mail_key, raw_mail_read
from tickets.models import InboundMessage, Ticket
from tickets.tasks import tickets_process_inbound_message

pytestmark = [
    pytest.mark.django_db,
    # Anymail 15 warns that SendGrid is no longer officially supported; its inbound view still works.
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]

MAILGUN_KEY = "mailgun-signing-key-for-tests"
# Anymail shares the basic-auth secret list between providers; each provider gets its own entry.
MAILGUN_AUTH = "mailgun:first-s3cret"
POSTMARK_AUTH = "postmark:s3cret-words"
SENDGRID_AUTH = "sendgrid:other-s3cret"


@pytest.fixture(autouse=True)
def anymail_settings(settings):
    cache.clear()  # remembered Mailgun signatures (replay protection) must not leak between tests
    settings.HELPDESK_EMAIL_WEBHOOK_PROVIDERS = ["mailgun", "postmark", "sendgrid"]
    settings.ANYMAIL = {
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
        "WEBHOOK_SECRET": [MAILGUN_AUTH, POSTMARK_AUTH, SENDGRID_AUTH],
    }


def basic_auth(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def mailgun_fields(raw: bytes, *, key: str = MAILGUN_KEY) -> dict[str, str]:
    timestamp, token = str(int(time.time())), "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "timestamp": timestamp,
        "token": token,
        "signature": signature,
        "recipient": "support@helpdesk.localhost",
        "sender": "alice@example.com",
        "body-mime": raw.decode(),
    }


def postmark_payload(raw: bytes) -> str:
    return json.dumps(
        {
            "FromFull": {"Email": "alice@example.com", "Name": "Alice Customer"},
            "ToFull": [{"Email": "support@helpdesk.localhost", "Name": ""}],
            "OriginalRecipient": "support@helpdesk.localhost",
            "Subject": "My printer is on fire",
            "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
            "Date": "Mon, 2 Mar 2026 09:30:00 +0000",
            "TextBody": "Hello, my printer is on fire. Please help.",
            "Headers": [{"Name": "Message-ID", "Value": "<first-1@mail.example.com>"}],
            "Attachments": [],
            "RawEmail": raw.decode(),
        }
    )


def sendgrid_fields(raw: bytes) -> dict[str, str]:
    return {
        "email": raw.decode(),
        "envelope": json.dumps({"to": ["support@helpdesk.localhost"], "from": "alice@example.com"}),
        "charsets": json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8"}),
        "SPF": "pass",
    }


def process_all() -> None:
    for pk in InboundMessage.objects.values_list("pk", flat=True):
        tickets_process_inbound_message(pk)


def assert_stored_and_ticket_created(source: str, callbacks) -> None:
    inbound = InboundMessage.objects.get()
    assert inbound.source == source
    assert inbound.received_for == "support@helpdesk.localhost"
    assert len(callbacks) == 1  # processing is enqueued on commit, not done in the request
    # The raw MIME is in the raw-mail storage under its content address, not in the database.
    assert inbound.raw_key == raw_mail_key(raw_mail_read(inbound))
    process_all()
    ticket = Ticket.objects.get()
    assert ticket.customer.email == "alice@example.com"
    assert ticket.messages.get().email_message_id == "first-1@mail.example.com"


def test_mailgun_signed_post_is_stored_and_becomes_a_ticket(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/anymail/mailgun/inbound_mime/",
            mailgun_fields(factories.email_bytes()),
            HTTP_AUTHORIZATION=basic_auth(MAILGUN_AUTH),
        )

    assert response.status_code == 200
    assert_stored_and_ticket_created(InboundMessage.Source.MAILGUN, callbacks)


def test_mailgun_post_with_a_bad_signature_is_rejected_and_stores_nothing(client):
    response = client.post(
        "/anymail/mailgun/inbound_mime/",
        mailgun_fields(factories.email_bytes(), key="wrong-key"),
        HTTP_AUTHORIZATION=basic_auth(MAILGUN_AUTH),
    )

    assert response.status_code == 400
    assert not InboundMessage.objects.exists()


def test_postmark_post_with_basic_auth_is_stored_and_becomes_a_ticket(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/anymail/postmark/inbound/",
            postmark_payload(factories.email_bytes()),
            content_type="application/json",
            HTTP_AUTHORIZATION=basic_auth(POSTMARK_AUTH),
        )

    assert response.status_code == 200
    assert_stored_and_ticket_created(InboundMessage.Source.POSTMARK, callbacks)


@pytest.mark.parametrize("auth", [None, "postmark:wrong"])
def test_postmark_post_without_the_right_basic_auth_is_rejected(client, auth):
    extra = {"HTTP_AUTHORIZATION": basic_auth(auth)} if auth else {}
    response = client.post(
        "/anymail/postmark/inbound/",
        postmark_payload(factories.email_bytes()),
        content_type="application/json",
        **extra,
    )

    assert response.status_code == 400
    assert not InboundMessage.objects.exists()


def test_sendgrid_raw_mime_post_is_stored_and_becomes_a_ticket(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            "/anymail/sendgrid/inbound/",
            sendgrid_fields(factories.email_bytes()),
            HTTP_AUTHORIZATION=basic_auth(SENDGRID_AUTH),
        )

    assert response.status_code == 200
    assert_stored_and_ticket_created(InboundMessage.Source.SENDGRID, callbacks)


def test_sendgrid_post_with_wrong_basic_auth_is_rejected(client):
    response = client.post(
        "/anymail/sendgrid/inbound/",
        sendgrid_fields(factories.email_bytes()),
        HTTP_AUTHORIZATION=basic_auth("sendgrid:guess"),
    )

    assert response.status_code == 400
    assert not InboundMessage.objects.exists()


def test_a_webhook_carrying_garbage_is_stored_and_quarantined_not_lost(client):
    fields = mailgun_fields(b"")
    fields["body-mime"] = "this is not an email at all"

    response = client.post(
        "/anymail/mailgun/inbound_mime/", fields, HTTP_AUTHORIZATION=basic_auth(MAILGUN_AUTH)
    )

    assert response.status_code == 200
    process_all()
    inbound = InboundMessage.objects.get()
    assert inbound.state == InboundMessage.State.QUARANTINED
    assert b"this is not an email at all" in raw_mail_read(inbound)


@pytest.mark.parametrize("url", ["/anymail/postmark/inbound/", "/anymail/mailgun/inbound_mime/"])
def test_a_provider_webhook_that_is_not_enabled_is_not_served(client, settings, caplog, url):
    settings.HELPDESK_EMAIL_WEBHOOK_PROVIDERS = ["sendgrid"]

    response = client.post(url, postmark_payload(factories.email_bytes()), content_type="application/json")

    assert response.status_code == 404
    assert "not in HELPDESK_EMAIL_WEBHOOK_PROVIDERS" in caplog.text
    assert not InboundMessage.objects.exists()


def test_an_enabled_webhook_without_basic_auth_configured_refuses_forged_posts(client, settings, caplog):
    # Anymail alone would accept this unauthenticated post (it only warns when WEBHOOK_SECRET is empty).
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY, "WEBHOOK_SECRET": []}

    response = client.post(
        "/anymail/postmark/inbound/",
        postmark_payload(factories.email_bytes()),
        content_type="application/json",
    )

    assert response.status_code == 403
    assert "ANYMAIL_WEBHOOK_SECRET is not set" in caplog.text
    assert not InboundMessage.objects.exists()
    assert not Ticket.objects.exists()


def test_an_enabled_mailgun_webhook_without_a_signing_key_refuses_posts_signed_with_an_empty_key(
    client, settings, caplog
):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": "", "WEBHOOK_SECRET": []}

    response = client.post("/anymail/mailgun/inbound_mime/", mailgun_fields(factories.email_bytes(), key=""))

    assert response.status_code == 403
    assert "MAILGUN_WEBHOOK_SIGNING_KEY is not set" in caplog.text
    assert not InboundMessage.objects.exists()


def test_check_deploy_fails_for_an_enabled_provider_without_its_credential(settings):
    settings.HELPDESK_EMAIL_WEBHOOK_PROVIDERS = ["postmark", "mailgun"]
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY, "WEBHOOK_SECRET": []}

    errors = check_provider_webhook_credentials(None)

    assert [error.id for error in errors] == ["tickets.E001"]
    assert "postmark" in errors[0].msg
    with pytest.raises(SystemCheckError, match=r"tickets\.E001"):
        call_command("check", "--deploy", "--fail-level", "ERROR", "--tag", "security")


def test_check_deploy_accepts_enabled_providers_with_their_credentials():
    assert check_provider_webhook_credentials(None) == []


def test_a_replayed_mailgun_post_is_refused(client):
    fields = mailgun_fields(factories.email_bytes())
    first = client.post("/anymail/mailgun/inbound_mime/", fields, HTTP_AUTHORIZATION=basic_auth(MAILGUN_AUTH))

    replay = client.post(
        "/anymail/mailgun/inbound_mime/", fields, HTTP_AUTHORIZATION=basic_auth(MAILGUN_AUTH)
    )

    assert (first.status_code, replay.status_code) == (200, 400)
    assert InboundMessage.objects.count() == 1


def test_a_mailgun_post_with_an_old_signature_is_refused(client, monkeypatch):
    fields = mailgun_fields(factories.email_bytes())
    # Captured an hour ago: the HMAC is still right, the timestamp is not.
    monkeypatch.setattr(time, "time", lambda: int(fields["timestamp"]) + 3600)

    response = client.post(
        "/anymail/mailgun/inbound_mime/", fields, HTTP_AUTHORIZATION=basic_auth(MAILGUN_AUTH)
    )

    assert response.status_code == 400
    assert not InboundMessage.objects.exists()
