"""The whole email path with a real Celery worker (Redis), PostgreSQL and a real SMTP server."""

import email
from email import policy
from pathlib import Path

import pytest

from tests import factories
from tests.integration.workers import start_celery_worker, stop_worker, wait_for
from tickets import services
from tickets.email.inbound import inbound_message_store
from tickets.models import InboundMessage, Message

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(redis_url, tmp_path, smtp_server):
    from helpdesk.celery import app

    app.conf.broker_url = redis_url
    process = start_celery_worker(
        redis_url,
        tmp_path,
        name="email",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST=smtp_server.host,
        EMAIL_PORT=str(smtp_server.port),
        HELPDESK_NOTIFICATION_EMAILS="false",
    )
    yield process
    stop_worker(process, redis_url)


def test_stored_mail_is_processed_and_the_agent_reply_is_sent_by_the_worker(worker, smtp_server, agent_user):
    inbound = inbound_message_store(raw=factories.email_bytes(), source=InboundMessage.Source.IMAP)

    wait_for(
        lambda: InboundMessage.objects.get(pk=inbound.pk).state != InboundMessage.State.STORED,
        worker,
        what="the inbound message",
    )
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.PROCESSED and inbound.ticket is not None

    reply = services.message_add(
        ticket=inbound.ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="On it.",
    )
    wait_for(
        lambda: Message.objects.get(pk=reply.pk).delivery_status == Message.DeliveryStatus.SENT,
        worker,
        what="the reply email",
    )
    (raw,) = smtp_server.messages
    sent = email.message_from_bytes(raw, policy=policy.default)
    assert sent["In-Reply-To"] == "<first-1@mail.example.com>"
    assert sent["Message-ID"] == f"<{reply.email_message_id}>"
