"""Sessions in the database, read through Redis (SESSION_ENGINE when REDIS_URL is set).

Every request of a logged-in agent loads its session: with Django's `cached_db` engine that is one Redis
GET instead of a database query (and the ORM's Python around it). Writes go to the database first, so
the database stays the record: a Redis restart logs nobody out.

Two changes to `cached_db`, both for Redis being unreachable or losing data:

- **Fails open, like the rest of the system without Redis** (docs/security.md, "Recovery from outages"):
  a cache error reads as a miss, so the database answers, and a failed cache write or delete is logged
  and skipped. Stock `cached_db` answers 500 on a login, on a logout and on the first request of every
  session while Redis is down.
- **A cached copy lives at most `CACHED_SECONDS`** (stock: the whole session age, two weeks). A session
  ended in the database while Redis could not be told (a logout during an outage, rows deleted by an
  admin) stops working within that time; expiry itself is exact (a copy never outlives the database
  row's `expire_date`).
"""

import logging

from django.contrib.sessions.backends import cached_db
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

CACHED_SECONDS = 300
CACHE_ERRORS = (RedisError, OSError)


class _FailOpenCache:
    """The few cache calls `cached_db` makes, failing open and with a capped lifetime."""

    def __init__(self, cache) -> None:
        self._cache = cache

    def get(self, key: str):
        try:
            return self._cache.get(key)
        except CACHE_ERRORS as error:
            logger.warning("Session cache unavailable, reading the database: %s", error)
            return None

    def set(self, key: str, value, timeout: int) -> None:
        try:
            self._cache.set(key, value, min(timeout, CACHED_SECONDS))
        except CACHE_ERRORS as error:
            logger.warning("Session cache unavailable, not caching: %s", error)

    def delete(self, key: str) -> None:
        try:
            self._cache.delete(key)
        except CACHE_ERRORS as error:
            logger.warning(
                "Session cache unavailable, a cached copy may live %d s more: %s", CACHED_SECONDS, error
            )

    def __contains__(self, key: str) -> bool:
        try:
            return key in self._cache
        except CACHE_ERRORS as error:
            logger.warning("Session cache unavailable, asking the database: %s", error)
            return False  # `exists` then asks the database


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._cache = _FailOpenCache(self._cache)
