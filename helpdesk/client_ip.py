"""The one rule for "which address is this client": web-form rate limits, API throttles and login lockout.

Behind no proxy (HELPDESK_TRUSTED_PROXY_COUNT=0, the default) the client is REMOTE_ADDR and every
forwarding header is ignored, because anyone can send one. Behind N reverse proxies, each of which appends
the address it saw to the forwarding header (HELPDESK_CLIENT_IP_HEADER, X-Forwarded-For by default), the
client is the N-th entry from the right: entries further left were written by the client and prove nothing.
"""

import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The client's address as far as the configured trusted proxies vouch for it."""
    remote_addr = request.META.get("REMOTE_ADDR", "")
    proxy_count = settings.HELPDESK_TRUSTED_PROXY_COUNT
    if proxy_count <= 0:
        return remote_addr
    header_value = request.META.get(settings.HELPDESK_CLIENT_IP_HEADER, "")
    hops = [hop for hop in header_value.split(",") if hop.strip()]
    if len(hops) < proxy_count:
        # The request did not pass through every trusted proxy; its own header is not evidence.
        return remote_addr
    address = _valid_ip(hops[-proxy_count])
    if address is None:
        logger.warning(
            "Unparsable client address %r in %s; using REMOTE_ADDR",
            hops[-proxy_count],
            settings.HELPDESK_CLIENT_IP_HEADER,
        )
        return remote_addr
    return address
