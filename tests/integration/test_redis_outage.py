"""A Redis outage loses nothing and duplicates nothing.

A private redis-server (free port, no persistence) is the broker and the cache; it is shut down while
customers and agents keep writing, then started again. Every request accepted during the outage is
answered with success once its data is committed, and is processed exactly once when Redis is back:
the stranded inbound message through the requeue sweep, and the emails queued in the outbox (the web-form
acknowledgement, the desk reply) through the outbox sweep, each reaching a real SMTP server once.
"""

import base64
import email
import subprocess
import time
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests import factories
from tests.conftest import free_port
from tests.integration.workers import start_celery_worker, stop_worker
from tickets.email.inbound import inbound_messages_requeue_stored
from tickets.models import InboundMessage, Message, OutboundDelivery, Ticket
from tickets.outbox.services import deliveries_due
from tickets.tasks import tickets_requeue_inbound_messages, tickets_sweep_outbox

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = "/usr/bin/redis-server"
POSTMARK_AUTH = "postmark:outage-s3cret"


class PrivateRedis:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.tmp_path = tmp_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.tmp_path,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ping = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
            if ping.stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("the private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


@pytest.fixture
def private_redis(tmp_path, settings):
    from helpdesk.celery import app

    redis = PrivateRedis(tmp_path)
    redis.start()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis.url}
    }
    previous_broker = app.conf.broker_url

    def use_broker(url: str) -> None:
        # Drop pooled connections so the next publish connects to `url`.
        app.conf.broker_url = url
        app._pool = None
        app.amqp._producer_pool = None

    use_broker(redis.url)
    yield redis
    redis.stop()
    use_broker(previous_broker)


def postmark_post(client, raw: bytes):
    import json

    payload = json.dumps(
        {
            "FromFull": {"Email": "bob@example.com", "Name": "Bob"},
            "RawEmail": raw.decode(),
            "OriginalRecipient": "support@helpdesk.localhost",
            "ToFull": [],
            "Attachments": [],
        }
    )
    auth = "Basic " + base64.b64encode(POSTMARK_AUTH.encode()).decode()
    return client.post(
        "/anymail/postmark/inbound/", payload, content_type="application/json", HTTP_AUTHORIZATION=auth
    )


@pytest.mark.skipif(not Path(REDIS_SERVER).exists(), reason=f"needs {REDIS_SERVER}")
def test_requests_accepted_during_a_redis_outage_are_processed_exactly_once_after_it(
    private_redis, settings, client, tmp_path, smtp_server
):
    settings.HELPDESK_EMAIL_WEBHOOK_PROVIDERS = ["postmark"]
    settings.ANYMAIL = {"WEBHOOK_SECRET": [POSTMARK_AUTH]}
    settings.HELPDESK_INBOUND_REQUEUE_AFTER_SECONDS = 0
    team = factories.TeamFactory()
    agent = factories.AgentFactory(teams=[team]).user
    existing = factories.ticket(team=team)
    api = APIClient()
    api.force_authenticate(agent)
    body = {
        "subject": "Printer",
        "customer_email": "carol@example.com",
        "customer_name": "Carol",
        "team": team.pk,
    }

    private_redis.stop()

    web_form = client.post(
        "/support/new/",
        {"name": "Dan", "email": "dan@example.com", "subject": "Refund", "message": "Please refund me."},
    )
    webhook = postmark_post(client, factories.email_bytes(message_id="<outage-1@example.com>"))
    created = api.post("/api/v1/tickets/", body, format="json")
    keyed = api.post(
        "/api/v1/tickets/", {**body, "subject": "Keyed"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    retried = api.post(
        "/api/v1/tickets/", {**body, "subject": "Keyed"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    client.force_login(agent)
    reply = client.post(f"/desk/tickets/{existing.pk}/", {"body": "On it.", "visibility": "public"})

    assert [web_form.status_code, webhook.status_code, created.status_code] == [302, 200, 201]
    assert [keyed.status_code, retried.status_code, reply.status_code] == [201, 201, 302]
    assert retried.json()["id"] == keyed.json()["id"]
    assert Ticket.objects.filter(subject="Keyed").count() == 1
    assert Ticket.objects.filter(subject__in=["Refund", "Printer"]).count() == 2
    assert existing.messages.filter(author_role=Message.AuthorRole.AGENT, body_text="On it.").count() == 1
    inbound = InboundMessage.objects.get()
    assert inbound.state == InboundMessage.State.STORED
    # The emails these requests caused are in the outbox, unsent: their publish failed with the broker.
    stranded = OutboundDelivery.objects.filter(state=OutboundDelivery.State.PENDING)
    acknowledgement = stranded.get(kind=OutboundDelivery.Kind.ACKNOWLEDGEMENT, to=["dan@example.com"])
    desk_reply = stranded.get(message__ticket=existing, message__body_text="On it.")

    private_redis.start()
    worker = start_celery_worker(
        private_redis.url,
        tmp_path,
        REDIS_URL=private_redis.url,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST=smtp_server.host,
        EMAIL_PORT=str(smtp_server.port),
        HELPDESK_INBOUND_REQUEUE_AFTER_SECONDS="0",
    )
    outbox = OutboundDelivery.objects.all()
    try:
        # The beat sweeps' tasks, published to the recovered broker, enqueue the stranded message and
        # the stranded emails.
        tickets_requeue_inbound_messages.delay()
        tickets_sweep_outbox.delay()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            inbound.refresh_from_db()
            unsent = outbox.exclude(state=OutboundDelivery.State.SENT)
            if inbound.state != InboundMessage.State.STORED and not unsent.exists():
                break
            assert worker.poll() is None, worker.stdout.read()
            time.sleep(0.25)
        # A second run of each sweep finds nothing left to do.
        assert inbound_messages_requeue_stored() == []
        assert deliveries_due() == []
        assert tickets_sweep_outbox() == 0
    finally:
        stop_worker(worker)

    assert inbound.state == InboundMessage.State.PROCESSED
    assert Ticket.objects.filter(customer__email="alice@example.com").count() == 1

    # Every email in the outbox (the stranded ones and those the worker queued) reached SMTP once.
    assert list(outbox.exclude(state=OutboundDelivery.State.SENT)) == []
    assert set(outbox.values_list("attempts", flat=True)) == {1}
    received = [
        (email.message_from_bytes(raw)["Message-ID"].strip("<>"), rcpts)
        for raw, rcpts in zip(smtp_server.messages, smtp_server.envelope_recipients, strict=True)
    ]
    assert sorted(mid for mid, _ in received) == sorted(outbox.values_list("email_message_id", flat=True))
    for delivery, recipient in [(acknowledgement, "dan@example.com"), (desk_reply, existing.customer.email)]:
        assert [rcpts for mid, rcpts in received if mid == delivery.email_message_id] == [[recipient]]
