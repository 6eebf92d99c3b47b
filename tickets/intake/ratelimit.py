"""Fixed-window rate limits on Django's cache (Redis in production, so every web process shares them).

A limit is a guard against abuse, not a reason to lose a customer's request: when the cache cannot be
reached the attempt is allowed and a warning is logged (fail open).
"""

import hashlib
import logging

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def rate_limit_exceeded(*, scope: str, identity: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt by `identity` in `scope`; True once it is over `limit` within the window."""
    digest = hashlib.sha256(identity.strip().lower().encode()).hexdigest()[:32]
    key = f"ratelimit:{scope}:{digest}"
    try:
        # add() only sets a missing key, so the window starts at the first attempt and is never extended.
        cache.add(key, 0, timeout=window_seconds)
        try:
            count = cache.incr(key)
        except ValueError:
            # The key expired between add() and incr(): this attempt opens a new window.
            cache.set(key, 1, timeout=window_seconds)
            count = 1
    except (RedisError, OSError) as error:
        logger.warning("Rate limit %s not checked, the cache is unavailable (%s); allowing", scope, error)
        return False
    return count > limit
