"""The SLA sweep and its notification email run by a real Celery worker (Redis broker, PostgreSQL)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from sla import services as sla_services
from sla.models import ClockState, Metric, SlaClock
from sla.tasks import sla_sweep_clocks
from tests import factories
from tests.integration.test_celery_worker import celery_worker_process  # noqa: F401  (fixture)
from tickets.models import Notification, Priority

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_breaches_a_due_clock_and_emails_the_lead_once(
    celery_worker_process,  # noqa: F811
    redis_url,
):
    from helpdesk.celery import app

    app.conf.broker_url = redis_url
    team = factories.TeamFactory()
    team.lead = factories.AgentFactory(teams=[team]).user
    team.save()
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={(Priority.NORMAL, Metric.FIRST_RESPONSE): 3600},
    )
    ticket = factories.ticket(team=team, now=timezone.now() - timedelta(hours=2))
    sla_sweep_clocks.delay()
    deadline = time.monotonic() + 60
    notification = None
    while time.monotonic() < deadline:
        notification = Notification.objects.filter(ticket=ticket, kind=Notification.Kind.SLA_BREACH).first()
        if notification is not None and notification.emailed_at is not None:
            break
        assert celery_worker_process.poll() is None, celery_worker_process.stdout.read()
        time.sleep(0.25)
    assert SlaClock.objects.get(ticket=ticket).state == ClockState.BREACHED
    assert notification is not None and notification.recipient == team.lead
    assert notification.emailed_at is not None
