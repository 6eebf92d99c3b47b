from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def sla_sweep_clocks() -> dict[str, int]:
    """Beat task: fire the SLA warnings and breaches that have come due; safe to run concurrently."""
    result = services.sla_sweep(now=timezone.now())
    return {"warned": result.warned, "breached": result.breached}


@shared_task(bind=True, acks_late=True, max_retries=8, time_limit=120, soft_time_limit=90)
def sla_send_notification_email(self, notification_id: int) -> bool:
    """Email an SLA notification once; SMTP and connection errors are retried with backoff and jitter."""
    try:
        return services.notification_email_send(notification_id=notification_id)
    except OSError as error:  # smtplib.SMTPException is an OSError, as are refused connections and timeouts
        raise self.retry(exc=error, countdown=services.retry_countdown(self.request.retries)) from error
