"""Two workers processing the same stored message at once create exactly one ticket (PostgreSQL row locks)."""

import threading

import pytest
from django.db import connection

from tests import factories
from tickets.email.inbound import inbound_message_process, inbound_message_store
from tickets.models import InboundMessage, Ticket

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_processing_of_one_message_creates_one_ticket():
    inbound = inbound_message_store(
        raw=factories.email_bytes(), source=InboundMessage.Source.IMAP, enqueue=False
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            inbound_message_process(inbound=inbound.pk)
        except BaseException as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.PROCESSED and inbound.attempts == 1
    assert Ticket.objects.count() == 1


def test_two_copies_of_one_message_processed_at_once_yield_one_ticket_and_one_duplicate():
    raw = factories.email_bytes()
    copies = [
        inbound_message_store(raw=raw, source=InboundMessage.Source.IMAP, enqueue=False).pk for _ in range(2)
    ]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(pk: int) -> None:
        try:
            barrier.wait()
            inbound_message_process(inbound=pk)
        except BaseException as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(pk,)) for pk in copies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    states = sorted(InboundMessage.objects.values_list("state", flat=True))
    assert Ticket.objects.count() == 1
    assert states == ["duplicate", "processed"]
