"""A real Celery worker (Redis broker, PostgreSQL) delivers a webhook emitted by a ticket service."""

import time

import pytest
from django.db import transaction

from tests import factories
from tests.http_receiver import Receiver
from tests.integration.workers import wait_for
from tickets.models import WebhookDelivery, WebhookSubscription
from tickets.webhooks import protocol as webhook_protocol

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_delivers_a_signed_webhook_after_commit(celery_worker_process):
    receiver = Receiver()
    try:
        WebhookSubscription.objects.create(name="CRM", url=receiver.url, secret="k")
        with transaction.atomic():
            factories.ticket(team=factories.TeamFactory())
        delivery = WebhookDelivery.objects.get()
        wait_for(
            lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == WebhookDelivery.State.DELIVERED,
            celery_worker_process,
            what="the webhook delivery",
        )
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
