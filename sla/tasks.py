from celery import shared_task
from django.utils import timezone

from sla import services


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def sla_sweep_clocks() -> dict[str, int]:
    """Beat task: fire the SLA warnings and breaches that have come due; safe to run concurrently."""
    result = services.sla_sweep(now=timezone.now())
    return {"warned": result.warned, "breached": result.breached}
