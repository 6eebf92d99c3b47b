"""Work enqueued after commit survives a broker outage: the row stays for a sweep, a warning is logged."""

import logging

import pytest
from kombu.exceptions import OperationalError

from tests import factories
from tickets import enqueue
from tickets.email.inbound import inbound_message_store
from tickets.models import InboundMessage

pytestmark = pytest.mark.django_db


def test_stored_inbound_mail_survives_a_broker_outage(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    monkeypatch.setattr(enqueue.current_app, "send_task", broker_down)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        inbound = inbound_message_store(raw=factories.email_bytes(), source=InboundMessage.Source.IMAP)

    assert InboundMessage.objects.get(pk=inbound.pk).state == InboundMessage.State.STORED
    assert "tickets.tasks.tickets_process_inbound_message" in caplog.text


def test_enqueue_publishes_by_task_name(monkeypatch):
    sent = []
    monkeypatch.setattr(
        enqueue.current_app, "send_task", lambda name, args, countdown: sent.append((name, args, countdown))
    )

    assert enqueue.enqueue("tickets.tasks.tickets_deliver_outbound", 7, countdown=30) is True
    assert sent == [("tickets.tasks.tickets_deliver_outbound", [7], 30)]
