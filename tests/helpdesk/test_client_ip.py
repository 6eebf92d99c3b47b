"""The one client-IP rule: forwarding headers count only as far as the configured trusted proxies vouch."""

import pytest
from django.test import RequestFactory

from helpdesk.client_ip import client_ip


def request_from(remote_addr: str = "203.0.113.7", **headers):
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers)


def test_without_a_trusted_proxy_forwarding_headers_are_ignored(settings):
    settings.HELPDESK_TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_from(HTTP_X_FORWARDED_FOR="198.51.100.1")) == "203.0.113.7"


@pytest.mark.parametrize(
    ("count", "forwarded_for", "expected"),
    [
        # One proxy appends what it saw; whatever the client wrote to the left is ignored.
        (1, "1.1.1.1, 198.51.100.1", "198.51.100.1"),
        (2, "1.1.1.1, 198.51.100.1, 10.0.0.2", "198.51.100.1"),
        # Fewer hops than trusted proxies: the header did not come through them all.
        (2, "198.51.100.1", "203.0.113.7"),
        (1, "not-an-address", "203.0.113.7"),
        (1, "", "203.0.113.7"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_behind_trusted_proxies_the_address_they_appended_is_the_client(
    settings, count, forwarded_for, expected
):
    settings.HELPDESK_TRUSTED_PROXY_COUNT = count
    assert client_ip(request_from(HTTP_X_FORWARDED_FOR=forwarded_for)) == expected


def test_the_header_a_proxy_sets_is_configurable(settings):
    settings.HELPDESK_TRUSTED_PROXY_COUNT = 1
    settings.HELPDESK_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    request = request_from(HTTP_X_REAL_IP="198.51.100.9", HTTP_X_FORWARDED_FOR="1.1.1.1")
    assert client_ip(request) == "198.51.100.9"
