"""A real Celery worker against the real Redis broker and PostgreSQL database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests import factories
from tests.integration.workers import wait_for
from tickets import services
from tickets.models import Status, Ticket
from tickets.tasks import tickets_close_solved_tickets

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_runs_the_auto_close_task_from_redis(celery_worker_process):
    ticket = factories.ticket(team=factories.TeamFactory())
    services.ticket_change_status(
        ticket=ticket, status=Status.SOLVED, now=timezone.now() - timedelta(days=30)
    )
    tickets_close_solved_tickets.delay()
    wait_for(
        lambda: Ticket.objects.get(pk=ticket.pk).status == Status.CLOSED,
        celery_worker_process,
        what="the auto-close",
    )


def test_a_real_worker_sends_a_due_survey_once(celery_worker_process):
    from surveys.models import SurveyInvitation
    from surveys.tasks import surveys_send_due_invitations

    ticket = factories.ticket(team=factories.TeamFactory())
    services.ticket_change_status(
        ticket=ticket, status=Status.SOLVED, now=timezone.now() - timedelta(hours=2)
    )
    invitation = SurveyInvitation.objects.get(ticket=ticket)
    # Two sweeps queue the invitation twice; the compare-and-swap claim lets only one send it.
    surveys_send_due_invitations.delay()
    surveys_send_due_invitations.delay()
    wait_for(
        lambda: SurveyInvitation.objects.get(pk=invitation.pk).state == SurveyInvitation.State.SENT,
        celery_worker_process,
        what="the survey email",
    )
    invitation.refresh_from_db()
    assert invitation.attempts == 1
