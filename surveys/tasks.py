import logging
import random
import smtplib
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from surveys import selectors, services
from surveys.emails import survey_email_build

logger = logging.getLogger(__name__)

# The recipient or sender was refused: retrying the same message cannot help.
PERMANENT_SMTP_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused)
TRANSIENT_SMTP_ERRORS = (smtplib.SMTPException, OSError)


def _backoff(attempt: int) -> int:
    return min(3600, 60 * 2 ** max(0, attempt - 1)) + random.randint(0, 30)


@shared_task(bind=True, acks_late=True, max_retries=None, time_limit=90, soft_time_limit=60)
def surveys_send_invitation(self, invitation_id: int) -> str:
    """Send one due survey email; a second run (or a concurrent one) finds it claimed and returns."""
    invitation = services.survey_invitation_claim(invitation_id=invitation_id, now=timezone.now())
    if invitation is None:
        return "not due or already handled"
    message = survey_email_build(invitation)
    try:
        message.send()
    except PERMANENT_SMTP_ERRORS as error:
        services.survey_invitation_fail(invitation=invitation, error=f"refused: {error}")
        return "failed"
    except TRANSIENT_SMTP_ERRORS as error:
        if invitation.attempts >= settings.HELPDESK_SURVEY_MAX_ATTEMPTS:
            services.survey_invitation_fail(
                invitation=invitation, error=f"gave up after {invitation.attempts} attempts: {error}"
            )
            return "failed"
        countdown = _backoff(invitation.attempts)
        services.survey_invitation_release(
            invitation=invitation, error=str(error), retry_at=timezone.now() + timedelta(seconds=countdown)
        )
        logger.warning("Survey %s: sending failed (%s); retrying in %ss", invitation_id, error, countdown)
        # The database holds the new due time too, so the beat sweep retries even if this retry is lost.
        raise self.retry(exc=error, countdown=countdown) from error
    services.survey_invitation_mark_sent(
        invitation=invitation, message_id=message.extra_headers["Message-ID"], now=timezone.now()
    )
    return "sent"


@shared_task(acks_late=True, time_limit=120, soft_time_limit=100)
def surveys_send_due_invitations() -> int:
    """Beat task: recover interrupted sends, then queue every due invitation (claimed by the sender)."""
    now = timezone.now()
    recovered = services.survey_invitations_recover_stale(now=now)
    if recovered:
        logger.warning("Recovered %s survey invitation(s) interrupted while sending", recovered)
    due = selectors.survey_invitation_due_ids(now=now)
    for invitation_id in due:
        surveys_send_invitation.delay(invitation_id)
    return len(due)
