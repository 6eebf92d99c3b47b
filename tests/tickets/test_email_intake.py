"""Email intake: store first, then parse, classify and thread; the ingest_mail command over real corpora."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests import factories
from tickets import services
from tickets.email import inbound as intake
from tickets.email.inbound import inbound_message_process, inbound_message_retry, inbound_message_store
from tickets.email.raw_mail import raw_mail_read
from tickets.models import (
    InboundMessage,
    Mailbox,
    Message,
    Notification,
    OutboundDelivery,
    Status,
    Ticket,
    TicketParticipant,
)
from tickets.tasks import tickets_process_inbound_message

pytestmark = pytest.mark.django_db

CORPORA = Path(__file__).resolve().parents[1] / "data" / "corpora"
MESSAGE_FILES = sorted(p for p in CORPORA.rglob("*") if p.is_file() and p.suffix.lower() in {".eml", ".msg"})
# Everything else in the corpora is created as a ticket.
EXPECTED_OUTCOME = {
    "mail_outlook_1.msg": "quarantined",  # Outlook binary, not RFC 5322
    "mail_malformed_2.eml": "ignored",  # a bounce of a message we never sent
    "mail_test_13.eml": "ignored",  # newsletter (List-Id)
    "mail_test_16.eml": "ignored",  # Precedence: junk
    "mail_test_5.eml": "ignored",  # marketing (Precedence: bulk)
    "mail_test_6.eml": "ignored",  # forum notification (List-Id)
}


def ingest(*paths: Path | str) -> dict[str, int]:
    out = io.StringIO()
    call_command("ingest_mail", *map(str, paths), "--json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue().strip().splitlines()[-1])


def receive(raw: bytes, **kwargs) -> InboundMessage:
    return inbound_message_process(
        inbound=inbound_message_store(raw=raw, source=InboundMessage.Source.FILE, enqueue=False, **kwargs)
    )


def dsn_bytes(*, original_message_id: str, recipient: str = "alice@example.com") -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        "To: support@helpdesk.localhost\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.example.com>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <alice@example.com>: Recipient address rejected: User unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@helpdesk.localhost\r\nTo: {recipient}\r\nSubject: Re: x\r\n"
        f"Message-ID: <{original_message_id}>\r\n"
        "--B--\r\n"
    ).encode()


# --- the corpora through ingest_mail ---------------------------------------------------------------


@pytest.mark.parametrize("path", MESSAGE_FILES, ids=lambda p: str(p.relative_to(CORPORA)))
def test_every_corpus_message_is_ingested_with_its_expected_outcome(path):
    counts = ingest(path)

    expected = EXPECTED_OUTCOME.get(path.name, "created")
    assert sum(counts.values()) == 1
    assert counts[expected] == 1, counts
    inbound = InboundMessage.objects.get()
    assert raw_mail_read(inbound) == path.read_bytes()


def test_ingesting_the_corpora_counts_each_message_once_and_a_second_run_creates_nothing():
    first = ingest(CORPORA)
    second = ingest(CORPORA)

    assert sum(first.values()) == len(MESSAGE_FILES)
    assert first["created"] == len(MESSAGE_FILES) - len(EXPECTED_OUTCOME)
    assert first["quarantined"] == 1
    assert sum(second.values()) == len(MESSAGE_FILES)
    assert second["created"] == second["threaded"] == 0
    assert second["duplicates"] + second["ignored"] == len(MESSAGE_FILES)
    assert Ticket.objects.count() == first["created"]


def test_json_is_the_last_line_and_a_missing_path_fails_after_processing_the_others(tmp_path):
    message = tmp_path / "one.eml"
    message.write_bytes(factories.email_bytes())
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="could not be read"):
        call_command("ingest_mail", str(tmp_path / "missing"), str(message), "--json", stdout=out, stderr=err)

    assert json.loads(out.getvalue().strip().splitlines()[-1])["created"] == 1
    assert "missing" in err.getvalue()


def test_mbox_and_maildir_inputs_are_read_message_by_message(tmp_path):
    import mailbox

    mbox = mailbox.mbox(tmp_path / "inbox.mbox")
    mbox.add(factories.email_bytes(message_id="<m1@example.com>"))
    mbox.add(factories.email_bytes(message_id="<m2@example.com>", from_="bob@example.com"))
    mbox.flush()
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(factories.email_bytes(message_id="<m3@example.com>", from_="carol@example.com"))

    counts = ingest(tmp_path / "inbox.mbox", tmp_path / "Maildir")

    assert counts == {"created": 3, "threaded": 0, "duplicates": 0, "ignored": 0, "quarantined": 0}


def test_directory_skips_files_that_are_not_messages(tmp_path):
    (tmp_path / "LICENSE").write_text("MIT License")
    (tmp_path / "notes.txt").write_text("Subject: not a message file\n\nhello")
    (tmp_path / "a.eml").write_bytes(factories.email_bytes())

    out = io.StringIO()
    call_command("ingest_mail", str(tmp_path), "--json", stdout=out)

    assert "2 non-message file(s) skipped" in out.getvalue()
    assert json.loads(out.getvalue().strip().splitlines()[-1])["created"] == 1


# --- where django-helpdesk 2.6.1 failed ------------------------------------------------------------


def test_mail_test_2_non_utf8_body_does_not_abort_a_directory_run(tmp_path):
    # django-helpdesk's directory reader dies with UnicodeDecodeError on this file and stops the run.
    for name in ("mail_test_2.eml", "mail_test_3.eml"):
        (tmp_path / name).write_bytes((CORPORA / "mail-parser" / name).read_bytes())

    counts = ingest(tmp_path)

    assert counts["created"] == 2
    ticket = InboundMessage.objects.get(origin__endswith="mail_test_2.eml").ticket
    message = ticket.messages.get()
    assert message.attachments.filter(is_inline=True).count() == 2
    assert message.attachments.get(is_inline=False).filename == "Bollettino.pdf"


def test_mail_test_12_mislabelled_charset_is_stored_as_characters_not_escapes():
    # django-helpdesk stored literal "\\u4f60..." escapes for this GB2312-labelled UTF-8 body.
    inbound = receive((CORPORA / "mail-parser" / "mail_test_12.eml").read_bytes())

    body = inbound.ticket.messages.get().body_text
    assert "\\u" not in body
    assert any("\u4e00" <= char <= "\u9fff" for char in body)


def test_mail_outlook_1_msg_is_kept_in_quarantine_with_a_clear_reason(tmp_path):
    # django-helpdesk produced nothing for this Outlook .msg: no ticket, no trace of the message.
    counts = ingest(CORPORA / "mail-parser" / "mail_outlook_1.msg")

    assert counts["quarantined"] == 1
    inbound = InboundMessage.objects.get()
    assert "Outlook" in inbound.reason and "convert it to .eml" in inbound.reason
    assert inbound.size == (CORPORA / "mail-parser" / "mail_outlook_1.msg").stat().st_size


def test_android_reply_keeps_only_the_new_text_under_a_russian_quote_header():
    # django-helpdesk kept 'Hello\n02.04.2012 14:20 пользователь "bob@xxx.mailgun.org" <' as the description.
    inbound = receive((CORPORA / "talon" / "standard_replies" / "android.eml").read_bytes())

    message = inbound.ticket.messages.get()
    assert message.body_text == "Hello"
    assert "пользователь" in message.full_text


# --- threading -------------------------------------------------------------------------------------


def test_new_mail_opens_an_email_ticket_for_a_new_customer_with_participants():
    inbound = receive(factories.email_bytes(cc="Bob <bob@example.com>"))

    assert inbound.state == InboundMessage.State.PROCESSED and inbound.created_ticket
    ticket = inbound.ticket
    assert ticket.channel == "email"
    assert ticket.customer.email == "alice@example.com"
    assert ticket.customer.name == "Alice Customer"
    assert inbound.ticket_message.email_message_id == "first-1@mail.example.com"
    assert set(TicketParticipant.objects.values_list("email", flat=True)) == {
        "alice@example.com",
        "bob@example.com",
    }


def test_new_email_tickets_go_through_the_routing_rules(team):
    factories.RoutingRuleFactory(
        name="Refunds by mail", keywords=["refund"], set_team=team, set_priority="high", add_tags=["refund"]
    )
    inbound = receive(factories.email_bytes(subject="Refund please", body="I want a refund for order 42."))

    ticket = inbound.ticket
    assert (ticket.team, ticket.priority) == (team, "high")
    assert list(ticket.tags.values_list("name", flat=True)) == ["refund"]
    routed = ticket.audit_entries.get(action="routed")
    assert routed.details["rule_name"] == "Refunds by mail"


def test_an_email_customer_with_a_known_email_domain_joins_its_organization():
    organization = factories.OrganizationFactory(email_domains=["example.com"])
    inbound = receive(factories.email_bytes())

    assert inbound.ticket.customer.organization == organization


def test_existing_customer_is_matched_case_insensitively(customer):
    inbound = receive(factories.email_bytes(from_=customer.email.upper()))

    assert inbound.ticket.customer == customer


def test_reply_with_in_reply_to_threads_into_the_ticket_and_strips_the_quote():
    first = receive(factories.email_bytes())
    reply = receive(
        factories.email_bytes(
            subject="Re: My printer is on fire",
            message_id="<reply-2@mail.example.com>",
            in_reply_to="<first-1@mail.example.com>",
            body="It is still burning.\n\nOn Mon, Alice wrote:\n> Hello, my printer is on fire.\n",
        )
    )

    assert reply.ticket == first.ticket and not reply.created_ticket
    assert reply.ticket_message.body_text == "It is still burning."
    assert "> Hello, my printer" in reply.ticket_message.full_text


def test_reply_to_the_plus_address_threads_without_headers(ticket):
    reply = receive(
        factories.email_bytes(
            from_="someone.else@example.org",
            to=f"support+{ticket.reply_token}@helpdesk.localhost",
            subject="different subject",
            message_id="<plus-1@example.org>",
        )
    )

    assert reply.ticket == ticket


def test_subject_reference_from_the_customer_threads(ticket):
    reply = receive(
        factories.email_bytes(from_=ticket.customer.email, subject=f"Re: fire [#{ticket.reference}]")
    )

    assert reply.ticket == ticket and not reply.created_ticket


def test_subject_reference_from_a_cc_participant_threads(ticket):
    TicketParticipant.objects.create(
        ticket=ticket, email="Boss@Example.com", is_cc=True, created_at=ticket.created_at
    )

    reply = receive(factories.email_bytes(from_="boss@example.com", subject=f"[#{ticket.reference}] update"))

    assert reply.ticket == ticket


def test_a_stranger_quoting_a_reference_gets_a_new_ticket(ticket):
    inbound = receive(
        factories.email_bytes(from_="mallory@evil.example", subject=f"Re: [#{ticket.reference}] give me data")
    )

    assert inbound.created_ticket and inbound.ticket != ticket
    assert ticket.messages.count() == 1


def test_a_reply_to_a_closed_ticket_opens_a_linked_follow_up():
    first = receive(factories.email_bytes())
    ticket = services.ticket_change_status(ticket=first.ticket, status=Status.SOLVED)
    services.ticket_change_status(ticket=ticket, status=Status.CLOSED)

    reply = receive(
        factories.email_bytes(message_id="<again@example.com>", in_reply_to="<first-1@mail.example.com>")
    )

    assert reply.created_ticket
    assert reply.ticket.follow_up_of == first.ticket


# --- duplicates, loops and noise -------------------------------------------------------------------


def test_same_message_id_delivered_twice_creates_nothing_the_second_time():
    first = receive(factories.email_bytes())
    again = receive(factories.email_bytes(headers={"Received": "from relay2.example.com"}))

    assert again.state == InboundMessage.State.DUPLICATE
    assert str(first.pk) in again.reason
    assert Ticket.objects.count() == 1


def test_without_message_id_the_content_hash_finds_duplicates():
    receive(factories.email_bytes(message_id=None))
    again = receive(factories.email_bytes(message_id=None).replace(b"\n", b"\r\n"))

    assert again.state == InboundMessage.State.DUPLICATE


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"List-Id": "<news.example.com>"},
        {"X-Autoreply": "yes"},
    ],
)
def test_auto_replies_and_bulk_mail_are_ignored_without_ticket_or_acknowledgement(headers, team):
    team.auto_ack_enabled = True
    team.save()
    Mailbox.objects.create(name="m", host="h", username="u", password="p", team=team)

    inbound = receive(factories.email_bytes(headers=headers))

    assert inbound.state == InboundMessage.State.IGNORED
    assert inbound.reason
    assert not Ticket.objects.exists() and not Message.objects.exists()


def test_mail_from_our_own_addresses_is_ignored(settings, team):
    team.email_address = "billing@helpdesk.localhost"
    team.save()

    for sender in (
        "support@helpdesk.localhost",
        "billing@helpdesk.localhost",
        "support+abc@helpdesk.localhost",
    ):
        inbound = receive(factories.email_bytes(from_=sender, message_id=f"<{sender}>"))
        assert inbound.state == InboundMessage.State.IGNORED, sender
    assert not Ticket.objects.exists()


def test_a_bounce_of_our_reply_flags_it_and_notes_it_on_the_ticket(ticket, agent_user):
    services.ticket_assign(ticket=ticket, assignee=agent_user)
    reply = services.message_add(
        ticket=ticket, author_role=Message.AuthorRole.AGENT, author_user=agent_user, body_text="We are on it."
    )

    inbound = receive(dsn_bytes(original_message_id=reply.email_message_id))

    assert inbound.state == InboundMessage.State.PROCESSED and not inbound.created_ticket
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.BOUNCED
    assert "User unknown" in reply.delivery_error
    note = ticket.messages.get(visibility=Message.Visibility.INTERNAL)
    assert note.body_text.startswith("Delivery failure")
    assert note.author_role == Message.AuthorRole.SYSTEM
    notification = Notification.objects.get(kind=Notification.Kind.DELIVERY_FAILURE)
    assert notification.recipient == agent_user and notification.ticket == ticket


def test_a_bounce_of_unknown_mail_is_ignored():
    inbound = receive(dsn_bytes(original_message_id="not-ours@elsewhere.example"))

    assert inbound.state == InboundMessage.State.IGNORED
    assert not Ticket.objects.exists()


# --- attachments -----------------------------------------------------------------------------------


def test_an_oversized_attachment_is_listed_as_rejected_but_the_message_is_kept(settings):
    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 1000
    inbound = receive(
        factories.email_bytes(
            attachments=[
                ("small.txt", b"tiny", "text/plain"),
                ("huge.bin", b"x" * 5000, "application/octet-stream"),
            ]
        )
    )

    message = inbound.ticket_message
    assert message.body_text.startswith("Hello, my printer")
    small, huge = message.attachments.order_by("filename").reverse()
    assert small.filename == "small.txt" and not small.rejected_reason and small.file.read() == b"tiny"
    assert huge.filename == "huge.bin" and "limit" in huge.rejected_reason
    assert huge.size == 5000 and not huge.file


# --- quarantine, retry, idempotency ----------------------------------------------------------------


def test_non_mail_is_quarantined_with_its_error_and_kept():
    inbound = receive(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)

    assert inbound.state == InboundMessage.State.QUARANTINED
    assert "Outlook" in inbound.reason
    assert raw_mail_read(inbound).startswith(b"\xd0\xcf")


def test_empty_input_is_quarantined():
    assert receive(b"").state == InboundMessage.State.QUARANTINED


def test_store_refuses_text_instead_of_bytes():
    with pytest.raises(TypeError, match="bytes"):
        inbound_message_store(raw="From: a@b.c", source=InboundMessage.Source.FILE)


def test_a_processing_failure_quarantines_and_a_retry_processes_it(
    monkeypatch, django_capture_on_commit_callbacks
):
    real_open = intake.email_ticket_open

    def broken(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(intake, "email_ticket_open", broken)
    inbound = receive(factories.email_bytes())
    assert inbound.state == InboundMessage.State.QUARANTINED
    assert "RuntimeError: database hiccup" in inbound.reason
    assert not Ticket.objects.exists()

    monkeypatch.setattr(intake, "email_ticket_open", real_open)
    with django_capture_on_commit_callbacks() as callbacks:
        inbound_message_retry(inbound=inbound)
    assert len(callbacks) == 1  # the processing task is enqueued on commit
    assert tickets_process_inbound_message(inbound.pk) == "created"
    inbound.refresh_from_db()
    assert inbound.attempts == 2 and inbound.ticket is not None


def test_only_quarantined_messages_can_be_retried():
    inbound = receive(factories.email_bytes())

    with pytest.raises(ValueError, match="only quarantined"):
        inbound_message_retry(inbound=inbound)


def test_the_processing_task_run_twice_creates_one_ticket(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        inbound = inbound_message_store(raw=factories.email_bytes(), source=InboundMessage.Source.IMAP)
    assert len(callbacks) == 1

    assert tickets_process_inbound_message(inbound.pk) == "created"
    assert tickets_process_inbound_message(inbound.pk) == "created"

    inbound.refresh_from_db()
    assert inbound.attempts == 1
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1


# --- routing and acknowledgement -------------------------------------------------------------------


def test_a_new_ticket_goes_to_the_team_of_the_address_it_was_sent_to(team):
    team.email_address = "billing@helpdesk.localhost"
    team.save()

    inbound = receive(factories.email_bytes(to="Billing <billing@helpdesk.localhost>"))

    assert inbound.ticket.team == team


def test_auto_acknowledgement_is_an_automatic_public_message_that_is_not_a_first_response(team):
    team.auto_ack_enabled = True
    team.auto_ack_template = "Hi {{ customer.first_name }}, we got {{ reference }}."
    team.save()
    mailbox = Mailbox.objects.create(name="m", host="h", username="u", password="p", team=team)

    inbound = inbound_message_process(
        inbound=inbound_message_store(
            raw=factories.email_bytes(), source=InboundMessage.Source.IMAP, mailbox=mailbox, enqueue=False
        )
    )

    ticket = Ticket.objects.get(pk=inbound.ticket.pk)
    ack = ticket.messages.get(is_automatic=True)
    assert ack.body_text == f"Hi Alice, we got {ticket.reference}."
    assert ack.visibility == Message.Visibility.PUBLIC
    assert ack.delivery_status == Message.DeliveryStatus.QUEUED and ack.email_message_id
    assert ticket.first_response_at is None
    assert inbound.ticket_message.author_role == Message.AuthorRole.CUSTOMER


def test_a_reply_to_an_unknown_message_id_of_ours_threads_by_its_encoded_reference(ticket):
    from tickets.mail.threading import make_message_id

    lost_id = make_message_id(ticket.reference, "helpdesk.localhost", "gone1234").strip("<>")

    reply = receive(
        factories.email_bytes(from_=ticket.customer.email, subject="Re: hello", in_reply_to=f"<{lost_id}>")
    )
    stranger = receive(
        factories.email_bytes(
            from_="mallory@evil.example",
            message_id="<m@evil>",
            subject="Re: hello",
            in_reply_to=f"<{lost_id}>",
        )
    )

    assert reply.ticket == ticket
    assert stranger.created_ticket and stranger.ticket != ticket


def test_corpus_bounce_flags_our_message_when_we_sent_the_original(ticket, agent_user):
    # mail_malformed_2.eml is a real (malformed) DSN; pretend its original was our reply.
    reply = services.message_add(
        ticket=ticket, author_role=Message.AuthorRole.AGENT, author_user=agent_user, body_text="Answer"
    )
    Message.objects.filter(pk=reply.pk).update(
        email_message_id="004801d1fc84$01c934ac$b247f0b7$@infospacemail.com"
    )
    OutboundDelivery.objects.filter(message=reply).update(
        email_message_id="004801d1fc84$01c934ac$b247f0b7$@infospacemail.com"
    )

    inbound = receive((CORPORA / "mail-parser" / "mail_malformed_2.eml").read_bytes())

    assert inbound.state == InboundMessage.State.PROCESSED and inbound.ticket == ticket
    reply.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.BOUNCED
    assert ticket.messages.filter(
        visibility=Message.Visibility.INTERNAL, body_text__startswith="Delivery failure"
    ).exists()
