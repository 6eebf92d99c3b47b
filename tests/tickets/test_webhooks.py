"""Outbound webhooks: what is emitted, the signature, retries with backoff, and no double delivery."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tests import factories
from tickets import services
from tickets.models import Status, WebhookDelivery, WebhookSubscription
from tickets.outbox import backoff
from tickets.tasks import tickets_deliver_webhook, tickets_sweep_outbox
from tickets.webhooks import protocol as webhook_protocol
from tickets.webhooks import services as webhooks

pytestmark = pytest.mark.django_db
State = WebhookDelivery.State


@pytest.fixture
def no_enqueue(monkeypatch):
    """Tests call the delivery function directly; record what would have been enqueued."""
    enqueued = []
    monkeypatch.setattr(webhooks, "_enqueue", enqueued.append)
    return enqueued


def subscribe(url="http://127.0.0.1:9/hook", **kwargs):
    return WebhookSubscription.objects.create(name="CRM", url=url, secret="s3cret", **kwargs)


def test_ticket_services_emit_created_updated_and_solved(
    no_enqueue, team, django_capture_on_commit_callbacks
):
    subscribe()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = factories.ticket(team=team)
        services.ticket_change_priority(ticket=ticket, priority="high")
        services.ticket_change_status(ticket=ticket, status=Status.SOLVED)
    events = list(WebhookDelivery.objects.order_by("pk").values_list("event", flat=True))
    assert events == ["ticket.created", "ticket.updated", "ticket.solved"]
    updated = WebhookDelivery.objects.get(event="ticket.updated")
    assert updated.payload["changes"] == [{"field": "priority", "old": "normal", "new": "high"}]
    assert updated.payload["ticket"]["reference"] == ticket.reference
    assert len(no_enqueue) == 3


def test_nothing_is_emitted_or_enqueued_when_the_transaction_rolls_back(no_enqueue, team):
    subscribe()
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.ticket(team=team)
        raise RuntimeError("rolled back")
    assert not WebhookDelivery.objects.exists()
    assert no_enqueue == []


def test_subscriptions_filter_by_event_team_and_active(no_enqueue, team):
    other = factories.TeamFactory()
    only_solved = subscribe(events=["ticket.solved"])
    only_other_team = subscribe(team=other)
    subscribe(is_active=False)
    everything = subscribe()
    factories.ticket(team=team)
    assert set(WebhookDelivery.objects.values_list("subscription", flat=True)) == {everything.pk}
    assert only_solved.deliveries.count() == only_other_team.deliveries.count() == 0


def test_other_apps_emit_their_events_through_webhooks_emit(no_enqueue, team):
    subscribe(events=["sla.breach"])
    deliveries = webhooks.webhooks_emit("sla.breach", {"ticket": 1, "due_at": timezone.now()}, team=team)
    assert [d.event for d in deliveries] == ["sla.breach"]
    with pytest.raises(ValueError, match="Unknown webhook event"):
        webhooks.webhooks_emit("sla.exploded", {})


def test_subscription_validation_refuses_unknown_event_names():
    subscription = WebhookSubscription(name="x", url="https://example.com/h", events=["ticket.eaten"])
    with pytest.raises(ValidationError, match="event names"):
        subscription.full_clean()


def test_delivery_is_signed_over_timestamp_and_raw_body(no_enqueue, team, receiver):
    server = receiver()
    subscribe(url=server.url)
    factories.ticket(team=team)
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()
    result = webhooks.webhook_deliver(delivery_id=delivery.pk, now=now)
    assert result.status == State.DELIVERED
    assert result.response_code == 200
    request = server.requests[0]
    headers, body = request["headers"], request["body"]
    assert headers["X-Helpdesk-Event"] == "ticket.created"
    assert headers["X-Helpdesk-Delivery"] == str(delivery.pk)
    timestamp = headers["X-Helpdesk-Timestamp"]
    # The documented algorithm, written out independently of the module that signs.
    expected = hmac.new(b"s3cret", timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Helpdesk-Signature"] == f"sha256={expected}"
    assert webhook_protocol.verify(
        "s3cret",
        timestamp=timestamp,
        signature=headers["X-Helpdesk-Signature"],
        body=body,
        now=now.timestamp(),
    )
    envelope = json.loads(body)
    assert envelope["event"] == "ticket.created"
    assert envelope["id"] == delivery.pk
    assert envelope["data"]["ticket"]["status"] == "new"


def test_verify_refuses_tampered_bodies_wrong_secrets_and_replays():
    body = b'{"a":1}'
    signature = webhook_protocol.sign("k", 1000, body)
    assert webhook_protocol.verify("k", timestamp="1000", signature=signature, body=body, now=1100)
    assert not webhook_protocol.verify("k", timestamp="1000", signature=signature, body=b'{"a":2}', now=1100)
    assert not webhook_protocol.verify("other", timestamp="1000", signature=signature, body=body, now=1100)
    assert not webhook_protocol.verify("k", timestamp="1000", signature=signature, body=body, now=1000 + 301)
    assert not webhook_protocol.verify("k", timestamp="1001", signature=signature, body=body, now=1100)
    assert not webhook_protocol.verify("k", timestamp="soon", signature=signature, body=body, now=1100)


def test_backoff_grows_exponentially_with_bounded_jitter():
    assert backoff.backoff_seconds(1, rng=lambda: 0.0) == 15
    assert backoff.backoff_seconds(1, rng=lambda: 1.0) == 30
    assert backoff.backoff_seconds(3, rng=lambda: 0.5) == 90
    assert backoff.backoff_seconds(30, rng=lambda: 1.0) == 6 * 3600


def test_a_500_is_retried_with_backoff_then_delivered(no_enqueue, team, receiver):
    server = receiver(codes=[500, 503])
    subscribe(url=server.url)
    factories.ticket(team=team)
    delivery = WebhookDelivery.objects.get()
    t0 = timezone.now()

    first = webhooks.webhook_deliver(delivery_id=delivery.pk, now=t0, rng=lambda: 0.5)
    assert (first.status, first.attempts, first.response_code) == (State.PENDING, 1, 500)
    assert first.next_attempt_at == t0 + timedelta(seconds=22.5)  # 30 s step, half fixed + half of half
    # Not due yet: nothing is sent.
    assert webhooks.webhook_deliver(delivery_id=delivery.pk, now=t0 + timedelta(seconds=20)) is None
    assert webhooks.webhook_deliveries_due(now=t0 + timedelta(seconds=20)) == []

    t1 = t0 + timedelta(seconds=23)
    assert webhooks.webhook_deliveries_due(now=t1) == [delivery.pk]
    second = webhooks.webhook_deliver(delivery_id=delivery.pk, now=t1, rng=lambda: 0.5)
    assert (second.status, second.attempts, second.response_code) == (State.PENDING, 2, 503)
    assert second.next_attempt_at == t1 + timedelta(seconds=45)  # 60 s step

    t2 = t1 + timedelta(seconds=46)
    third = webhooks.webhook_deliver(delivery_id=delivery.pk, now=t2)
    assert (third.status, third.attempts, third.delivered_at) == (State.DELIVERED, 3, t2)
    assert len(server.requests) == 3
    # Every retry is the same delivery with the same body.
    assert len({r["body"] for r in server.requests}) == 1


def test_network_errors_are_retried_and_recorded(no_enqueue, team):
    subscribe(url="http://127.0.0.1:9/closed-port")
    factories.ticket(team=team)
    delivery = webhooks.webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk, timeout=2)
    assert delivery.status == State.PENDING
    assert delivery.response_code is None
    # Generic on purpose: the stored error must not tell open, closed and filtered ports apart.
    assert delivery.error == "The receiver could not be reached or did not answer in time."


def test_a_4xx_fails_at_once_and_attempts_are_bounded(no_enqueue, team, receiver, settings):
    server = receiver(codes=[410])
    subscribe(url=server.url)
    factories.ticket(team=team)
    delivery = webhooks.webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk)
    assert (delivery.status, delivery.response_code) == (State.FAILED, 410)
    assert "410" in delivery.error

    flaky = receiver(codes=[500] * 20)
    WebhookSubscription.objects.update(url=flaky.url)
    delivery = WebhookDelivery.objects.get()
    assert webhooks.webhook_delivery_retry(delivery=delivery) is True
    now = timezone.now()
    attempts = settings.HELPDESK_OUTBOX_MAX_ATTEMPTS
    for _ in range(attempts):
        webhooks.webhook_deliver(delivery_id=delivery.pk, now=now)
        now += timedelta(days=1)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (State.FAILED, attempts)
    assert len(flaky.requests) == attempts


def test_the_sweep_never_sends_a_delivered_row_again(no_enqueue, team, receiver, monkeypatch):
    server = receiver()
    subscribe(url=server.url)
    factories.ticket(team=team)
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()
    webhooks.webhook_deliver(delivery_id=delivery.pk, now=now)

    later = now + timedelta(days=1)
    assert webhooks.webhook_deliveries_due(now=later) == []
    assert webhooks.webhook_deliver(delivery_id=delivery.pk, now=later) is None
    published = []
    monkeypatch.setattr("tickets.outbox.services.publish", lambda *args, **kwargs: published.append(args))
    assert tickets_sweep_outbox() == 0
    assert published == []
    assert len(server.requests) == 1
    delivery.refresh_from_db()
    assert webhooks.webhook_delivery_retry(delivery=delivery) is False


def test_two_claims_of_the_same_due_row_send_it_once(no_enqueue, team, receiver):
    server = receiver()
    subscribe(url=server.url)
    factories.ticket(team=team)
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()
    results = [webhooks.webhook_deliver(delivery_id=delivery.pk, now=now) for _ in range(2)]
    assert results[1] is None
    assert len(server.requests) == 1


def test_a_sending_row_whose_worker_died_is_retried_after_its_lease(no_enqueue, team, receiver):
    server = receiver()
    subscribe(url=server.url)
    factories.ticket(team=team)
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=State.SENDING, attempts=1, next_attempt_at=now + webhooks.LEASE
    )
    assert webhooks.webhook_deliveries_due(now=now) == []
    after_lease = now + webhooks.LEASE + timedelta(seconds=1)
    assert webhooks.webhook_deliveries_due(now=after_lease) == [delivery.pk]
    assert webhooks.webhook_deliver(delivery_id=delivery.pk, now=after_lease).status == State.DELIVERED
    assert len(server.requests) == 1


def test_admin_retries_only_failed_deliveries(admin_client, no_enqueue, team):
    subscription = subscribe()
    factories.ticket(team=team)
    failed = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=failed.pk).update(status=State.FAILED, attempts=8)
    delivered = WebhookDelivery.objects.create(
        subscription=subscription,
        event="ticket.updated",
        payload={},
        created_at=timezone.now(),
        status=State.DELIVERED,
    )
    response = admin_client.post(
        "/admin/tickets/webhookdelivery/",
        {"action": "action_retry", "_selected_action": [failed.pk, delivered.pk]},
        follow=True,
    )
    assert response.status_code == 200
    failed.refresh_from_db()
    delivered.refresh_from_db()
    assert (failed.status, failed.attempts) == (State.PENDING, 0)
    assert delivered.status == State.DELIVERED
    assert admin_client.get("/admin/tickets/webhooksubscription/").status_code == 200


def test_auto_close_emits_ticket_updated(no_enqueue, team):
    ticket = factories.ticket(team=team)
    services.ticket_change_status(
        ticket=ticket, status=Status.SOLVED, now=timezone.now() - timedelta(days=10)
    )
    subscribe(events=["ticket.updated"])
    assert services.tickets_close_solved() == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.payload["changes"] == [{"field": "status", "old": "solved", "new": "closed"}]
    assert delivery.payload["ticket"]["status"] == "closed"


def test_merge_emits_for_source_and_target(no_enqueue, team, customer):
    source, target = (
        factories.ticket(team=team, customer=customer),
        factories.ticket(team=team, customer=customer),
    )
    subscribe(events=["ticket.updated"])
    services.ticket_merge(source=source, target=target)
    payloads = {d.payload["ticket"]["id"]: d.payload["changes"] for d in WebhookDelivery.objects.all()}
    assert payloads[source.pk][1] == {"field": "merged_into", "old": None, "new": target.pk}
    assert payloads[target.pk] == [{"field": "merged_from", "old": None, "new": source.pk}]


def test_the_task_re_enqueues_itself_for_the_next_attempt_after_a_failure(
    no_enqueue, team, receiver, monkeypatch
):
    server = receiver(codes=[502])
    subscribe(url=server.url)
    factories.ticket(team=team)
    delivery = WebhookDelivery.objects.get()
    scheduled = []
    monkeypatch.setattr(
        "tickets.outbox.services.publish",
        lambda delivery_id, countdown, task: scheduled.append((delivery_id, countdown, task)),
    )
    assert tickets_deliver_webhook(delivery.pk) == State.PENDING
    assert scheduled[0][0] == delivery.pk and scheduled[0][2] == webhooks.DELIVER_TASK
    assert 0 < scheduled[0][1] <= 30
    assert tickets_deliver_webhook(delivery.pk) == "not due"
    assert len(server.requests) == 1
