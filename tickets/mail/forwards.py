# ruff: noqa: RUF001  (localized forward prefixes: CJK and Greek characters are intended)
"""Forwarded mail: who forwarded what, and attached messages shown as messages (no Django imports).

* :func:`split_forward` finds an inline forward in a plain-text body ("---------- Forwarded message
  ---------", "Begin forwarded message:", their translations, or, in a message whose subject says it is a
  forward, an Outlook "From:/Sent:/To:/Subject:" block) and reads the forwarded message's header block.
* :func:`is_forward_subject` tells a forward by its subject prefix (Fwd:, FW:, WG:, TR:, RV:, I:, ...).
* :func:`attached_message` summarises a ``message/rfc822`` attachment (its raw bytes) the same way.

The forwarded text itself is never cut: in a helpdesk the forwarded content is the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tickets.mail.parsing import EmailParseError, html_to_text, parse_email
from tickets.mail.quotes import header_block_at, header_category, is_forward_marker

__all__ = ["Forward", "ForwardedMessage", "attached_message", "is_forward_subject", "split_forward"]

_MAX_SCAN_LINES = 2000
_MAX_VALUE = 500

_FORWARD_SUBJECT_RE = re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)?(?:fwd?|fw|wg|tr|enc|rv|i|pd|doorst|vb|vs|vl|"
    r"пересл|转发|轉寄|転送|ΠΡΘ)\s*(?:\[\d{1,4}\]|\(\d{1,4}\))?\s*[:：]",
    re.I,
)


@dataclass(frozen=True)
class ForwardedMessage:
    """The header facts and text of a forwarded or attached message, as written in it."""

    sender: str
    date: str
    subject: str
    recipients: str
    text: str


@dataclass(frozen=True)
class Forward:
    note: str
    """What the forwarder wrote above the forwarded message ('' if nothing)."""
    message: ForwardedMessage


def is_forward_subject(subject: str) -> bool:
    """``Fwd: ...``, ``FW: ...``, ``WG: ...``, ``TR: ...``, ``RV: ...``, ``I: ...``, ``Doorst: ...`` ..."""
    return bool(_FORWARD_SUBJECT_RE.match(subject[:300]))


def split_forward(text: str, *, subject: str = "") -> Forward | None:
    """The forward in ``text``: the note above it and the forwarded message's headers and text.

    A forward marker line starts it; without one, a From/Sent/To/Subject block counts only when the
    subject says the message is a forward (otherwise such a block is reply history). None if the text
    holds no forward, or no header block names the forwarded message's sender.
    """
    if not text:
        return None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    limit = min(len(lines), _MAX_SCAN_LINES)
    forward_subject = is_forward_subject(subject)
    for i in range(limit):
        probe = lines[i][:400].strip()
        if not probe:
            continue
        if is_forward_marker(probe):
            start = i + 1
        elif forward_subject and header_block_at(lines, i):
            start = i
        else:
            continue
        message = _read_forwarded(lines, start)
        if message is None:
            return None
        note = "\n".join(lines[:i]).strip()
        return Forward(note=_strip_separator(note), message=message)
    return None


def attached_message(raw: bytes) -> ForwardedMessage | None:
    """Summarise an attached ``message/rfc822`` part; None if its bytes are not a message."""
    try:
        parsed = parse_email(raw)
    except (EmailParseError, TypeError):
        return None
    sender = f"{parsed.from_name} <{parsed.from_address}>" if parsed.from_name else parsed.from_address
    return ForwardedMessage(
        sender=sender.strip()[:_MAX_VALUE],
        date=parsed.date.strftime("%a, %d %b %Y %H:%M %z") if parsed.date else "",
        subject=parsed.subject[:_MAX_VALUE],
        recipients=", ".join((*parsed.to, *parsed.cc))[:_MAX_VALUE],
        text=parsed.text or html_to_text(parsed.html),
    )


def _read_forwarded(lines: list[str], start: int) -> ForwardedMessage | None:
    i = start
    while i < len(lines) and not lines[i][:400].strip():
        i += 1
    fields: dict[str, str] = {}
    last: str | None = None
    while i < len(lines) and lines[i][:400].strip() and i - start < 20:
        line = lines[i][:2000]
        category = header_category(line)
        if category is not None and category not in fields:
            fields[category] = _value(line)
            last = category
        elif last is not None and line[:1] in (" ", "\t"):
            fields[last] = f"{fields[last]} {line.strip()}"[:_MAX_VALUE]  # a folded header line
        elif not fields:
            return None
        else:
            break
        i += 1
    if "from" not in fields:
        return None
    return ForwardedMessage(
        sender=fields["from"],
        date=fields.get("date", ""),
        subject=fields.get("subject", ""),
        recipients=", ".join(v for v in (fields.get("to", ""), fields.get("cc", "")) if v),
        text="\n".join(lines[i:]).strip(),
    )


def _value(line: str) -> str:
    _label, _sep, value = line.replace("：", ":").partition(":")
    return value.strip().strip("*").strip()[:_MAX_VALUE]


def _strip_separator(note: str) -> str:
    lines = note.split("\n")
    while lines and (not lines[-1].strip() or not lines[-1].strip().strip("-_=*~ ")):
        lines.pop()
    return "\n".join(lines).strip()
