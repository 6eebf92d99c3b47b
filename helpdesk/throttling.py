"""DRF throttles keyed on the project's one client-IP rule (helpdesk.client_ip), not on DRF's own."""

import logging

from redis.exceptions import RedisError
from rest_framework.throttling import ScopedRateThrottle

from helpdesk.client_ip import client_ip

logger = logging.getLogger(__name__)


class ClientIPScopedRateThrottle(ScopedRateThrottle):
    """ScopedRateThrottle whose anonymous identity is the trusted client address.

    DRF's default identity takes X-Forwarded-For verbatim when NUM_PROXIES is unset, so a client that
    rotates the header gets a fresh bucket on every request. Like the web-form limits it fails open when
    the cache is down: login lockout (django-axes) keeps its counters in the database and still holds.
    """

    def get_ident(self, request) -> str:
        return client_ip(request)

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as error:
            logger.warning(
                "Throttle %s not checked, the cache is unavailable (%s); allowing", self.scope, error
            )
            return True
