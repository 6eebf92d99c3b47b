"""The whole email path with a real Celery worker (Redis), PostgreSQL and a real SMTP server."""

import email
import os
import subprocess
import sys
import time
from email import policy
from pathlib import Path

import pytest
from django.conf import settings

from tests import factories
from tickets import services
from tickets.email.inbound import inbound_message_store
from tickets.models import InboundMessage, Message

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(redis_url, tmp_path, smtp_server):
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "CELERY_BROKER_URL": redis_url,
        "HELPDESK_VAR_DIR": str(tmp_path),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": smtp_server.host,
        "EMAIL_PORT": str(smtp_server.port),
        "HELPDESK_NOTIFICATION_EMAILS": "false",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "helpdesk",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--hostname",
            f"pytest-email-{os.getpid()}@%h",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    from helpdesk.celery import app

    app.conf.broker_url = redis_url
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_for(condition, process, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "timed out waiting for the worker"
        time.sleep(0.25)


def test_stored_mail_is_processed_and_the_agent_reply_is_sent_by_the_worker(worker, smtp_server, agent_user):
    inbound = inbound_message_store(raw=factories.email_bytes(), source=InboundMessage.Source.IMAP)

    wait_for(lambda: InboundMessage.objects.get(pk=inbound.pk).state != InboundMessage.State.STORED, worker)
    inbound.refresh_from_db()
    assert inbound.state == InboundMessage.State.PROCESSED and inbound.ticket is not None

    reply = services.message_add(
        ticket=inbound.ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="On it.",
    )
    wait_for(lambda: Message.objects.get(pk=reply.pk).delivery_status == Message.DeliveryStatus.SENT, worker)
    (raw,) = smtp_server.messages
    sent = email.message_from_bytes(raw, policy=policy.default)
    assert sent["In-Reply-To"] == "<first-1@mail.example.com>"
    assert sent["Message-ID"] == f"<{reply.email_message_id}>"
