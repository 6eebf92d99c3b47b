"""Survey email through the outbox: content, idempotence, outcomes of SMTP errors, crash recovery."""

import email
import smtplib
import threading
from datetime import timedelta
from email import policy
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.utils import timezone

from surveys import addressing, services, tasks
from surveys.models import SurveyInvitation
from surveys.tokens import invitation_token
from tests import factories
from tickets.models import AuditEntry, OutboundDelivery
from tickets.outbox import services as outbox
from tickets.tasks import tickets_deliver_outbound

pytestmark = pytest.mark.django_db

State = SurveyInvitation.State


@pytest.fixture
def due_invitation(customer, team):
    ticket = factories.solved_ticket(customer=customer, team=team, now=timezone.now() - timedelta(hours=2))
    return SurveyInvitation.objects.get(ticket=ticket)


def links(body: str) -> list[str]:
    return [word for word in body.split() if word.startswith("http")]


def test_the_survey_email_has_one_absolute_link_per_score(due_invitation, mailoutbox, settings):
    settings.HELPDESK_PUBLIC_BASE_URL = "https://help.example.com/"
    assert factories.deliver_survey(due_invitation.pk) == "sent"

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [due_invitation.ticket.customer.email]
    assert "How satisfied are you with the support you received?" in message.body
    token = invitation_token(due_invitation)
    text_links = links(message.body)
    assert len(text_links) == 5
    for score, link in zip(range(1, 6), text_links, strict=True):
        parts = urlsplit(link)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", "help.example.com", f"/survey/{token}/")
        assert parse_qs(parts.query) == {"score": [str(score)]}
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert [f'href="{link}"' in html for link in text_links] == [True] * 5
    assert html.count("?score=") == 5


def test_nps_emails_carry_eleven_links_from_zero(customer, team, mailoutbox):
    factories.SurveySettingsFactory(team=team, kinds=["nps", "csat"], delay_minutes=0)
    ticket = factories.solved_ticket(customer=customer, team=team, now=timezone.now() - timedelta(minutes=1))
    factories.deliver_survey(SurveyInvitation.objects.get(ticket=ticket).pk)

    scores = [parse_qs(urlsplit(link).query)["score"][0] for link in links(mailoutbox[0].body)]
    assert scores == [str(n) for n in range(0, 11)]
    assert "How likely are you to recommend us" in mailoutbox[0].body


def test_reply_to_and_message_id_carry_the_survey_token(due_invitation, mailoutbox, settings):
    settings.DEFAULT_FROM_EMAIL = "Acme Support <support@acme.example>"
    factories.deliver_survey(due_invitation.pk)

    parsed = email.message_from_bytes(mailoutbox[0].message().as_bytes(), policy=policy.default)
    token = invitation_token(due_invitation)
    assert parsed["Reply-To"] == f"support+survey-{token}@acme.example"
    assert parsed["Message-ID"] == f"<survey-{token}@acme.example>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert addressing.invitation_token_from_address(parsed["Reply-To"]) == token
    assert addressing.invitation_token_from_message_id(parsed["Message-ID"]) == token
    assert parsed.get_body(("html",)) is not None and parsed.get_body(("plain",)) is not None


def test_sending_marks_the_invitation_sent_with_its_expiry(due_invitation, mailoutbox):
    factories.deliver_survey(due_invitation.pk)

    due_invitation.refresh_from_db()
    assert due_invitation.state == State.SENT
    assert due_invitation.expires_at - due_invitation.sent_at == timedelta(days=28)
    assert due_invitation.attempts == 1
    audit = AuditEntry.objects.filter(ticket=due_invitation.ticket, action=AuditEntry.Action.SURVEY).last()
    assert audit.new_value == f"sent to {due_invitation.ticket.customer.email}"


def test_dispatching_twice_queues_and_sends_one_email(due_invitation, mailoutbox):
    assert factories.deliver_survey(due_invitation.pk) == "sent"
    assert factories.deliver_survey(due_invitation.pk) == "not due or already handled"
    assert len(mailoutbox) == 1
    assert OutboundDelivery.objects.filter(kind=OutboundDelivery.Kind.SURVEY).count() == 1


def test_a_survey_not_yet_due_is_not_sent(db, mailoutbox):
    factories.solved_ticket(now=timezone.now())
    invitation = SurveyInvitation.objects.get()
    assert factories.deliver_survey(invitation.pk) == "not due or already handled"
    assert mailoutbox == []


def test_the_beat_task_queues_due_invitations_only(due_invitation):
    factories.solved_ticket(now=timezone.now())  # due in an hour

    assert tasks.surveys_send_due_invitations() == 1
    (delivery,) = OutboundDelivery.objects.filter(kind=OutboundDelivery.Kind.SURVEY)
    assert delivery.source_id == due_invitation.pk
    due_invitation.refresh_from_db()
    assert due_invitation.state == State.SENDING  # until the outbox reports the outcome


def refuse_with(monkeypatch, error: Exception) -> None:
    def refuse(self, *args, **kwargs):
        raise error

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)


def test_a_transient_smtp_error_keeps_the_survey_sending_and_the_outbox_retries_later(
    due_invitation, monkeypatch, mailoutbox
):
    refuse_with(monkeypatch, smtplib.SMTPServerDisconnected("connection lost"))
    assert factories.deliver_survey(due_invitation.pk) == OutboundDelivery.State.PENDING

    due_invitation.refresh_from_db()
    assert due_invitation.state == State.SENDING
    delivery = OutboundDelivery.objects.get(kind=OutboundDelivery.Kind.SURVEY)
    assert delivery.last_error == "SMTPServerDisconnected: connection lost"
    monkeypatch.undo()
    assert outbox.delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at).state == "sent"
    due_invitation.refresh_from_db()
    assert due_invitation.state == State.SENT
    assert len(mailoutbox) == 1


def test_after_the_last_attempt_the_survey_is_marked_failed(due_invitation, monkeypatch, settings):
    settings.HELPDESK_OUTBOX_MAX_ATTEMPTS = 1
    refuse_with(monkeypatch, ConnectionRefusedError("no SMTP server"))

    assert factories.deliver_survey(due_invitation.pk) == OutboundDelivery.State.FAILED

    due_invitation.refresh_from_db()
    assert due_invitation.state == State.FAILED
    assert "no SMTP server" in due_invitation.last_error


def test_a_refused_recipient_fails_at_once(due_invitation, monkeypatch):
    refuse_with(monkeypatch, smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"no such user")}))

    assert factories.deliver_survey(due_invitation.pk) == OutboundDelivery.State.FAILED
    due_invitation.refresh_from_db()
    assert due_invitation.state == State.FAILED


def test_a_send_interrupted_by_a_dead_worker_is_sent_once_after_the_lease(
    due_invitation, mailoutbox, settings
):
    delivery = services.survey_invitation_dispatch(invitation_id=due_invitation.pk)
    now = timezone.now()
    outbox._claim(delivery.pk, now)  # ... and the worker dies here

    after_lease = now + timedelta(seconds=settings.HELPDESK_OUTBOX_LEASE_SECONDS)
    assert outbox.deliveries_due(now=after_lease - timedelta(seconds=1)) == []
    assert outbox.deliveries_due(now=after_lease) == [delivery.pk]
    assert outbox.delivery_attempt(delivery_id=delivery.pk, now=after_lease).state == "sent"

    due_invitation.refresh_from_db()
    assert due_invitation.state == State.SENT
    assert len(mailoutbox) == 1
    assert tickets_deliver_outbound(delivery.pk) == "not due"


def test_a_bounce_after_sending_leaves_the_survey_answerable(due_invitation, mailoutbox):
    factories.deliver_survey(due_invitation.pk)
    message_id = mailoutbox[0].extra_headers["Message-ID"]

    assert outbox.delivery_mark_bounced(message_id_header=message_id, reason="550 user unknown") is not None

    due_invitation.refresh_from_db()
    assert due_invitation.state == State.SENT


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatches_on_postgresql_queue_one_email(mailoutbox):
    ticket = factories.solved_ticket(now=timezone.now() - timedelta(hours=2))
    invitation_id = SurveyInvitation.objects.get(ticket=ticket).pk
    barrier = threading.Barrier(4)
    results = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(services.survey_invitation_dispatch(invitation_id=invitation_id) is not None)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False, False, False, True]
    (delivery,) = OutboundDelivery.objects.filter(kind=OutboundDelivery.Kind.SURVEY)
    assert tickets_deliver_outbound(delivery.pk) == "sent"
    assert len(mailoutbox) == 1
    assert SurveyInvitation.objects.get(pk=invitation_id).state == State.SENT


def test_the_subject_is_plain_text(customer, mailoutbox):
    ticket = factories.solved_ticket(
        customer=customer, subject="Billing & <refunds>", now=timezone.now() - timedelta(hours=2)
    )
    factories.deliver_survey(SurveyInvitation.objects.get(ticket=ticket).pk)
    assert mailoutbox[0].subject == f"How did we do? Your request {ticket.reference}: Billing & <refunds>"
    assert "Billing &amp; &lt;refunds&gt;" in mailoutbox[0].alternatives[0][0]
