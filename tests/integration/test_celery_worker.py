"""A real Celery worker against the real Redis broker and PostgreSQL database."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tests import factories
from tickets import services
from tickets.models import Status, Ticket
from tickets.tasks import tickets_close_solved_tickets

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def start_celery_worker(broker_url: str, tmp_path: Path, **extra_env: str) -> subprocess.Popen:
    """A real worker process on `broker_url` and the test database; `extra_env` overrides settings."""
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        # pytest-django renamed the database to test_<name>; the worker must use the same one.
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "CELERY_BROKER_URL": broker_url,
        "HELPDESK_VAR_DIR": str(tmp_path),
        "HELPDESK_OUTBOUND_HTTP_ALLOWED_HOSTS": "127.0.0.1",  # the loopback webhook receiver
        **extra_env,
    }
    return subprocess.Popen(
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
            f"pytest-{os.getpid()}@%h",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def celery_worker_process(redis_url, tmp_path):
    worker = start_celery_worker(redis_url, tmp_path)
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


def test_a_real_worker_runs_the_auto_close_task_from_redis(celery_worker_process, redis_url, settings):
    from helpdesk.celery import app

    app.conf.broker_url = redis_url
    ticket = factories.ticket(team=factories.TeamFactory())
    services.ticket_change_status(
        ticket=ticket, status=Status.SOLVED, now=timezone.now() - timedelta(days=30)
    )
    tickets_close_solved_tickets.delay()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if Ticket.objects.get(pk=ticket.pk).status == Status.CLOSED:
            break
        assert celery_worker_process.poll() is None, celery_worker_process.stdout.read()
        time.sleep(0.25)
    assert Ticket.objects.get(pk=ticket.pk).status == Status.CLOSED


def test_a_real_worker_sends_a_due_survey_once(celery_worker_process, redis_url):
    from helpdesk.celery import app
    from surveys.models import SurveyInvitation
    from surveys.tasks import surveys_send_due_invitations

    app.conf.broker_url = redis_url
    ticket = factories.ticket(team=factories.TeamFactory())
    services.ticket_change_status(
        ticket=ticket, status=Status.SOLVED, now=timezone.now() - timedelta(hours=2)
    )
    invitation = SurveyInvitation.objects.get(ticket=ticket)
    # Two sweeps queue the invitation twice; the compare-and-swap claim lets only one send it.
    surveys_send_due_invitations.delay()
    surveys_send_due_invitations.delay()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        invitation.refresh_from_db()
        if invitation.state == SurveyInvitation.State.SENT:
            break
        assert celery_worker_process.poll() is None, celery_worker_process.stdout.read()
        time.sleep(0.25)
    assert invitation.state == SurveyInvitation.State.SENT
    assert invitation.attempts == 1
