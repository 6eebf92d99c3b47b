"""The SLA sweep and its notification email run by a real Celery worker (Redis broker, PostgreSQL)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sla import services as sla_services
from sla.models import ClockState, Metric, SlaClock
from sla.tasks import sla_sweep_clocks
from tests import factories
from tests.integration.workers import wait_for
from tickets.models import Notification, Priority

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_breaches_a_due_clock_and_emails_the_lead_once(celery_worker_process):
    team = factories.TeamFactory()
    team.lead = factories.AgentFactory(teams=[team]).user
    team.save()
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={(Priority.NORMAL, Metric.FIRST_RESPONSE): 3600},
    )
    ticket = factories.ticket(team=team, now=timezone.now() - timedelta(hours=2))
    sla_sweep_clocks.delay()
    breach_emailed = Notification.objects.filter(
        ticket=ticket, kind=Notification.Kind.SLA_BREACH, emailed_at__isnull=False
    )
    wait_for(breach_emailed.exists, celery_worker_process, what="the breach notification email")
    notification = breach_emailed.get()
    assert SlaClock.objects.get(ticket=ticket).state == ClockState.BREACHED
    assert notification is not None and notification.recipient == team.lead
    assert notification.emailed_at is not None
