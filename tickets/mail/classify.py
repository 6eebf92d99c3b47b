"""Classify parsed inbound mail: auto-generated, bulk, bounce (DSN).

Pure functions over :class:`~tickets.mail.parsing.ParsedEmail`; no Django.

The intake layer typically does::

    c = classify(parsed)
    if c.is_bounce and c.delivery_status and c.delivery_status.original_message_id:
        flag_outbound_bounced(c.delivery_status.original_message_id, c.delivery_status)
    elif c.auto_generated:
        attach_without_notifying(...)   # never auto-reply to an auto-reply (RFC 3834)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser

from tickets.mail.parsing import ParsedAttachment, ParsedEmail

__all__ = [
    "Classification",
    "DeliveryStatus",
    "RecipientStatus",
    "classify",
    "is_from_own_address",
    "normalize_address",
]


@dataclass(frozen=True)
class RecipientStatus:
    """One per-recipient block of a ``message/delivery-status`` report (RFC 3464)."""

    address: str
    """Final-Recipient (lower case, without the ``rfc822;`` type)."""
    original_address: str | None
    action: str
    """``failed``, ``delayed``, ``delivered``, ``relayed`` or ``expanded`` (lower case)."""
    status: str
    """Enhanced status code such as ``5.1.1`` ('' if missing or malformed)."""
    diagnostic: str
    """Diagnostic-Code without its type, e.g. ``550 5.1.1 user unknown``."""
    remote_mta: str


@dataclass(frozen=True)
class DeliveryStatus:
    """Summary of a delivery status notification (bounce)."""

    original_message_id: str | None
    """Message-ID (no angle brackets) of the message that bounced: from the attached
    ``message/rfc822`` / ``text/rfc822-headers`` part, else the DSN's In-Reply-To /
    References."""
    failed_recipients: tuple[str, ...]
    action: str
    """Action of the first failed recipient (else of the first recipient)."""
    status: str
    diagnostic: str
    reporting_mta: str
    recipients: tuple[RecipientStatus, ...]

    @property
    def permanent(self) -> bool:
        """A hard bounce: a 5.x.x status (or ``failed`` without any status code)."""
        if self.status:
            return self.status.startswith("5")
        return self.action == "failed"


@dataclass(frozen=True)
class Classification:
    auto_generated: bool
    """Do not auto-reply, do not reopen/notify as if a human wrote it."""
    reason: str
    """First matching rule, e.g. ``'Auto-Submitted: auto-replied'``; '' for human mail."""
    reasons: tuple[str, ...]
    """All matching rules."""
    is_bulk: bool
    """Mailing list / newsletter (Precedence bulk|junk|list, List-Id, List-Unsubscribe)."""
    is_bounce: bool
    delivery_status: DeliveryStatus | None


_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_AUTO_PRECEDENCE = frozenset({"auto_reply", "auto-reply"})
_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_ORIGINAL_TYPES = frozenset(
    {
        "message/rfc822",
        "message/global",
        "text/rfc822-headers",
        "message/rfc822-headers",
        "message/global-headers",
    }
)
_BOUNCE_SUBJECT_RE = re.compile(
    r"undeliver|undelivered mail|delivery status notification|delivery (?:has )?failed|"
    r"delivery failure|mail delivery (?:failed|system)|returned mail|failure notice|"
    r"unzustellbar|nicht zugestellt|non remis|no se puede entregar|non recapitabile",
    re.I,
)
_STATUS_RE = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")
_MSGID_RE = re.compile(r"<([^<>\s]{1,995})>")


def classify(parsed: ParsedEmail) -> Classification:
    """Apply the auto-generated / bulk / bounce rules (docs/email-parsing.md)."""
    headers = parsed.headers
    reasons: list[str] = []
    is_bulk = False

    auto_submitted = _first_token(headers.get("auto-submitted", ""))
    if auto_submitted and auto_submitted != "no":
        reasons.append(f"Auto-Submitted: {auto_submitted}")
    if "x-autoreply" in headers:
        reasons.append("X-Autoreply")
    if "x-autorespond" in headers:
        reasons.append("X-Autorespond")
    precedence = _first_token(headers.get("precedence", ""))
    if precedence in _BULK_PRECEDENCE:
        reasons.append(f"Precedence: {precedence}")
        is_bulk = True
    elif precedence in _AUTO_PRECEDENCE:
        reasons.append(f"Precedence: {precedence}")
    if "x-auto-response-suppress" in headers:
        reasons.append("X-Auto-Response-Suppress")
    if parsed.return_path == "":
        reasons.append("empty Return-Path")
    if "list-id" in headers:
        reasons.append("List-Id")
        is_bulk = True
    if "list-unsubscribe" in headers:
        reasons.append("List-Unsubscribe")
        is_bulk = True

    report_type = _report_type(parsed)
    has_dsn_part = any(a.content_type in _DSN_TYPES for a in parsed.attachments)
    is_bounce = False
    delivery_status = None
    if report_type == "delivery-status" or has_dsn_part:
        is_bounce = True
        reasons.append("multipart/report (delivery-status)")
        delivery_status = _delivery_status(parsed)
    elif report_type:
        reasons.append(f"multipart/report ({report_type})")
    elif _looks_like_legacy_bounce(parsed):
        is_bounce = True
        reasons.append("bounce (mailer-daemon)")
        delivery_status = _legacy_delivery_status(parsed)
    if parsed.from_address.split("@", 1)[0] in ("mailer-daemon", "mailer_daemon"):
        reasons.append("From: MAILER-DAEMON")

    if is_bounce:  # the most specific reason first
        reasons.sort(key=lambda reason: not reason.startswith(("multipart/report", "bounce")))
    reasons = list(dict.fromkeys(reasons))
    return Classification(
        auto_generated=bool(reasons),
        reason=reasons[0] if reasons else "",
        reasons=tuple(reasons),
        is_bulk=is_bulk,
        is_bounce=is_bounce,
        delivery_status=delivery_status,
    )


def _first_token(value: str) -> str:
    return value.split(";", 1)[0].strip().strip('"').lower()


def _report_type(parsed: ParsedEmail) -> str:
    if parsed.content_type != "multipart/report":
        return ""
    msg = Message()
    try:
        msg["Content-Type"] = parsed.headers.get("content-type", "")
        value = msg.get_param("report-type")
    except Exception:
        return "unknown"
    if isinstance(value, tuple):
        value = value[2]
    return str(value or "unknown").strip().lower()


# -- DSN parsing ---------------------------------------------------------------


def _delivery_status(parsed: ParsedEmail) -> DeliveryStatus:
    blocks: list[dict[str, str]] = []
    for attachment in parsed.attachments:
        if attachment.content_type in _DSN_TYPES:
            blocks.extend(_parse_dsn_blocks(attachment.content))
    per_message = blocks[0] if blocks and "final-recipient" not in blocks[0] else {}
    recipients = tuple(
        _recipient(block) for block in blocks if "final-recipient" in block or "original-recipient" in block
    )
    return _summarise(
        recipients,
        reporting_mta=_strip_type(per_message.get("reporting-mta", "")),
        original_message_id=_original_message_id(parsed),
    )


def _summarise(
    recipients: tuple[RecipientStatus, ...], *, reporting_mta: str, original_message_id: str | None
) -> DeliveryStatus:
    failed = tuple(r for r in recipients if r.action == "failed")
    main = failed[0] if failed else (recipients[0] if recipients else None)
    return DeliveryStatus(
        original_message_id=original_message_id,
        failed_recipients=tuple(dict.fromkeys(r.address for r in failed if r.address)),
        action=main.action if main else "",
        status=main.status if main else "",
        diagnostic=main.diagnostic if main else "",
        reporting_mta=reporting_mta,
        recipients=recipients,
    )


def _parse_dsn_blocks(content: bytes) -> list[dict[str, str]]:
    """RFC 3464 fields: blocks of ``Name: value`` lines separated by blank lines."""
    text = content.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last: str | None = None
    for line in text.split("\n")[:5000]:
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, None
            continue
        if line[:1] in (" ", "\t") and last is not None:
            current[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        last = name.strip().lower()
        current.setdefault(last, value.strip())
    if current:
        blocks.append(current)
    return blocks


def _strip_type(value: str) -> str:
    """``rfc822; user@example.com`` -> ``user@example.com``."""
    _, sep, rest = value.partition(";")
    return (rest if sep else value).strip()


def _recipient(block: dict[str, str]) -> RecipientStatus:
    final = _strip_type(block.get("final-recipient", "")).strip("<>").lower()
    original = _strip_type(block.get("original-recipient", "")).strip("<>").lower() or None
    status_match = _STATUS_RE.search(block.get("status", ""))
    return RecipientStatus(
        address=final or (original or ""),
        original_address=original,
        action=block.get("action", "").strip().lower(),
        status=status_match.group(0) if status_match else "",
        diagnostic=_strip_type(block.get("diagnostic-code", "")),
        remote_mta=_strip_type(block.get("remote-mta", "")),
    )


def _original_message_id(parsed: ParsedEmail) -> str | None:
    for attachment in parsed.attachments:
        if attachment.content_type in _ORIGINAL_TYPES:
            message_id = _message_id_from_headers(attachment)
            if message_id:
                return message_id
    if parsed.in_reply_to:
        return parsed.in_reply_to[0]
    if parsed.references:
        return parsed.references[-1]
    return None


def _message_id_from_headers(attachment: ParsedAttachment) -> str | None:
    try:
        headers = BytesHeaderParser().parsebytes(attachment.content[: 256 * 1024])
        value = headers.get("Message-ID")
    except Exception:
        return None
    if not value:
        return None
    match = _MSGID_RE.search(str(value))
    if match:
        return match.group(1)
    token = str(value).strip().strip("<>")
    return token or None


# -- bounces without a DSN (qmail, old Exchange, ...) ---------------------------------


def _looks_like_legacy_bounce(parsed: ParsedEmail) -> bool:
    local = parsed.from_address.split("@", 1)[0]
    from_daemon = local in ("mailer-daemon", "mailer_daemon", "postmaster")
    if not (from_daemon or parsed.return_path == "" or "x-failed-recipients" in parsed.headers):
        return False
    return bool(_BOUNCE_SUBJECT_RE.search(parsed.subject)) or "x-failed-recipients" in parsed.headers


_QUOTED_MSGID_RE = re.compile(r"^\s*>?\s*message-id:\s*<([^<>\s]{1,995})>", re.I | re.M)


def _legacy_delivery_status(parsed: ParsedEmail) -> DeliveryStatus:
    failed = [a.strip().lower() for a in parsed.headers.get("x-failed-recipients", "").split(",") if "@" in a]
    recipients = tuple(
        RecipientStatus(
            address=a, original_address=None, action="failed", status="", diagnostic="", remote_mta=""
        )
        for a in failed
    )
    original = None
    for attachment in parsed.attachments:
        if attachment.content_type in _ORIGINAL_TYPES:
            original = _message_id_from_headers(attachment)
            if original:
                break
    if original is None:
        match = _QUOTED_MSGID_RE.search(parsed.text[:1_000_000])
        original = match.group(1) if match else None
    if original is None:
        original = _original_message_id(parsed)
    return _summarise(recipients, reporting_mta="", original_message_id=original)


# -- own addresses ---------------------------------------------------------------


def normalize_address(address: str) -> str:
    """Lower-case, strip angle brackets and a ``+tag`` (``Support+x@Ex.com`` -> ``support@ex.com``)."""
    value = address.strip().strip("<>").strip().lower()
    local, sep, domain = value.rpartition("@")
    if not sep:
        return value
    return f"{local.split('+', 1)[0]}@{domain}"


def is_from_own_address(parsed: ParsedEmail | str, own_addresses: Iterable[str]) -> bool:
    """True if the From address is one of ours (mail loop protection).

    Case-insensitive and plus-addressing aware on both sides: ``support+abc@x``
    equals ``support@x``.  Accepts a :class:`ParsedEmail` or a bare address.
    """
    sender = parsed if isinstance(parsed, str) else parsed.from_address
    if not sender or "@" not in sender:
        return False
    own = {normalize_address(a) for a in own_addresses if a and "@" in a}
    return normalize_address(sender) in own
