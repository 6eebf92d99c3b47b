from celery import shared_task

from . import services


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def tickets_close_solved_tickets() -> int:
    """Beat task: close tickets solved longer ago than HELPDESK_AUTO_CLOSE_DAYS; safe to run twice."""
    return services.tickets_close_solved()
