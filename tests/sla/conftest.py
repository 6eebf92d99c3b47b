import pytest

from tickets import enqueue
from tickets.models import OutboundDelivery
from tickets.outbox import services as outbox


@pytest.fixture(autouse=True)
def email_queue(monkeypatch) -> list[int]:
    """Ids of the notifications whose email was handed to the broker (nothing reaches a broker)."""
    queued: list[int] = []

    def send_task(name, args, countdown):
        delivery = (
            OutboundDelivery.objects.filter(pk=args[0]).first() if name == outbox.DELIVER_TASK else None
        )
        if delivery is not None and delivery.kind == OutboundDelivery.Kind.NOTIFICATION:
            queued.append(delivery.source_id)

    monkeypatch.setattr(enqueue.current_app, "send_task", send_task)
    return queued
