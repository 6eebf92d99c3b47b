"""The one way the system POSTs to a URL someone configured (webhook subscriptions): no SSRF.

Only http(s) URLs; the host is resolved and every address must be public (not loopback, private,
link-local, multicast, reserved or unspecified) unless the host is listed in
HELPDESK_OUTBOUND_HTTP_ALLOWED_HOSTS (internal receivers you trust; tests list their loopback receiver).
The connection goes to the address that was checked (no second lookup an attacker's DNS could change),
redirects are never followed, and failures are reported with generic reasons so the stored error cannot
serve as a port scanner.
"""

import http.client
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


class OutboundURLRefused(ValueError):
    """The URL may not be called: wrong scheme, no host, or an address that is not public."""


class OutboundConnectionError(OSError):
    """The receiver could not be reached (refused, timed out, TLS or DNS failure); deliberately vague."""


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def _is_allowed_host(host: str) -> bool:
    return host.lower() in {allowed.lower() for allowed in settings.HELPDESK_OUTBOUND_HTTP_ALLOWED_HOSTS}


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _split(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundURLRefused("Only http and https URLs are allowed.")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as error:
        raise OutboundURLRefused("The URL has an invalid port.") from error
    if not host:
        raise OutboundURLRefused("The URL has no host.")
    if parts.username or parts.password:
        raise OutboundURLRefused("Credentials in the URL are not allowed.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port or (443 if scheme == "https" else 80), path


def _resolve(host: str, port: int) -> list[str]:
    try:
        return list(
            dict.fromkeys(info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        )
    except (socket.gaierror, UnicodeError) as error:
        raise OutboundConnectionError("The receiver's host name could not be resolved.") from error


def _refuse_internal(host: str, addresses: list[str]) -> None:
    # Every address must be public: a host with one public and one internal record is refused too.
    if not _is_allowed_host(host) and any(not _is_public(address) for address in addresses):
        raise OutboundURLRefused(
            "The URL's host resolves to a loopback, private, link-local or reserved address; "
            "list it in HELPDESK_OUTBOUND_HTTP_ALLOWED_HOSTS if it is a trusted internal receiver."
        )


def _target(url: str) -> _Target:
    scheme, host, port, path = _split(url)
    addresses = _resolve(host, port)
    _refuse_internal(host, addresses)
    return _Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


def outbound_url_check(url: str) -> None:
    """Raise OutboundURLRefused for a URL that may not be called.

    Used when a URL is configured. A host that does not resolve yet passes; the delivery checks again
    (DNS answers change), and refuses it then.
    """
    _, host, port, _ = _split(url)
    try:
        addresses = _resolve(host, port)
    except OutboundConnectionError:
        return
    _refuse_internal(host, addresses)


def outbound_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST `body` to `url` and return the HTTP status; a 3xx is returned as it is, never followed.

    Raises OutboundURLRefused (never retry) or OutboundConnectionError (worth a retry).
    """
    target = _target(url)
    connection_class = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(target.host, target.port, timeout=timeout)

    def connect_to_checked_address(address, *args, **kwargs):
        # TLS still verifies the certificate against the host name; only the TCP peer is pinned.
        return socket.create_connection((target.address, address[1]), *args, **kwargs)

    connection._create_connection = connect_to_checked_address
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(65536)
        return response.status
    except (OSError, http.client.HTTPException) as error:
        raise OutboundConnectionError(
            "The receiver could not be reached or did not answer in time."
        ) from error
    finally:
        connection.close()
