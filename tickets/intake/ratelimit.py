"""Fixed-window rate limits on Django's cache (Redis in production, so every web process shares them)."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def rate_limit_exceeded(*, scope: str, identity: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt by `identity` in `scope`; True once it is over `limit` within the window."""
    digest = hashlib.sha256(identity.strip().lower().encode()).hexdigest()[:32]
    key = f"ratelimit:{scope}:{digest}"
    # add() only sets a missing key, so the window starts at the first attempt and is never extended.
    cache.add(key, 0, timeout=window_seconds)
    try:
        count = cache.incr(key)
    except ValueError:
        # The key expired between add() and incr(): this attempt opens a new window.
        cache.set(key, 1, timeout=window_seconds)
        count = 1
    return count > limit


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the header a trusted proxy sets (HELPDESK_CLIENT_IP_HEADER, e.g. HTTP_X_REAL_IP)."""
    header = settings.HELPDESK_CLIENT_IP_HEADER
    if header and request.META.get(header):
        # X-Forwarded-For style lists: the proxy appends the client it saw last.
        return request.META[header].split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")
