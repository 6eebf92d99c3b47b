"""Pure email parsing for the helpdesk intake layer (no Django imports).

Public API::

    from tickets.mail import parse_email, extract_reply, classify

* :mod:`tickets.mail.parsing`  - :func:`parse_email` -> :class:`ParsedEmail`
* :mod:`tickets.mail.html_tree` / :mod:`tickets.mail.html_text` - HTML tree, HTML to text
* :mod:`tickets.mail.sanitize` - :func:`sanitize_html`, the one sanitising policy
* :mod:`tickets.mail.quotes`   - :func:`extract_reply`, :func:`extract_reply_html`
* :mod:`tickets.mail.classify` - :func:`classify`, :func:`is_from_own_address`, :func:`provider_notification`
* :mod:`tickets.mail.forwards` - :func:`split_forward`, :func:`attached_message`, :func:`is_forward_subject`
* :mod:`tickets.mail.threading` - Message-ID / subject / plus-address helpers

See ``docs/email-parsing.md`` for the conventions.
"""

from tickets.mail.classify import (
    Classification,
    DeliveryStatus,
    ProviderNotification,
    RecipientStatus,
    classify,
    is_from_own_address,
    normalize_address,
    provider_notification,
)
from tickets.mail.forwards import (
    Forward,
    ForwardedMessage,
    attached_message,
    is_forward_subject,
    split_forward,
)
from tickets.mail.parsing import (
    EmailParseError,
    ParsedAttachment,
    ParsedEmail,
    html_to_text,
    parse_email,
)
from tickets.mail.quotes import extract_reply, extract_reply_html
from tickets.mail.sanitize import sanitize_html
from tickets.mail.threading import (
    make_message_id,
    normalize_subject,
    reference_from_message_id,
    reference_from_subject,
    reply_address,
    reply_token_from_address,
    subject_with_reference,
)

__all__ = [
    "Classification",
    "DeliveryStatus",
    "EmailParseError",
    "Forward",
    "ForwardedMessage",
    "ParsedAttachment",
    "ParsedEmail",
    "ProviderNotification",
    "RecipientStatus",
    "attached_message",
    "classify",
    "extract_reply",
    "extract_reply_html",
    "html_to_text",
    "is_forward_subject",
    "is_from_own_address",
    "make_message_id",
    "normalize_address",
    "normalize_subject",
    "parse_email",
    "provider_notification",
    "reference_from_message_id",
    "reference_from_subject",
    "reply_address",
    "reply_token_from_address",
    "sanitize_html",
    "split_forward",
    "subject_with_reference",
]
