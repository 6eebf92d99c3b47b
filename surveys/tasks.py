import logging

from celery import shared_task
from django.utils import timezone

from surveys import selectors, services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def surveys_send_due_invitations() -> int:
    """Beat task: hand every due invitation to the outbox (which sends, retries and recovers it).

    Each is claimed with a compare-and-swap, so a second run, or a second beat, queues nothing twice.
    """
    now = timezone.now()
    queued = 0
    for invitation_id in selectors.survey_invitation_due_ids(now=now):
        queued += services.survey_invitation_dispatch(invitation_id=invitation_id, now=now) is not None
    return queued
