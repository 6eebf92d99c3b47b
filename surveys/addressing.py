"""Survey tokens inside email addresses and Message-IDs (pure: no Django imports).

A survey email carries its invitation token twice, so that a customer's reply can be routed to the
survey instead of becoming a ticket:

* Reply-To: ``<mailbox>+survey-<token>@<domain>`` (sub-addressing on the support mailbox), and
* Message-ID: ``<survey-<token>@<domain>>`` (the reply's In-Reply-To / References name it).

Tokens are ``<invitation id>-<32 base32 characters>``, lower case, so a mail system that changes
the case of addresses does not break them (the matchers lower-case what they find).
"""

from __future__ import annotations

import re
from email.utils import getaddresses

from tickets.mail.threading import split_sub_address, with_sub_address

__all__ = [
    "TOKEN_PATTERN",
    "invitation_token_from_address",
    "invitation_token_from_message_id",
    "is_token",
    "reply_address",
    "survey_message_id_for",
]

TOKEN_PATTERN = r"[0-9]{1,18}-[a-z2-7]{32}"
_TOKEN_RE = re.compile(rf"{TOKEN_PATTERN}\Z")
_TAG_RE = re.compile(rf"survey-({TOKEN_PATTERN})", re.IGNORECASE)
_MESSAGE_ID_RE = re.compile(rf"<\s*survey-({TOKEN_PATTERN})@[^<>\s]+\s*>", re.IGNORECASE)
MAX_HEADER = 20_000


def is_token(value: object) -> bool:
    return isinstance(value, str) and bool(_TOKEN_RE.match(value))


def reply_address(token: str, mailbox: str) -> str:
    """``support@example.com`` + token -> ``support+survey-<token>@example.com``.

    An existing sub-address on the mailbox (``support+eu@...``) is replaced, not nested.
    """
    if split_sub_address(mailbox) is None:
        raise ValueError(f"{mailbox!r} is not an email address (expected local@domain)")
    return with_sub_address(mailbox, f"survey-{token}")


def survey_message_id_for(token: str, domain: str) -> str:
    return f"<survey-{token}@{domain}>"


def invitation_token_from_address(address: str) -> str | None:
    """The survey token in a recipient address (or a To/Cc/Delivered-To header value), else None.

    Accepts a bare address, ``Name <address>`` or a comma-separated header; the first survey
    address wins. Never raises for a string.
    """
    if not isinstance(address, str) or not address:
        return None
    for _name, addr in getaddresses([address[:MAX_HEADER]]):
        parts = split_sub_address(addr)
        match = _TAG_RE.fullmatch(parts[1]) if parts else None
        if match:
            return match.group(1).lower()
    return None


def invitation_token_from_message_id(value: str) -> str | None:
    """The survey token in a Message-ID, In-Reply-To or References header value, else None."""
    if not isinstance(value, str) or not value:
        return None
    match = _MESSAGE_ID_RE.search(value[:MAX_HEADER])
    return match.group(1).lower() if match else None
