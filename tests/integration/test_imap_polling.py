"""IMAP polling against a real Dovecot on loopback: store raw, then mark seen or move; tickets follow."""

import pytest
from imapclient import IMAPClient

from tests import factories
from tickets.email.inbound import MailboxPollError, mailbox_poll
from tickets.email.raw_mail import raw_mail_key, raw_mail_read
from tickets.models import InboundMessage, Mailbox, Ticket
from tickets.tasks import tickets_poll_mailbox, tickets_poll_mailboxes, tickets_process_inbound_message

pytestmark = [pytest.mark.imap, pytest.mark.django_db]


def imap(dovecot) -> IMAPClient:
    client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10)
    client.login(dovecot.username, dovecot.password)
    return client


def deliver(dovecot, *raws: bytes) -> None:
    client = imap(dovecot)
    for raw in raws:
        client.append("INBOX", raw)
    client.logout()


def make_mailbox(dovecot, team, **kwargs) -> Mailbox:
    return Mailbox.objects.create(
        name="Support inbox",
        host=dovecot.host,
        port=dovecot.port,
        tls_mode=Mailbox.TlsMode.NONE,
        username=dovecot.username,
        password=dovecot.password,
        team=team,
        addresses=["support@example.test"],
        **kwargs,
    )


TWO_MESSAGES = (
    factories.email_bytes(message_id="<imap-1@example.com>"),
    factories.email_bytes(message_id="<imap-2@example.com>", from_="bob@example.com", subject="Second"),
)


def test_poll_stores_new_messages_marks_them_seen_and_they_become_tickets(
    dovecot, team, django_capture_on_commit_callbacks
):
    deliver(dovecot, *TWO_MESSAGES)
    mailbox = make_mailbox(dovecot, team)

    with django_capture_on_commit_callbacks() as callbacks:
        assert mailbox_poll(mailbox=mailbox) == 2
    assert len(callbacks) == 2  # two conversations: two processing tasks (HELPDESK_INBOUND_PARTITIONS)

    client = imap(dovecot)
    client.select_folder("INBOX")
    assert client.search(["UNSEEN"]) == []
    assert len(client.search(["SEEN"])) == 2
    client.logout()

    for inbound in InboundMessage.objects.all():
        assert inbound.source == InboundMessage.Source.IMAP and inbound.mailbox == mailbox
        assert inbound.raw_key == raw_mail_key(raw_mail_read(inbound))  # raw bytes in storage
        tickets_process_inbound_message(inbound.pk)
    assert Ticket.objects.filter(team=team).count() == 2

    # The next poll finds nothing new.
    assert mailbox_poll(mailbox=mailbox) == 0
    mailbox.refresh_from_db()
    assert mailbox.last_polled_at is not None and mailbox.last_error == ""


def test_poll_can_move_processed_messages_to_a_folder(dovecot, team):
    deliver(dovecot, *TWO_MESSAGES)
    mailbox = make_mailbox(
        dovecot, team, processed_action=Mailbox.ProcessedAction.MOVE, processed_folder="Processed"
    )

    assert mailbox_poll(mailbox=mailbox) == 2

    client = imap(dovecot)
    client.select_folder("INBOX")
    assert client.search(["ALL"]) == []
    client.select_folder("Processed")
    assert len(client.search(["ALL"])) == 2
    client.logout()
    assert InboundMessage.objects.count() == 2
    assert mailbox_poll(mailbox=mailbox) == 0


def test_a_wrong_password_is_recorded_on_the_mailbox(dovecot, team):
    mailbox = make_mailbox(dovecot, team)
    mailbox.password = "wrong"
    mailbox.save()

    with pytest.raises(MailboxPollError, match="Support inbox"):
        mailbox_poll(mailbox=mailbox)

    mailbox.refresh_from_db()
    assert mailbox.last_error
    assert not InboundMessage.objects.exists()
    # The task records the error and leaves the next try to the next beat.
    assert tickets_poll_mailbox(mailbox.pk) == 0


def test_the_beat_task_enqueues_one_poll_per_active_mailbox(dovecot, team, monkeypatch):
    make_mailbox(dovecot, team)
    Mailbox.objects.create(name="off", host="h", username="u", password="p", is_active=False)
    queued = []
    monkeypatch.setattr(tickets_poll_mailbox, "delay", queued.append)

    assert tickets_poll_mailboxes() == 1
    assert len(queued) == 1
