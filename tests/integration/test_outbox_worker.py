"""A worker killed (SIGKILL) in the middle of sending: after the lease the sweep delivers exactly once.

Real Celery workers against Redis and PostgreSQL, and a real SMTP server (aiosmtpd) that stalls the
first messages' DATA so the kill lands while the worker is inside the SMTP conversation.
"""

import asyncio
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import factories
from tests.conftest import free_port
from tests.integration.workers import start_celery_worker, stop_worker, wait_for
from tickets import services
from tickets.models import Message, Notification, OutboundDelivery
from tickets.outbox import services as outbox
from tickets.tasks import tickets_sweep_outbox

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2


@dataclass
class StallingSmtpSink:
    """Accepts mail, except that the first `stalls` messages hang in DATA (never accepted)."""

    stalls: int
    messages: list[bytes] = field(default_factory=list)
    stalled: int = 0
    all_stalled: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.stalled < self.stalls:
            self.stalled += 1
            if self.stalled == self.stalls:
                self.all_stalled.set()
            await asyncio.sleep(3600)
        self.messages.append(envelope.content)
        return "250 Message accepted for delivery"


@pytest.fixture
def stalling_smtp():
    from aiosmtpd.controller import Controller

    sink = StallingSmtpSink(stalls=2)
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def start_worker(redis_url, tmp_path, stalling_smtp):
    from helpdesk.celery import app

    app.conf.broker_url = redis_url
    _, port = stalling_smtp
    workers = []

    def start(name: str) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed with the process below)
        worker = start_celery_worker(
            redis_url,
            tmp_path,
            name=name,
            pool=("--pool", "threads", "--concurrency", "2"),
            output=log,
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(port),
            HELPDESK_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
        )
        workers.append((worker, log))
        return worker

    yield start
    for worker, log in workers:
        stop_worker(worker, redis_url)
        log.close()


def test_a_reply_and_a_notification_email_interrupted_by_sigkill_are_delivered_once_after_the_lease(
    start_worker, stalling_smtp, agent_user
):
    sink, _ = stalling_smtp
    first_worker = start_worker("first")
    ticket = factories.ticket(team=factories.TeamFactory())
    reply = services.message_add(
        ticket=ticket, author_role="agent", author_user=agent_user, body_text="On it."
    )
    notification = services.notification_create(
        recipient=agent_user, kind=Notification.Kind.ASSIGNMENT, ticket=ticket, title="Assigned to you"
    )
    deliveries = OutboundDelivery.objects.filter(
        pk__in=[
            OutboundDelivery.objects.get(message=reply).pk,
            OutboundDelivery.objects.get(
                kind=OutboundDelivery.Kind.NOTIFICATION, source_id=notification.pk
            ).pk,
        ]
    )

    # Both sends are inside the SMTP conversation when the worker is killed.
    wait_for(sink.all_stalled.is_set, what="the worker to start sending both emails")
    assert set(deliveries.values_list("state", flat=True)) == {OutboundDelivery.State.SENDING}
    first_worker.send_signal(signal.SIGKILL)
    first_worker.wait(timeout=10)
    assert sink.messages == []
    notification.refresh_from_db()
    assert notification.emailed_at is None  # nothing claims it was emailed

    # Until the lease expires nobody takes the rows over; then the beat sweep hands them to a new worker.
    wait_for(
        lambda: len(outbox.deliveries_due()) == 2, what="the lease to expire", seconds=LEASE_SECONDS + 30
    )
    start_worker("second")
    assert tickets_sweep_outbox() == 2
    wait_for(
        lambda: set(deliveries.values_list("state", flat=True)) == {OutboundDelivery.State.SENT},
        what="the second worker to deliver both",
    )

    assert len(sink.messages) == 2
    subjects = sorted(b"Assigned to you" in raw for raw in sink.messages)
    assert subjects == [False, True]
    assert list(deliveries.values_list("attempts", flat=True)) == [2, 2]
    reply.refresh_from_db()
    notification.refresh_from_db()
    assert reply.delivery_status == Message.DeliveryStatus.SENT
    assert notification.emailed_at is not None
    # Exactly once: a later sweep finds nothing to send.
    assert outbox.deliveries_due() == []
    assert tickets_sweep_outbox() == 0
    assert len(sink.messages) == 2
