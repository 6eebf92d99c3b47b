"""The one retry policy for everything that leaves the system (pure: no Django imports).

Outbound email, reply callbacks and integrator webhooks all wait `backoff_seconds(attempt)` before the
next attempt after a transient failure, and give up after the configured number of attempts
(`HELPDESK_OUTBOX_MAX_ATTEMPTS`).
"""

import random
from collections.abc import Callable

BASE_SECONDS = 30.0
CAP_SECONDS = 6 * 3600.0


def backoff_seconds(
    attempt: int,
    *,
    base: float = BASE_SECONDS,
    cap: float = CAP_SECONDS,
    rng: Callable[[], float] = random.random,
) -> float:
    """Delay before attempt `attempt + 1`: exponential (base · 2^(attempt-1), capped) with equal jitter.

    Half the delay is fixed and half random, so retries after an outage spread out but never come
    sooner than half the exponential step.
    """
    step = min(cap, base * 2 ** max(0, attempt - 1))
    return step / 2 + rng() * step / 2
