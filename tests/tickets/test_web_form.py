import smtplib
import uuid

import pytest
from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import EmailMessage
from django.test import Client

from tests import factories
from tickets import enqueue
from tickets.intake import ratelimit
from tickets.intake import services as intake
from tickets.intake.ratelimit import rate_limit_exceeded
from tickets.models import AuditEntry, Channel, Customer, OutboundDelivery, Ticket, WebFormTopic
from tickets.outbox import services as outbox
from tickets.tasks import tickets_deliver_outbound

pytestmark = pytest.mark.django_db

URL = "/support/new/"


@pytest.fixture(autouse=True)
def _local_cache(settings):
    # Rate-limit counters must not leak between tests (or into a shared Redis).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield
    cache.clear()


def form_data(**overrides):
    data = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "subject": "Invoice is wrong",
        "message": "My November invoice charges me twice.",
        "website": "",
    }
    data.update(overrides)
    return data


def test_the_form_page_renders_with_csrf_token_and_shared_base(client):
    response = client.get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert "csrfmiddlewaretoken" in body
    assert 'name="viewport"' in body
    assert "helpdesk/app.css" in body
    assert '<body class="public"' in body
    assert 'enctype="multipart/form-data"' in body


def test_the_support_address_leads_to_the_form(client):
    response = client.get("/support/")
    assert (response.status_code, response["Location"]) == (302, URL)


def test_the_topic_the_customer_picks_sends_the_request_to_its_team(client, enqueued):
    billing = factories.TeamFactory(name="Billing")
    factories.TeamFactory(name="Support", is_default=True)
    topic = WebFormTopic.objects.create(name="Billing and invoices", team=billing)
    assert "Billing and invoices" in client.get(URL).content.decode()
    client.post(URL, form_data(topic=topic.pk))
    ticket = Ticket.objects.get()
    assert ticket.team == billing
    routed = ticket.audit_entries.get(action=AuditEntry.Action.ROUTED)
    assert routed.details["team_chosen_by"] == "web form topic 'Billing and invoices'"


def test_without_a_topic_or_rule_the_request_goes_to_the_default_team(client, enqueued):
    support = factories.TeamFactory(name="Support", is_default=True)
    WebFormTopic.objects.create(name="Billing", team=factories.TeamFactory(name="Billing"))
    client.post(URL, form_data(topic=""))
    assert Ticket.objects.get().team == support


def test_an_unknown_topic_is_a_400_that_names_the_field(client):
    response = client.post(URL, form_data(topic="999999"))
    assert response.status_code == 400
    assert "What is it about?" in response.content.decode()
    assert not Ticket.objects.exists()


def test_without_topics_the_form_does_not_ask(client):
    assert "What is it about?" not in client.get(URL).content.decode()


@pytest.fixture
def enqueued(monkeypatch):
    """Outbox deliveries handed to the broker (the tests run the delivery task themselves)."""
    ids = []
    monkeypatch.setattr(enqueue.current_app, "send_task", lambda name, args, countdown: ids.append(args[0]))
    return ids


def acknowledgement() -> OutboundDelivery:
    return OutboundDelivery.objects.get(kind=OutboundDelivery.Kind.ACKNOWLEDGEMENT)


def test_a_valid_request_creates_a_web_ticket_routes_it_and_shows_the_reference(
    client, settings, enqueued, django_capture_on_commit_callbacks
):
    team = factories.TeamFactory(name="Front line")
    settings.HELPDESK_DEFAULT_TEAM = "Front line"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, form_data(), follow=True)
    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.WEB
    assert ticket.subject == "Invoice is wrong"
    assert ticket.team == team
    assert ticket.customer.email == "ada@example.com"
    assert ticket.customer.name == "Ada Lovelace"
    assert ticket.messages.get().body_text == "My November invoice charges me twice."
    assert ticket.audit_entries.filter(action=AuditEntry.Action.ROUTED).exists()
    assert ticket.reference in response.content.decode()
    assert response.redirect_chain[-1][0] == "/support/new/submitted/"
    assert acknowledgement().ticket == ticket
    assert enqueued == [acknowledgement().pk]


def test_the_acknowledgement_quotes_the_reference_and_replies_go_to_support(
    client, mailoutbox, settings, enqueued
):
    settings.HELPDESK_SUPPORT_ADDRESS = "help@acme.test"
    client.post(URL, form_data())
    ticket = Ticket.objects.get()
    assert tickets_deliver_outbound(acknowledgement().pk) == "sent"
    mail = mailoutbox[0]
    assert mail.to == ["ada@example.com"]
    assert mail.subject == f"[#{ticket.reference}] Invoice is wrong"
    assert mail.reply_to == ["help@acme.test"]
    assert ticket.reference in mail.body
    assert ticket.audit_entries.filter(
        action=AuditEntry.Action.EMAIL, new_value="acknowledgement sent"
    ).exists()
    # A redelivered task does not mail twice.
    assert tickets_deliver_outbound(acknowledgement().pk) == "not due"
    assert len(mailoutbox) == 1


def test_nothing_is_queued_when_the_intake_rolls_back(
    client, enqueued, monkeypatch, django_capture_on_commit_callbacks
):
    def explode(**kwargs):
        raise RuntimeError("routing exploded")

    monkeypatch.setattr(intake, "ticket_route", explode)
    client.raise_request_exception = False
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, form_data())
    assert response.status_code == 500
    assert enqueued == []
    assert not Ticket.objects.exists()
    assert not OutboundDelivery.objects.exists()


def test_an_unreachable_mail_server_is_retried_then_recorded_without_losing_the_ticket(
    client, settings, enqueued
):
    settings.HELPDESK_OUTBOX_MAX_ATTEMPTS = 2
    client.post(URL, form_data())
    ticket = Ticket.objects.get()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    delivery = outbox.delivery_attempt(delivery_id=acknowledgement().pk)
    assert delivery.state == OutboundDelivery.State.PENDING
    assert not ticket.audit_entries.filter(action=AuditEntry.Action.EMAIL).exists()

    delivery = outbox.delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)

    assert delivery.state == OutboundDelivery.State.FAILED
    entry = ticket.audit_entries.get(action=AuditEntry.Action.EMAIL)
    assert entry.new_value.startswith("acknowledgement failed")


def test_a_refused_recipient_is_recorded_without_retrying(client, monkeypatch, enqueued):
    client.post(URL, form_data())
    ticket = Ticket.objects.get()

    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({"ada@example.com": (550, b"no such user")})

    monkeypatch.setattr(EmailMessage, "send", refuse)
    assert tickets_deliver_outbound(acknowledgement().pk) == "failed"
    assert ticket.audit_entries.get(action=AuditEntry.Action.EMAIL).new_value.startswith(
        "acknowledgement failed"
    )


def test_a_returning_customer_is_recognised_by_email_in_any_case(client):
    customer = factories.CustomerFactory(email="ada@example.com")
    client.post(URL, form_data(email="ADA@Example.com"))
    assert Ticket.objects.get().customer == customer
    assert Customer.objects.count() == 1


def test_attachments_are_stored_on_the_first_message(client):
    files = [
        SimpleUploadedFile("screenshot.png", b"\x89PNG fake", content_type="image/png"),
        SimpleUploadedFile("log.txt", b"error 42", content_type="text/plain"),
    ]
    client.post(URL, {**form_data(), "attachments": files})
    attachments = Ticket.objects.get().messages.get().attachments.order_by("filename")
    assert [(a.filename, a.size, a.content_type) for a in attachments] == [
        ("log.txt", 8, "text/plain"),
        ("screenshot.png", 9, "image/png"),
    ]
    assert attachments[0].file.read() == b"error 42"


def test_too_many_attachments_re_render_the_form_with_the_input_kept(client, settings):
    settings.HELPDESK_WEB_FORM_MAX_ATTACHMENTS = 2
    files = [SimpleUploadedFile(f"f{i}.txt", b"x") for i in range(3)]
    response = client.post(URL, {**form_data(), "attachments": files})
    body = response.content.decode()
    assert response.status_code == 400
    assert "You attached 3 files; the limit is 2" in body
    assert "My November invoice charges me twice." in body
    assert 'value="ada@example.com"' in body
    assert not Ticket.objects.exists()


def test_an_oversized_attachment_is_refused_by_name(client, settings):
    settings.HELPDESK_WEB_FORM_MAX_ATTACHMENT_BYTES = 10
    files = [SimpleUploadedFile("small.txt", b"ok"), SimpleUploadedFile("huge.bin", b"x" * 11)]
    response = client.post(URL, {**form_data(), "attachments": files})
    body = response.content.decode()
    assert response.status_code == 400
    error = " ".join(response.context["form"].errors["attachments"])
    assert "huge.bin (11\xa0bytes)" in error
    assert "small.txt" not in error
    assert "huge.bin" in body
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"email": ""}, "email", "This field is required."),
        ({"email": "not-an-address"}, "email", "Enter a valid email address."),
        ({"subject": "  "}, "subject", "This field is required."),
        ({"message": ""}, "message", "This field is required."),
        ({"subject": "x" * 251}, "subject", "at most 250 characters"),
    ],
)
def test_invalid_input_re_renders_the_form_with_errors_and_keeps_the_rest(client, overrides, field, message):
    response = client.post(URL, form_data(**overrides))
    body = response.content.decode()
    assert response.status_code == 400
    assert message in body
    assert response.context["form"].errors[field]
    assert f'aria-describedby="id_{field}_errors"' in body
    assert f'id="id_{field}_errors"' in body
    assert 'aria-invalid="true"' in body
    assert f'href="#id_{field}"' in body  # the error summary links to the field
    assert "My November invoice" in body or field == "message"
    assert not Ticket.objects.exists()


def test_a_filled_honeypot_answers_like_success_but_creates_nothing(client, mailoutbox, caplog):
    with caplog.at_level("INFO", logger="tickets.intake.web_form"):
        response = client.post(URL, form_data(website="http://spam.example"), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/support/new/submitted/"
    assert "we received your request" in response.content.decode().lower()
    assert not Ticket.objects.exists()
    assert not Customer.objects.exists()
    assert mailoutbox == []
    assert "honeypot" in caplog.text


def test_requests_over_the_per_ip_limit_are_refused_with_the_input_kept(client, settings):
    settings.HELPDESK_WEB_FORM_RATE_PER_IP = 2
    for index in range(2):
        assert client.post(URL, form_data(email=f"person{index}@example.com")).status_code == 302
    response = client.post(URL, form_data(email="third@example.com"))
    assert response.status_code == 429
    body = response.content.decode()
    assert "Please wait a while" in body
    assert 'value="third@example.com"' in body
    assert Ticket.objects.count() == 2
    other_ip = client.post(URL, form_data(email="fourth@example.com"), REMOTE_ADDR="10.0.0.9")
    assert other_ip.status_code == 302


def test_requests_over_the_per_email_limit_are_refused(client, settings):
    settings.HELPDESK_WEB_FORM_RATE_PER_EMAIL = 1
    assert client.post(URL, form_data(), REMOTE_ADDR="10.0.0.1").status_code == 302
    response = client.post(URL, form_data(email="ADA@example.com"), REMOTE_ADDR="10.0.0.2")
    assert response.status_code == 429
    assert Ticket.objects.count() == 1


def test_the_client_ip_header_of_a_trusted_proxy_is_used(client, settings):
    settings.HELPDESK_WEB_FORM_RATE_PER_IP = 1
    settings.HELPDESK_TRUSTED_PROXY_COUNT = 1
    settings.HELPDESK_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    assert client.post(URL, form_data(email="a@example.com"), HTTP_X_REAL_IP="1.1.1.1").status_code == 302
    assert client.post(URL, form_data(email="b@example.com"), HTTP_X_REAL_IP="2.2.2.2").status_code == 302
    assert client.post(URL, form_data(email="c@example.com"), HTTP_X_REAL_IP="1.1.1.1").status_code == 429


def test_csrf_is_enforced():
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(URL, form_data())
    assert response.status_code == 403
    assert not Ticket.objects.exists()
    csrf_client.get(URL)
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(URL, {**form_data(), "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Ticket.objects.count() == 1


def test_the_confirmation_page_without_a_submission_redirects_to_the_form(client):
    response = client.get("/support/new/submitted/")
    assert response.status_code == 302
    assert response["Location"] == URL


@pytest.mark.redis
def test_rate_limits_are_counted_in_redis_when_configured(settings, redis_url):
    # A unique prefix keeps this test's counter apart from everything else in that Redis database.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    results = [
        rate_limit_exceeded(scope="test", identity="x@example.com", limit=2, window_seconds=60)
        for _ in range(3)
    ]
    assert results == [False, False, True]


def test_an_unreachable_rate_limit_cache_lets_the_request_through_with_a_warning(client, monkeypatch, caplog):
    # Nothing listens on port 9 (discard): every cache call fails as during a Redis outage.
    monkeypatch.setattr(ratelimit, "cache", RedisCache("redis://127.0.0.1:9/0", {}))

    response = client.post(URL, form_data())

    assert response.status_code == 302
    assert Ticket.objects.count() == 1
    assert "the cache is unavailable" in caplog.text
