"""Hand a Celery task to the broker by name, surviving a broker outage.

By name, so services can enqueue work without importing `tickets.tasks` (which imports them). A
publish error (broker down) is logged as a warning and swallowed: the change that asked for the work
has committed, and the database row it left behind is what a beat sweep picks up later.
"""

import logging

from celery import current_app
from kombu.exceptions import KombuError

logger = logging.getLogger(__name__)


def enqueue(task: str, *args: object, countdown: float = 0) -> bool:
    """Publish `task(*args)`; False (and a warning) when the broker cannot be reached."""
    try:
        current_app.send_task(task, args=list(args), countdown=countdown or None)
    except (KombuError, OSError) as error:
        logger.warning("Could not enqueue %s%r (%s); a sweep will pick the work up", task, args, error)
        return False
    return True
