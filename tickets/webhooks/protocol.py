"""The webhook wire protocol: signatures and retry delays (pure: no Django imports).

Each POST carries
  X-Helpdesk-Event: ticket.created
  X-Helpdesk-Delivery: 42            (the same id on every retry: receivers dedupe on it)
  X-Helpdesk-Timestamp: 1767225600   (Unix seconds when this attempt was signed)
  X-Helpdesk-Signature: sha256=<hex>
where <hex> = HMAC-SHA256(key=secret, message=f"{timestamp}." + raw body bytes). Receivers
recompute it over the raw body, compare in constant time, and refuse timestamps older than a few
minutes, so a captured request cannot be replayed later.
"""

import hashlib
import hmac
import random
from collections.abc import Callable

SIGNATURE_HEADER = "X-Helpdesk-Signature"
TIMESTAMP_HEADER = "X-Helpdesk-Timestamp"
EVENT_HEADER = "X-Helpdesk-Event"
DELIVERY_HEADER = "X-Helpdesk-Delivery"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    *,
    timestamp: str,
    signature: str,
    body: bytes,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True if the signature is right and the timestamp is within `tolerance` seconds of `now`."""
    try:
        signed_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - signed_at) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, signed_at, body), signature or "")


def backoff_seconds(
    attempt: int, *, base: float = 30.0, cap: float = 6 * 3600.0, rng: Callable[[], float] = random.random
) -> float:
    """Delay before attempt `attempt + 1`: exponential (base · 2^(attempt-1), capped) with equal jitter.

    Half the delay is fixed and half random, so retries spread out but never come sooner than half
    the exponential step.
    """
    step = min(cap, base * 2 ** max(0, attempt - 1))
    return step / 2 + rng() * step / 2
