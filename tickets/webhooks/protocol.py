"""The webhook wire protocol: headers and signatures (pure: no Django imports).

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
