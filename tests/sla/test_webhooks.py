"""`sla.warning` and `sla.breach` webhooks: emitted once per transition, in its transaction, team-scoped."""

from datetime import UTC, datetime, timedelta

import pytest

from sla import services as sla_services
from sla.models import Metric, SlaClock
from sla.services import sweep as sla_sweep_module
from tests import factories
from tickets import services
from tickets.models import Priority, WebhookDelivery, WebhookSubscription

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy(team):
    return factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={(Priority.NORMAL, Metric.FIRST_RESPONSE): (3600, False)},
        warn_percent=80,
    )


@pytest.fixture
def subscription():
    return WebhookSubscription.objects.create(
        name="CRM", url="https://crm.example.com/hook", secret="s", events=["sla.warning", "sla.breach"]
    )


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_the_sweep_emits_one_warning_and_one_breach_with_the_documented_payload(
    policy, team, subscription, django_capture_on_commit_callbacks
):
    ticket = factories.ticket(team=team, now=at(0))
    clock = SlaClock.objects.get(ticket=ticket)
    with django_capture_on_commit_callbacks() as callbacks:
        sla_services.sla_sweep(now=at(50))
    assert len(callbacks) == 1  # the delivery task is enqueued on commit
    sla_services.sla_sweep(now=at(55))
    sla_services.sla_sweep(now=at(61))
    sla_services.sla_sweep(now=at(70))
    warning, breach = WebhookDelivery.objects.order_by("pk")
    assert (warning.event, breach.event) == ("sla.warning", "sla.breach")
    assert warning.created_at == at(50) and breach.created_at == at(61)
    assert warning.payload["ticket"]["id"] == ticket.pk
    assert warning.payload["ticket"]["team"] == team.pk
    assert warning.payload["clock"] == {
        "id": clock.pk,
        "metric": "first_response",
        "sequence": 1,
        "policy": policy.pk,
        "target_seconds": 3600,
        "business_hours": False,
        "started_at": "2026-03-02T08:00:00Z",
        "warn_at": "2026-03-02T08:48:00Z",
        "due_at": "2026-03-02T09:00:00Z",
        "breached_at": None,
    }
    assert breach.payload["clock"]["breached_at"] == "2026-03-02T09:00:00Z"
    assert breach.payload["detected_by"] == "sweep"


def test_a_breach_noticed_by_a_reply_is_emitted_too(policy, team, agent_user, subscription):
    ticket = factories.ticket(team=team, now=at(0))
    services.message_add(
        ticket=ticket, author_role="agent", author_user=agent_user, body_text="Late", now=at(90)
    )
    [breach] = WebhookDelivery.objects.filter(event="sla.breach")
    assert breach.payload["detected_by"] == "ticket change"
    assert breach.payload["clock"]["breached_at"] == "2026-03-02T09:00:00Z"


def test_sla_webhooks_respect_the_subscriptions_team_and_events(policy, team):
    WebhookSubscription.objects.create(
        name="Other team", url="https://a.example.com/", secret="s", team=factories.TeamFactory()
    )
    WebhookSubscription.objects.create(
        name="Tickets only", url="https://b.example.com/", secret="s", events=["ticket.created"]
    )
    mine = WebhookSubscription.objects.create(
        name="Mine", url="https://c.example.com/", secret="s", team=team
    )
    factories.ticket(team=team, now=at(0))
    sla_services.sla_sweep(now=at(61))
    sla_deliveries = WebhookDelivery.objects.filter(event__startswith="sla.")
    assert {(d.subscription_id, d.event) for d in sla_deliveries} == {
        (mine.pk, "sla.warning"),
        (mine.pk, "sla.breach"),
    }


def test_a_rolled_back_transition_leaves_no_webhook(policy, team, agent_user, subscription, monkeypatch):
    factories.ticket(team=team, assignee=agent_user, now=at(0))

    def boom(*args, **kwargs):
        raise RuntimeError("notification failed")

    monkeypatch.setattr(sla_sweep_module, "announce", boom)
    with pytest.raises(RuntimeError):
        sla_services.sla_sweep(now=at(50))
    assert not WebhookDelivery.objects.exists()
    assert SlaClock.objects.get().warned_at is None
