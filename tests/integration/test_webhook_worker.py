"""A real Celery worker (Redis broker, PostgreSQL) delivers a webhook emitted by a ticket service."""

import time

import pytest
from django.db import transaction

from tests import factories
from tests.http_receiver import Receiver
from tests.integration.test_celery_worker import celery_worker_process  # noqa: F401 (fixture)
from tickets.models import WebhookDelivery, WebhookSubscription
from tickets.webhooks import protocol as webhook_protocol

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_delivers_a_signed_webhook_after_commit(celery_worker_process, redis_url):  # noqa: F811
    from helpdesk.celery import app

    app.conf.broker_url = redis_url
    receiver = Receiver()
    try:
        WebhookSubscription.objects.create(name="CRM", url=receiver.url, secret="k")
        with transaction.atomic():
            factories.ticket(team=factories.TeamFactory())
        delivery = WebhookDelivery.objects.get()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not receiver.requests:
            assert celery_worker_process.poll() is None, celery_worker_process.stdout.read()
            time.sleep(0.25)
        while time.monotonic() < deadline:
            delivery.refresh_from_db()
            if delivery.status == WebhookDelivery.State.DELIVERED:
                break
            time.sleep(0.25)
        assert delivery.status == WebhookDelivery.State.DELIVERED
        request = receiver.requests[0]
        assert webhook_protocol.verify(
            "k",
            timestamp=request["headers"]["X-Helpdesk-Timestamp"],
            signature=request["headers"]["X-Helpdesk-Signature"],
            body=request["body"],
            now=time.time(),
        )
    finally:
        receiver.close()
