"""Stored inbound messages are never stranded: a lost enqueue is made good by the beat sweep."""

from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from tests import factories
from tickets import enqueue, tasks
from tickets.email.inbound import inbound_message_store, inbound_messages_requeue_stored
from tickets.models import InboundMessage, Ticket

pytestmark = pytest.mark.django_db


def broker_down(*args, **kwargs):
    raise OperationalError("Error 111 connecting to redis: Connection refused.")


def test_a_message_stored_while_the_broker_is_down_is_kept_and_later_enqueued_by_the_sweep(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    # The store enqueues by task name (tickets/enqueue.py): the publish itself fails.
    monkeypatch.setattr(enqueue.current_app, "send_task", broker_down)
    arrived = timezone.now() - timedelta(minutes=10)

    with django_capture_on_commit_callbacks(execute=True):
        inbound = inbound_message_store(
            raw=factories.email_bytes(), source=InboundMessage.Source.POSTMARK, now=arrived
        )

    assert InboundMessage.objects.get().state == InboundMessage.State.STORED
    assert "Connection refused" in caplog.text  # the lost enqueue is logged, the sender sees success
    enqueued = []
    monkeypatch.setattr(enqueue.current_app, "send_task", lambda name, args, **kw: enqueued.append(*args))

    assert inbound_messages_requeue_stored() == [inbound.pk]
    assert enqueued == [inbound.pk]
    for pk in enqueued:
        tasks.tickets_process_inbound_message(pk)
    assert Ticket.objects.count() == 1
    assert inbound_messages_requeue_stored() == []  # processed: nothing left to requeue


def test_the_sweep_leaves_fresh_messages_to_their_own_enqueue(monkeypatch, settings):
    settings.HELPDESK_INBOUND_REQUEUE_AFTER_SECONDS = 120
    enqueued = []
    monkeypatch.setattr(enqueue.current_app, "send_task", lambda name, args, **kw: enqueued.append(*args))
    now = timezone.now()
    fresh = inbound_message_store(
        raw=factories.email_bytes(),
        source=InboundMessage.Source.IMAP,
        enqueue=False,
        now=now - timedelta(seconds=119),
    )
    old = inbound_message_store(
        raw=factories.email_bytes(message_id="<old@example.com>"),
        source=InboundMessage.Source.IMAP,
        enqueue=False,
        now=now - timedelta(seconds=121),
    )

    assert inbound_messages_requeue_stored(now=now) == [old.pk]
    assert fresh.pk not in enqueued


def test_a_message_processed_twice_by_a_requeue_creates_one_ticket(monkeypatch):
    monkeypatch.setattr(enqueue.current_app, "send_task", lambda *args, **kwargs: None)
    inbound = inbound_message_store(
        raw=factories.email_bytes(),
        source=InboundMessage.Source.IMAP,
        now=timezone.now() - timedelta(hours=1),
    )

    for pk in [inbound.pk, *inbound_messages_requeue_stored()]:
        tasks.tickets_process_inbound_message(pk)

    assert Ticket.objects.count() == 1
