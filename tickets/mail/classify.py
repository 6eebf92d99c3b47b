# ruff: noqa: RUF001  (localized auto-reply subjects: full-width colon and CJK characters are intended)
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

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser

from tickets.mail.parsing import ParsedAttachment, ParsedEmail
from tickets.mail.threading import normalize_subject

__all__ = [
    "Classification",
    "DeliveryStatus",
    "ProviderNotification",
    "RecipientStatus",
    "classify",
    "is_from_own_address",
    "normalize_address",
    "provider_notification",
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
    is_feedback_report: bool = False
    """A feedback-loop / abuse report (ARF, Hotmail JMRP, a provider's complaint notification)."""


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
# Subjects that say "bounce" unambiguously, whoever sent the message.
_BOUNCE_SUBJECT_RE = re.compile(
    r"undeliver|undelivered mail|delivery status notification|delivery (?:has )?failed|"
    r"delivery failure|mail delivery (?:failed|system)|returned mail|failure notice|"
    r"could not be delivered|nondeliverable|non-delivery|bounce notification|"
    r"unzustellbar|nicht zugestellt|non remis|no se puede entregar|non recapitabile|"
    r"non consegnato|niet bezorgd|onbestelbaar|kan ikke leveres|kunde inte levereras|"
    r"nie można dostarczyć|не доставлено|недоставлен|"
    r"メールエラー|配信できません|配送エラー|未達|退信|投递失败|无法投递",
    re.I,
)
# Looser words that only mean "bounce" when a mail system sent the message ("Warning: could not send
# message for past 4 hours", "failed delivery", "Mail failure - malformed recipient address").
_DAEMON_BOUNCE_SUBJECT_RE = re.compile(
    r"could not send|error sending|failed delivery|failure delivery|mail failure|delayed mail|"
    r"message .{0,80} delayed|delivery (?:problem|notification)|rejected|bounced|送信エラー",
    re.I,
)
# Local parts of the addresses mail systems send their notices from (RFC 3464/5321 conventions
# and what real servers use).
_DAEMON_LOCALS = frozenset(
    {"mailer-daemon", "mailer_daemon", "mailerdaemon", "postmaster", "post_master", "mail.delivery.system"}
)
_DAEMON_NAMES = ("mailer-daemon", "mailer_daemon", "mail delivery", "postmaster", "mail administrator")
# A line of an RFC 3464 report, or an SMTP reply, quoted in the text of a bounce whose MIME structure
# is broken or absent (qmail, Exim, DragonFly, Verizon, ...).
_DSN_LINE_RE = re.compile(
    r"^\s*(?:final-recipient|original-recipient|diagnostic-code|remote-mta):", re.I | re.M
)
_SMTP_REPLY_RE = re.compile(r"\b[45][0-7]\d(?:[ -]+[245]\.\d{1,3}\.\d{1,3}|[ -]+-?\s*[A-Za-z])")
_FEEDBACK_TYPES = frozenset({"message/feedback-report"})
# Hotmail's junk-mail reporting program (JMRP) sends a plain multipart/mixed with the reported
# message attached; the attachment carries this header.
_JMRP_HEADER = "x-hmxmroriginalrecipient"
# Localized subject prefixes of auto-replies that carry none of the RFC 3834 headers.
_AUTO_REPLY_SUBJECT_RE = re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)?(?:"
    r"auto(?:matic)?[ -]?(?:reply|response|respons|answer)|out of (?:the )?office|"
    r"abwesenheitsnotiz|automatische antwort|"
    r"réponse automatique|reponse automatique|"
    r"risposta automatica|respuesta automática|respuesta automatica|resposta automática|"
    r"resposta automatica|automatisch antwoord|afwezigheidsbericht|automatisk svar|"
    r"autosvar|automaattinen vastaus|poissaoloviesti|automatyczna odpowiedź|"
    r"автоответ|автоматический ответ|automatická odpověď|automatikus válasz|"
    r"otomatik yanıt|αυτόματη απάντηση|răspuns automat|"
    r"自動応答|自動返信|自动回复|自動回覆|자동 응답"
    r")(?:\s*[:：]|\s*$|\s+-|\s+\()",
    re.I,
)
_LIST_SERVER_HEADERS = ("x-mlserver", "mailing-list", "x-mailman-version", "x-ml-name")
_LIST_MANAGER_LOCALS = frozenset({"mailman", "majordomo", "listserv", "sympa", "ezmlm", "fml", "lyris"})
_LIST_MANAGER_SUFFIXES = ("-admin", "-owner", "-request", "-bounces", "-ctl")
_LIST_NOTICE_SUBJECT_RE = re.compile(
    r"not (?:a )?member|loop alert|awaits? moderator|requires? approval|subscription|"
    r"unsubscri|welcome to|confirm|posting .{0,40} (?:held|rejected)|duplicated message-id",
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
    is_feedback = False
    delivery_status = None
    notification = provider_notification(parsed)
    if report_type == "delivery-status" or has_dsn_part:
        is_bounce = True
        reasons.append("multipart/report (delivery-status)")
        delivery_status = _delivery_status(parsed)
    elif report_type == "feedback-report" or any(
        a.content_type in _FEEDBACK_TYPES for a in parsed.attachments
    ):
        # ARF (RFC 5965): a recipient's complaint, whatever the subject says ("complaint about ...").
        is_feedback = True
        reasons.append("feedback report (ARF)")
    elif report_type:
        reasons.append(f"multipart/report ({report_type})")
    elif _is_jmrp_report(parsed):
        is_feedback = True
        reasons.append("feedback report (Hotmail JMRP)")
    elif notification is not None:
        reasons.append(f"provider notification ({notification.provider}: {notification.kind})")
        is_bounce = notification.delivery_status is not None
        is_feedback = notification.kind.lower() == "complaint"
        delivery_status = notification.delivery_status
    elif _looks_like_legacy_bounce(parsed):
        is_bounce = True
        reasons.append("bounce (mailer-daemon)")
        delivery_status = _legacy_delivery_status(parsed)
    if _sender_is_daemon(parsed):
        reasons.append("From: MAILER-DAEMON")
    if _is_list_manager_notice(parsed):
        reasons.append("mailing-list manager notice")
    if _AUTO_REPLY_SUBJECT_RE.match(parsed.subject[:200]):
        reasons.append("auto-reply subject")

    if is_bounce or is_feedback:  # the most specific reason first
        reasons.sort(
            key=lambda reason: not reason.startswith(("multipart/report", "bounce", "feedback", "provider"))
        )
    reasons = list(dict.fromkeys(reasons))
    return Classification(
        auto_generated=bool(reasons),
        reason=reasons[0] if reasons else "",
        reasons=tuple(reasons),
        is_bulk=is_bulk,
        is_bounce=is_bounce,
        delivery_status=delivery_status,
        is_feedback_report=is_feedback,
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


# -- provider JSON notifications -------------------------------------------------


@dataclass(frozen=True)
class ProviderNotification:
    """A cloud mail service's JSON event sent as mail (Amazon SES through SNS, ...)."""

    provider: str
    kind: str
    """``Bounce``, ``Complaint``, ``Delivery``, ... as the provider names it."""
    delivery_status: DeliveryStatus | None
    """For bounces: the bounced recipients and the Message-ID of the mail that bounced."""


_JSON_DECODER = json.JSONDecoder()
_MAX_JSON = 1_000_000


def provider_notification(parsed: ParsedEmail) -> ProviderNotification | None:
    """Recognise a JSON delivery notification in the body (SES ``notificationType``/``eventType``).

    SNS delivers SES events to an email subscription as a text/plain message whose body is the JSON
    event followed by an unsubscribe footer; raw SNS envelopes (``"Type": "Notification"``) wrap it
    in a ``Message`` string.
    """
    text = parsed.text[:_MAX_JSON]
    start = text.find("{")
    if start < 0 or text[:start].strip():
        return None
    try:
        event, _end = _JSON_DECODER.raw_decode(text, start)
    except ValueError:
        # sendmail breaks lines longer than 990 characters with "!" + newline + space (sisimai's
        # lhost-amazonses fixtures show it); undo that before giving up.
        try:
            event, _end = _JSON_DECODER.raw_decode(text.replace("!\n ", ""), start)
        except ValueError:
            return None
    if (
        isinstance(event, dict)
        and event.get("Type") == "Notification"
        and isinstance(event.get("Message"), str)
    ):
        try:
            event = json.loads(event["Message"][:_MAX_JSON])
        except ValueError:
            return None
    if not isinstance(event, dict):
        return None
    kind = event.get("notificationType") or event.get("eventType")
    if not isinstance(kind, str) or not isinstance(event.get("mail"), dict):
        return None
    status = _ses_delivery_status(event) if kind.lower() == "bounce" else None
    return ProviderNotification(provider="Amazon SES", kind=kind[:40], delivery_status=status)


def _ses_delivery_status(event: dict) -> DeliveryStatus:
    bounce = event.get("bounce") if isinstance(event.get("bounce"), dict) else {}
    permanent = str(bounce.get("bounceType", "")).lower() == "permanent"
    recipients = []
    for item in bounce.get("bouncedRecipients") or []:
        if not isinstance(item, dict) or not isinstance(item.get("emailAddress"), str):
            continue
        status_match = _STATUS_RE.search(str(item.get("status", "")))
        recipients.append(
            RecipientStatus(
                address=item["emailAddress"].strip().lower()[:254],
                original_address=None,
                action=str(item.get("action") or "failed").lower()[:20],
                status=status_match.group(0) if status_match else ("5.0.0" if permanent else "4.0.0"),
                diagnostic=_strip_type(str(item.get("diagnosticCode", "")))[:2000],
                remote_mta="",
            )
        )
    return _summarise(
        tuple(recipients),
        reporting_mta=_strip_type(str(bounce.get("reportingMTA", ""))),
        original_message_id=_ses_original_message_id(event["mail"]),
    )


def _ses_original_message_id(mail: dict) -> str | None:
    common = mail.get("commonHeaders") if isinstance(mail.get("commonHeaders"), dict) else {}
    candidates = [common.get("messageId")]
    for header in mail.get("headers") or []:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == "message-id":
            candidates.append(header.get("value"))
    for value in candidates:
        if isinstance(value, str):
            match = _MSGID_RE.search(value)
            if match:
                return match.group(1)
    return None


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


def _sender_is_daemon(parsed: ParsedEmail) -> bool:
    """From (or Return-Path) is a mail system: MAILER-DAEMON, postmaster, even without a domain.

    DSNs often carry ``From: Mail Delivery Subsystem <MAILER-DAEMON>`` or ``From: MAILER-DAEMON <>``,
    which have no usable address; the display name still says who sent them.
    """
    if parsed.from_address.split("@", 1)[0] in _DAEMON_LOCALS:
        return True
    if (parsed.return_path or "").split("@", 1)[0] in _DAEMON_LOCALS:
        return True
    name = parsed.from_name[:300].lower()
    return not parsed.from_address and any(daemon in name for daemon in _DAEMON_NAMES)


def _has_original_message(parsed: ParsedEmail) -> bool:
    return any(a.content_type in _ORIGINAL_TYPES for a in parsed.attachments)


def _looks_like_legacy_bounce(parsed: ParsedEmail) -> bool:
    """A bounce without an RFC 3464 part: a mail system's sender plus bounce-like content."""
    if "x-failed-recipients" in parsed.headers:
        return True
    subject = parsed.subject[:500]
    bounce_subject = bool(_BOUNCE_SUBJECT_RE.search(subject))
    text = parsed.text[:20_000]
    if not (_sender_is_daemon(parsed) or parsed.return_path == ""):
        # Carrier gateways send from ordinary-looking addresses (no-reply@...): an unambiguous bounce
        # subject plus the returned message attached, unless a person replies to or forwards one
        # ("Fwd: Returned mail", "Re: Undelivered Mail").
        return (
            bounce_subject
            and normalize_subject(subject) == " ".join(subject.split())
            and (_has_original_message(parsed) or bool(_DSN_LINE_RE.search(text)))
        )
    if bounce_subject or _DAEMON_BOUNCE_SUBJECT_RE.search(subject):
        return True
    return bool(_DSN_LINE_RE.search(text) or _SMTP_REPLY_RE.search(text) or _has_original_message(parsed))


def _is_jmrp_report(parsed: ParsedEmail) -> bool:
    for attachment in parsed.attachments:
        if attachment.content_type in _ORIGINAL_TYPES:
            try:
                headers = BytesHeaderParser().parsebytes(attachment.content[: 64 * 1024])
            except Exception:
                continue
            if headers.get(_JMRP_HEADER) is not None:
                return True
    return False


def _is_list_manager_notice(parsed: ParsedEmail) -> bool:
    """A mailing-list manager writing about the list ("you are not a member", "loop alert").

    Needs a list server's header: an address like ``it-admin@customer`` alone is a person.
    """
    if not any(name in parsed.headers for name in _LIST_SERVER_HEADERS):
        return False
    local = parsed.from_address.split("@", 1)[0]
    manager = (
        local in _LIST_MANAGER_LOCALS or local.endswith(_LIST_MANAGER_SUFFIXES) or local.startswith("owner-")
    )
    return manager or bool(_LIST_NOTICE_SUBJECT_RE.search(parsed.subject[:300]))


_QUOTED_MSGID_RE = re.compile(r"^\s*>?\s*message-id:\s*<([^<>\s]{1,995})>", re.I | re.M)


def _legacy_delivery_status(parsed: ParsedEmail) -> DeliveryStatus:
    failed = [a.strip().lower() for a in parsed.headers.get("x-failed-recipients", "").split(",") if "@" in a]
    recipients = tuple(
        RecipientStatus(
            address=a, original_address=None, action="failed", status="", diagnostic="", remote_mta=""
        )
        for a in failed
    )
    if not recipients and _DSN_LINE_RE.search(parsed.text[:1_000_000]):
        # An RFC 3464 report pasted into the text (a DSN whose MIME headers were lost).
        blocks = _parse_dsn_blocks(parsed.text[:1_000_000].encode("utf-8"))
        recipients = tuple(_recipient(block) for block in blocks if "final-recipient" in block)
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
