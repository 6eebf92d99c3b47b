"""Parse raw inbound email bytes into a plain, immutable :class:`ParsedEmail`.

Pure Python on top of the standard library ``email`` package (``policy.default``),
our own small HTML tree (:mod:`tickets.mail.html_tree`) and HTML-to-text converter
(:mod:`tickets.mail.html_text`).  Nothing in this module imports Django: the intake layer
stores the raw bytes first and then calls :func:`parse_email`.

Robustness contract (see ``docs/email-parsing.md``):

* :func:`parse_email` raises :class:`EmailParseError` only when the input is not an
  email at all (empty, an Outlook ``.msg``/OLE2 file, or bytes without an RFC 5322
  header block).  Everything else - malformed MIME, unknown charsets, broken base64,
  undecodable headers, absurd nesting - is parsed on a best-effort basis and the
  problems are recorded in ``ParsedEmail.defects``.
* Every string in the result is a valid ``str`` without lone surrogates or NUL
  characters, so it can be stored in PostgreSQL as is.
* ``ParsedEmail.html`` is well-formed (re-serialised from our tree) but NOT sanitised:
  the ticket services sanitise it once, when they store it (:mod:`tickets.mail.sanitize`),
  rewriting its ``cid:`` images to the stored attachments.
"""

from __future__ import annotations

import binascii
import codecs
import hashlib
import html as html_lib
import mimetypes
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email import utils as email_utils
from email.message import Message
from email.parser import BytesParser

from tickets.mail.html_text import html_to_text, render_text, strip_blank_edges
from tickets.mail.html_tree import MAX_HTML_TREE, HtmlNode, parse_html, serialize_html, strip_tags_linear
from tickets.mail.sanitize import MAX_SANITIZE

__all__ = [
    "HEADERS_KEPT",
    "EmailParseError",
    # tickets.mail.quotes walks the same tree; it imports these names from here.
    "HtmlNode",
    "ParsedAttachment",
    "ParsedEmail",
    "html_to_text",
    "parse_email",
    "parse_html",
    "render_text",
]

# ---------------------------------------------------------------------------
# Public data types
# ---------------------------------------------------------------------------


class EmailParseError(ValueError):
    """The input is not an email message at all (see :func:`parse_email`)."""


@dataclass(frozen=True)
class ParsedAttachment:
    """One attachment (or inline part) of a parsed message."""

    filename: str
    """Decoded, made safe: no path separators or control characters, never empty."""
    content_type: str
    """Lower-case MIME type, e.g. ``image/png``."""
    content: bytes
    """Transfer-decoded bytes.  Untrusted: never render or execute unsandboxed."""
    size: int
    """``len(content)``."""
    content_id: str | None = None
    """Content-ID without angle brackets, or ``None``."""
    inline: bool = False
    """True for ``Content-Disposition: inline`` parts and for parts with a Content-ID
    and no disposition (typically images referenced from the HTML via ``cid:``)."""

    def __repr__(self) -> str:  # keep the (possibly huge) content out of reprs
        return (
            f"ParsedAttachment(filename={self.filename!r}, content_type={self.content_type!r}, "
            f"size={self.size}, content_id={self.content_id!r}, inline={self.inline})"
        )


@dataclass(frozen=True)
class ParsedEmail:
    """Everything the intake layer needs from one message.

    Sequences are tuples (the dataclass is frozen).  ``headers`` holds a selection of
    raw (decoded) header values keyed by *lower-case* header name; see
    :data:`HEADERS_KEPT`.
    """

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_name: str
    from_address: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    date: datetime | None
    return_path: str | None
    headers: dict[str, str]
    text: str
    html: str
    """Well-formed but unsanitised HTML body, or ''; sanitise before showing it (tickets.mail.sanitize)."""
    attachments: tuple[ParsedAttachment, ...]
    defects: tuple[str, ...]
    content_hash: str
    content_type: str = "text/plain"
    """Top-level MIME type (lower case), e.g. ``multipart/report``."""

    def header(self, name: str, default: str | None = None) -> str | None:
        """Case-insensitive access to the kept headers."""
        return self.headers.get(name.lower(), default)


#: Header fields copied (first occurrence, decoded) into ``ParsedEmail.headers``.
HEADERS_KEPT: tuple[str, ...] = (
    # classification (auto-replies, bulk mail, bounces)
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "precedence",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "list-post",
    "x-loop",
    "x-failed-recipients",
    "content-type",
    "x-mlserver",
    "mailing-list",
    "x-mailman-version",
    "x-ml-name",
    "x-amz-sns-message-id",
    # routing / diagnostics
    "delivered-to",
    "x-original-to",
    "envelope-to",
    "sender",
    "x-mailer",
    "user-agent",
    "thread-topic",
    "thread-index",
)

# ---------------------------------------------------------------------------
# Limits (all generous for real mail, small enough to keep hostile input cheap)
# ---------------------------------------------------------------------------

_MAX_HEADER_SCAN = 256 * 1024  # bytes inspected by the "is this an email" check
_MAX_ADDRESS_HEADER = 1024 * 1024  # characters of an address header that are parsed
_MAX_IDS = 200  # References entries kept
_MAX_DEFECTS = 100
_MAX_PARTS = 2000  # MIME leaves processed
_MAX_SALVAGES = 20  # broken multiparts re-parsed per message
_MAX_DEPTH = 500  # multipart nesting followed (the stdlib parser itself gives up near 1000)

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FIELD_LINE_RE = re.compile(rb"[!-9;-~]{1,200}[ \t]*:")
_KNOWN_FIELDS = frozenset(
    {
        b"from",
        b"sender",
        b"to",
        b"cc",
        b"bcc",
        b"subject",
        b"date",
        b"message-id",
        b"received",
        b"return-path",
        b"delivered-to",
        b"reply-to",
        b"in-reply-to",
        b"references",
        b"mime-version",
        b"content-type",
        b"content-transfer-encoding",
        b"x-original-to",
        b"envelope-to",
        b"dkim-signature",
        b"arc-seal",
        b"authentication-results",
    }
)

_POLICY = email_policy.default


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse one RFC 5322 message.

    Raises :class:`EmailParseError` only if ``raw`` is not an email (empty, OLE2 /
    Outlook ``.msg``, or no header block whose first line is a header field and which
    contains at least one standard message header).  Raises ``TypeError`` for
    non-bytes input.  Never raises for malformed-but-real mail.
    """
    if isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    if not isinstance(raw, bytes):
        raise TypeError(f"parse_email() expects bytes, not {type(raw).__name__}")

    defects = _Defects()
    data = _check_is_email(raw, defects)
    content_hash = hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()

    msg, body_fallback = _parse_message(data, defects)
    headers = _HeaderReader(msg, defects)

    from_list = headers.addresses("from")
    from_name, from_address = from_list[0] if from_list else ("", "")

    kept: dict[str, str] = {}
    for name in HEADERS_KEPT:
        value = headers.first(name)
        if value is not None:
            kept[name] = _decode_unstructured(value)

    top_type = _content_type(msg, defects)
    if body_fallback is not None:
        text = _decode_text(body_fallback, None, defects)
        body = _BodyResult(text=text, html="", attachments=[])
    else:
        body = _extract_body(msg, defects)

    return ParsedEmail(
        message_id=headers.message_id("message-id"),
        in_reply_to=headers.message_ids("in-reply-to"),
        references=headers.message_ids("references"),
        subject=_decode_unstructured(headers.first("subject") or ""),
        from_name=from_name,
        from_address=from_address,
        to=tuple(addr for _, addr in headers.addresses("to") if addr),
        cc=tuple(addr for _, addr in headers.addresses("cc") if addr),
        reply_to=tuple(addr for _, addr in headers.addresses("reply-to") if addr),
        date=headers.date("date"),
        return_path=headers.return_path(),
        headers=kept,
        text=body.text,
        html=body.html,
        attachments=tuple(body.attachments),
        defects=defects.as_tuple(),
        content_hash=content_hash,
        content_type=top_type,
    )


class _Defects:
    def __init__(self) -> None:
        self._items: dict[str, None] = {}

    def add(self, text: str) -> None:
        if len(self._items) < _MAX_DEFECTS:
            self._items.setdefault(_clean_header_text(text)[:500], None)

    def add_part_defects(self, part: Message) -> None:
        for defect in getattr(part, "defects", ()) or ():
            self.add(type(defect).__name__)

    def as_tuple(self) -> tuple[str, ...]:
        return tuple(self._items)


def _check_is_email(raw: bytes, defects: _Defects) -> bytes:
    """Apply the EmailParseError rule; return the bytes to hand to the parser."""
    if not raw.strip():
        raise EmailParseError("not an email: the input is empty")
    if raw.startswith(_OLE2_MAGIC):
        raise EmailParseError(
            "not an email: this is an OLE2 compound file (Outlook .msg), not an RFC 5322 "
            "message; convert it to .eml before ingesting"
        )
    data = raw
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        defects.add("UTF-8 byte order mark before the header block was removed")
    stripped = data.lstrip(b" \t\r\n")
    if len(stripped) != len(data):
        defects.add("leading whitespace before the header block was removed")
        data = stripped
    if data.startswith(b"From "):  # mbox envelope line
        newline = data.find(b"\n")
        data = data[newline + 1 :] if newline >= 0 else b""
        defects.add("mbox 'From ' envelope line was removed")
    head = data[:_MAX_HEADER_SCAN]
    lines = head.split(b"\n")
    if not lines or not _FIELD_LINE_RE.match(lines[0]):
        raise EmailParseError("not an email: the first line is not an RFC 5322 header field")
    names: set[bytes] = set()
    for line in lines:
        if line in (b"", b"\r"):
            break
        if line[:1] in (b" ", b"\t"):
            continue
        match = _FIELD_LINE_RE.match(line)
        if match:
            names.add(match.group(0).rstrip(b": \t").lower())
    if not names & _KNOWN_FIELDS:
        raise EmailParseError(
            "not an email: the header block contains no standard message header "
            "(From, To, Subject, Date, Message-ID, Received, MIME-Version, Content-Type, ...)"
        )
    return data


def _parse_message(data: bytes, defects: _Defects) -> tuple[Message, bytes | None]:
    """Run the stdlib parser; on pathological structure fall back to headers + raw body."""
    try:
        return BytesParser(policy=_POLICY).parsebytes(data), None
    except RecursionError:
        defects.add("MIME structure nested too deeply; body kept as raw text")
    except Exception as exc:  # a stdlib parser bug must not lose the message
        defects.add(f"MIME parser failed ({type(exc).__name__}); body kept as raw text")
    try:
        msg = BytesParser(policy=_POLICY).parsebytes(data, headersonly=True)
    except Exception as exc:
        raise EmailParseError(f"the header block could not be parsed: {exc!r}") from exc
    sep = re.search(rb"\r?\n\r?\n", data)
    body = data[sep.end() :] if sep else b""
    return msg, body


# ---------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------

_EW_RE = re.compile(r"=\?([^?\s]{1,75})\?([bBqQ])\?([^?\s]*)\?=")
_FOLD_RE = re.compile(r"\r?\n(?=[ \t])")
_CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_WS_RE = re.compile(r"\s+")
_MSGID_RE = re.compile(r"<([^<>]{1,995})>")
_ADDR_RE = re.compile(r"[^\s<>()\"',;:@]+@[^\s<>()\"',;:@]+")


class _HeaderReader:
    """Raw header access that never raises (the stdlib header objects can)."""

    def __init__(self, msg: Message, defects: _Defects) -> None:
        self._defects = defects
        self._items: list[tuple[str, str]] = []
        try:
            for name, value in msg.raw_items():
                self._items.append((str(name).lower().strip(), _unfold(_to_str(value))))
        except Exception as exc:
            defects.add(f"headers could not be read ({type(exc).__name__})")

    def first(self, name: str) -> str | None:
        for key, value in self._items:
            if key == name:
                return value
        return None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self._items if key == name]

    def addresses(self, name: str) -> list[tuple[str, str]]:
        result: list[tuple[str, str]] = []
        for value in self.all(name):
            try:
                result.extend(_parse_address_list(value))
            except Exception as exc:
                self._defects.add(f"{name} header could not be parsed ({type(exc).__name__})")
        return result

    def date(self, name: str) -> datetime | None:
        value = self.first(name)
        if value is None:
            return None
        try:
            parsed = email_utils.parsedate_to_datetime(_fix_surrogates(value).strip())
        except Exception:
            parsed = None
        if parsed is None:
            self._defects.add(f"{name} header is not a valid date")
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed

    def message_id(self, name: str) -> str | None:
        value = self.first(name)
        if value is None:
            return None
        ids = _extract_ids(value, single=True)
        return ids[0] if ids else None

    def message_ids(self, name: str) -> tuple[str, ...]:
        ids: list[str] = []
        for value in self.all(name):
            ids.extend(_extract_ids(value, single=False))
        unique = list(dict.fromkeys(ids))
        if len(unique) > _MAX_IDS:  # keep the thread root and the most recent ids
            unique = unique[:1] + unique[-(_MAX_IDS - 1) :]
        return tuple(unique)

    def return_path(self) -> str | None:
        value = self.first("return-path")
        if value is None:
            return None
        value = _clean_header_text(_fix_surrogates(value)).strip()
        inner = value
        if "<" in value:
            start = value.find("<")
            end = value.find(">", start)
            inner = value[start + 1 : end if end >= 0 else None]
        inner = inner.strip()
        if not inner:
            return ""
        match = _ADDR_RE.search(inner)
        return match.group(0).lower() if match else inner.lower()


def _to_str(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return ""


def _unfold(value: str) -> str:
    value = _FOLD_RE.sub("", value)
    return value.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def _extract_ids(value: str, *, single: bool) -> list[str]:
    value = _clean_header_text(_fix_surrogates(value))
    found = [_WS_RE.sub("", m) for m in _MSGID_RE.findall(value)]
    found = [m for m in found if m]
    if not found:
        tokens = [t.strip("<>") for t in value.split()]
        found = tokens[:1] if single else [t for t in tokens if "@" in t]
    return [t for t in found if t][: None if not single else 1]


def _parse_address_list(value: str) -> list[tuple[str, str]]:
    """Parse an address header into ``(display name, lower-case address)`` pairs.

    A small, linear, deliberately lenient parser instead of the stdlib ones: real mail
    has unquoted commas in display names (``Doe, John <j@x>``), display names that are
    themselves addresses (``alice@x <bob@x>`` - the angle address wins), encoded words
    and raw 8-bit bytes.  Entries without any address are dropped (their text is
    treated as the start of the next display name).
    """
    value = _fix_surrogates(value)[:_MAX_ADDRESS_HEADER]
    result: list[tuple[str, str]] = []
    carry = ""
    for chunk in _split_mailboxes(value):
        chunk = (carry + ", " + chunk) if carry else chunk
        display, addr = _parse_mailbox(chunk)
        if not addr:
            carry = chunk.strip()
            continue
        carry = ""
        result.append((display, addr))
    if not result and carry:
        display, _ = _parse_mailbox(carry)
        return [(display.strip("<>").strip(), "")]
    return result


_MAILBOX_TOKEN_RE = re.compile(
    r'"(?:[^"\\]|\\.){0,2000}"|\([^()]{0,2000}\)|<[^<>]{0,2000}>|[,;]|[^",;(<]+|.',
    re.S,
)


def _split_mailboxes(value: str) -> list[str]:
    """Split at commas/semicolons outside quotes, comments and angle brackets (linear)."""
    chunks: list[str] = []
    current: list[str] = []
    for token in _MAILBOX_TOKEN_RE.findall(value):
        if token in (",", ";"):
            chunks.append("".join(current))
            current = []
        else:
            current.append(token)
    chunks.append("".join(current))
    return [c for c in chunks if c.strip()]


_ANGLE_ADDR_RE = re.compile(r"<\s*([^<>\s]+@[^<>\s]+?)\s*>")
_GROUP_PREFIX_RE = re.compile(r'^\s*[^"<>@,;:()]{1,200}:(?!/)')
_PAREN_RE = re.compile(r"\(([^()]*)\)")


def _parse_mailbox(chunk: str) -> tuple[str, str]:
    text = _GROUP_PREFIX_RE.sub("", chunk, count=1).strip()
    angles = list(_ANGLE_ADDR_RE.finditer(text))
    angle = angles[-1] if angles else None  # the last angle address wins
    if angle is not None:
        addr = angle.group(1)
        display = text[: angle.start()]
    else:
        match = _ADDR_RE.search(text)
        if not match:
            return _clean_display(text), ""
        addr = match.group(0)
        rest = (text[: match.start()] + text[match.end() :]).strip()
        comment = _PAREN_RE.search(rest)
        display = comment.group(1) if comment else rest
    addr = _clean_header_text(addr).strip().strip("<>").lower()
    if addr.startswith("mailto:"):
        addr = addr[7:]
    if not _ADDR_RE.fullmatch(addr):
        match = _ADDR_RE.search(addr)
        addr = match.group(0) if match else ""
    return _clean_display(display), addr


def _clean_display(display: str) -> str:
    display = display.strip()
    if len(display) >= 2 and display[0] == display[-1] == '"':
        display = display[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    display = _decode_encoded_words(display)
    display = _WS_RE.sub(" ", _clean_header_text(display)).strip()
    return display.strip('"').strip("'").strip()


def _decode_unstructured(value: str) -> str:
    """Decode an unstructured header value (RFC 2047, raw 8-bit) into clean text."""
    value = _fix_surrogates(_unfold(value))
    value = _decode_encoded_words(value)
    return _WS_RE.sub(" ", _clean_header_text(value)).strip()


def _decode_encoded_words(value: str) -> str:
    """Linear-time RFC 2047 decoder.

    Adjacent encoded words are joined (whitespace between them is dropped, RFC 2047
    section 6.2) and their bytes are decoded together, so multi-byte characters split
    across two encoded words survive.  Unknown charsets never raise.
    """
    if "=?" not in value:
        return value
    out: list[str] = []
    pending_charset: str | None = None
    pending = bytearray()
    pos = 0

    def flush() -> None:
        nonlocal pending_charset, pending
        if pending_charset is not None:
            out.append(_decode_bytes(bytes(pending), pending_charset))
        pending_charset = None
        pending = bytearray()

    for match in _EW_RE.finditer(value):
        between = value[pos : match.start()]
        if pending_charset is None or between.strip():
            flush()
            out.append(between)
        charset, encoding, text = match.groups()
        pos = match.end()
        if not text.isascii():
            flush()
            out.append(match.group(0))
            continue
        charset = charset.split("*", 1)[0].lower()
        if encoding in "bB":
            payload = _b64decode_lenient(text.encode("ascii"))
        else:
            payload = binascii.a2b_qp(text.encode("ascii"), header=True)
        if pending_charset is not None and charset != pending_charset:
            flush()
        pending_charset = charset
        pending += payload
    flush()
    out.append(value[pos:])
    return "".join(out)


def _b64decode_lenient(data: bytes) -> bytes:
    data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data
    data += b"=" * (-len(data) % 4)
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        return b""


def _fix_surrogates(value: str) -> str:
    """Turn surrogate-escaped raw 8-bit bytes (from the parser) back into text."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return _decode_bytes(raw, None)


def _clean_header_text(value: str) -> str:
    value = _fix_surrogates(value)
    return _CTRL_RE.sub("", value.replace("\t", " "))


# ---------------------------------------------------------------------------
# Charsets
# ---------------------------------------------------------------------------

_CHARSET_ALIASES = {
    # WHATWG practice: these labels really mean windows-1252 / the superset codec.
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    "us": "ascii",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "big5": "big5hkscs",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
}
_UNKNOWN_CHARSET_LABELS = frozenset(
    {"", "x-unknown", "unknown", "unknown-8bit", "x-user-defined", "default", "charset", "8bit"}
)
_UTF8_FAMILY = frozenset({"ascii", "utf-8"})
_NO_ASCII_FASTPATH = ("utf-16", "utf-32", "utf-7", "utf_16", "utf_32", "utf_7")


def _normalize_charset(label: str | None) -> tuple[str | None, bool]:
    """Return (python codec name or None, label_was_given_but_unknown)."""
    if label is None:
        return None, False
    name = str(label).strip().strip("\"'").strip().lower()
    name = name.split("*", 1)[0].rstrip(";").strip()
    if name in _UNKNOWN_CHARSET_LABELS:
        return None, name not in ("",)
    for candidate in (name, name.removeprefix("x-"), name.replace("_", "-")):
        candidate = _CHARSET_ALIASES.get(candidate, candidate)
        try:
            info = codecs.lookup(candidate)
        except (LookupError, ValueError):
            continue
        if not getattr(info, "_is_text_encoding", True):
            return None, True
        return _CHARSET_ALIASES.get(info.name, info.name), False
    return None, True


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode header bytes: declared charset, else UTF-8, else windows-1252."""
    codec, _unknown = _normalize_charset(charset)
    if codec and codec not in _UTF8_FAMILY:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError, ValueError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _mostly_utf8(data: bytes, *, ratio: int) -> str | None:
    """UTF-8 with replacement if valid multi-byte sequences clearly dominate the errors."""
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ch > "\x7f") - bad
    if good >= 3 and good >= ratio * bad:
        return text
    return None


def _decode_text(data: bytes, charset: str | None, defects: _Defects) -> str:
    """Decode a text body.  Never raises; see docs/email-parsing.md "Charsets"."""
    text = _decode_text_raw(data, charset, defects)
    if "\x00" in text:
        text = text.replace("\x00", "")
        defects.add("NUL characters removed from a text part")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode_text_raw(data: bytes, charset: str | None, defects: _Defects) -> str:
    if not data:
        return ""
    codec, unknown = _normalize_charset(charset)
    if (codec is None or not codec.startswith(_NO_ASCII_FASTPATH)) and data.isascii():
        return data.decode("ascii")
    if unknown:
        try:
            text = data.decode("utf-8")
            defects.add(f"unknown charset {charset!r}; text decoded as UTF-8")
        except UnicodeDecodeError:
            text = data.decode("utf-8", "replace")
            defects.add(f"unknown charset {charset!r}; text decoded as UTF-8 with replacement characters")
        return text
    label = charset or "us-ascii (default)"
    if codec is None or codec in _UTF8_FAMILY:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        mostly = _mostly_utf8(data, ratio=2)
        if mostly is not None:
            defects.add(f"text declared as {label} has invalid UTF-8 bytes; replaced")
            return mostly
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        defects.add(f"text declared as {label} is not UTF-8; decoded as windows-1252")
        return text
    if not codec.startswith(_NO_ASCII_FASTPATH):
        # A legacy label on bytes that are valid UTF-8 is almost always a mislabel
        # (random legacy text is practically never valid UTF-8).
        try:
            text = data.decode("utf-8")
            defects.add(f"text declared as {charset} is valid UTF-8; decoded as UTF-8")
            return text
        except UnicodeDecodeError:
            pass
        mostly = _mostly_utf8(data, ratio=10)
        if mostly is not None:
            defects.add(f"text declared as {charset} is UTF-8 with a few invalid bytes; decoded as UTF-8")
            return mostly
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError, ValueError):
        pass
    defects.add(f"text is not valid {charset}; undecodable bytes replaced")
    try:
        return data.decode(codec, "replace")
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")


# ---------------------------------------------------------------------------
# MIME structure
# ---------------------------------------------------------------------------


@dataclass
class _Segment:
    plain: str | None = None
    html: str | None = None


@dataclass
class _BodyResult:
    text: str
    html: str
    attachments: list[ParsedAttachment]


_BODY_TYPES = ("text/plain", "text/html")
_FALLBACK_EXTENSIONS = {
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/delivery-status": ".txt",
    "message/global-delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "text/rfc822-headers": ".txt",
    "message/rfc822-headers": ".txt",
    "message/global-headers": ".txt",
    "application/octet-stream": ".bin",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "image/jpeg": ".jpg",
}


class _Walker:
    def __init__(self, defects: _Defects) -> None:
        self.defects = defects
        self.attachments: list[ParsedAttachment] = []
        self.leaves = 0
        self.salvages = 0  # re-parses of broken multiparts are capped (each costs O(size))

    def _may_salvage(self) -> bool:
        self.salvages += 1
        if self.salvages == _MAX_SALVAGES + 1:
            self.defects.add("too many broken multiparts; no further recovery attempted")
        return self.salvages <= _MAX_SALVAGES

    # -- structure -------------------------------------------------------

    def children(self, part: Message) -> list[Message]:
        payload = part.get_payload()
        kids = [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
        kids.extend(self._salvage_epilogue(part))
        return kids

    def _salvage_epilogue(self, part: Message) -> list[Message]:
        epilogue = getattr(part, "epilogue", None)
        if not epilogue or "--" not in epilogue:
            return []
        try:
            boundary = part.get_boundary()
        except Exception:
            boundary = None
        if not boundary:
            return []
        delimiter = "--" + boundary
        if ("\n" + delimiter) not in ("\n" + epilogue) or not self._may_salvage():
            return []
        chunks: list[str] = []
        current: list[str] | None = None
        for line in epilogue.splitlines():
            if line.rstrip() == delimiter or line.rstrip() == delimiter + "--":
                if current is not None:
                    chunks.append("\n".join(current))
                current = None if line.rstrip().endswith(delimiter + "--") else []
                continue
            if current is not None:
                current.append(line)
        if current is not None:
            chunks.append("\n".join(current))
        parts = []
        for chunk in chunks:
            if not chunk.strip():
                continue
            try:
                parts.append(BytesParser(policy=_POLICY).parsebytes(_to_bytes(chunk)))
            except Exception:
                continue
        if parts:
            self.defects.add("MIME parts found after the closing boundary were recovered")
        return parts

    def salvage_multipart(self, part: Message) -> list[Message] | None:
        """A multipart whose boundary was never found: look for the real boundary."""
        payload = part.get_payload()
        if not isinstance(payload, str) or not payload.strip() or not self._may_salvage():
            return None
        body = _to_bytes(payload)
        match = re.search(rb"^--([^\r\n\"]{1,200}?)[ \t]*\r?\n(?=[A-Za-z][A-Za-z0-9-]{0,76}:)", body, re.M)
        if not match:
            return None
        boundary = match.group(1)
        subtype = _safe(part.get_content_subtype) or "mixed"
        synthetic = (
            b"Content-Type: multipart/"
            + subtype.encode("ascii", "replace")
            + b'; boundary="'
            + boundary
            + b'"\r\n\r\n'
            + body
        )
        try:
            salvaged = BytesParser(policy=_POLICY).parsebytes(synthetic)
        except Exception:
            return None
        kids = salvaged.get_payload()
        if not isinstance(kids, list) or not kids:
            return None
        self.defects.add("multipart boundary mismatch; parts recovered using the boundary found in the body")
        return [k for k in kids if isinstance(k, Message)]

    # -- traversal -------------------------------------------------------

    def walk(self, root: Message) -> _Segment:
        """Post-order, iterative (no recursion limits) computation of the body."""
        results: dict[int, _Segment] = {}
        stack: list[tuple[Message, int, bool, list[Message] | None]] = [(root, 0, False, None)]
        while stack:
            part, depth, expanded, kids = stack.pop()
            if not expanded:
                self.defects.add_part_defects(part)
                ctype = _content_type(part, self.defects)
                if ctype.startswith("multipart/"):
                    if depth >= _MAX_DEPTH:
                        self.defects.add("MIME nesting deeper than supported; deeper parts ignored")
                        results[id(part)] = _Segment()
                        continue
                    kids = self.children(part) if part.is_multipart() else self.salvage_multipart(part)
                    if kids is None:
                        results[id(part)] = self.leaf(part, "text/plain")
                        continue
                    stack.append((part, depth, True, kids))
                    for kid in reversed(kids):
                        stack.append((kid, depth + 1, False, None))
                    continue
                results[id(part)] = self.leaf(part, ctype)
                continue
            ctype = _content_type(part, self.defects)
            child_results = [results.pop(id(k), _Segment()) for k in kids or []]
            if ctype == "multipart/alternative":
                results[id(part)] = _combine_alternative(child_results)
            else:
                results[id(part)] = _combine_sequence(child_results)
        return results.get(id(root), _Segment())

    def leaf(self, part: Message, ctype: str) -> _Segment:
        self.leaves += 1
        if self.leaves > _MAX_PARTS:
            if self.leaves == _MAX_PARTS + 1:
                self.defects.add(f"more than {_MAX_PARTS} MIME parts; the rest were ignored")
            return _Segment()
        disposition = _safe(part.get_content_disposition)
        filename = _part_filename(part)
        if ctype in _BODY_TYPES and disposition != "attachment" and not filename:
            data = _payload_bytes(part, self.defects)
            text = _decode_text(data, _safe(part.get_content_charset), self.defects)
            if ctype == "text/html":
                return _Segment(html=text)
            if _param(part, "format").lower() == "flowed":
                text = _unflow(text, delsp=_param(part, "delsp").lower() == "yes")
            text, uu_attachments = _extract_uuencoded(text, self.defects)
            for attachment in uu_attachments:
                self._add(attachment)
            return _Segment(plain=text)
        self._add_part(part, ctype, disposition, filename)
        return _Segment()

    def _add_part(self, part: Message, ctype: str, disposition: str | None, filename: str | None) -> None:
        if ctype.startswith("message/") or ctype == "text/rfc822-headers":
            content = _message_part_bytes(part, ctype, self.defects)
        else:
            content = _payload_bytes(part, self.defects)
        content_id = _content_id(part)
        inline = disposition == "inline" or (disposition is None and content_id is not None)
        self._add(
            ParsedAttachment(
                filename=filename or "",
                content_type=ctype,
                content=content,
                size=len(content),
                content_id=content_id,
                inline=inline,
            )
        )

    def _add(self, attachment: ParsedAttachment) -> None:
        index = len(self.attachments) + 1
        name = _safe_filename(attachment.filename, attachment.content_type, index)
        if name != attachment.filename:
            attachment = ParsedAttachment(
                filename=name,
                content_type=attachment.content_type,
                content=attachment.content,
                size=attachment.size,
                content_id=attachment.content_id,
                inline=attachment.inline,
            )
        self.attachments.append(attachment)


def _extract_body(msg: Message, defects: _Defects) -> _BodyResult:
    walker = _Walker(defects)
    try:
        segment = walker.walk(msg)
    except Exception as exc:  # defensive: never lose the message over a walker bug
        defects.add(f"MIME walk failed ({type(exc).__name__}); partial result")
        segment = _Segment()
    html = ""
    html_text = ""
    if segment.html and segment.html.strip():
        html, html_text = _normalise_and_render(segment.html, defects)
    if segment.plain is not None and segment.plain.strip():
        text = segment.plain
    elif segment.html:
        text = html_text
    else:
        text = segment.plain or ""
    return _BodyResult(text=strip_blank_edges(text), html=html, attachments=walker.attachments)


def _normalise_and_render(html: str, defects: _Defects) -> tuple[str, str]:
    """Parse once; return (well-formed HTML small enough to sanitise, or '', text rendering)."""
    if len(html) > MAX_HTML_TREE:
        defects.add("HTML body too large to sanitise; only its text rendering is kept")
        return "", html_to_text(html)
    try:
        root = parse_html(html)
        text = render_text(root)
        normalised = serialize_html(root)
    except Exception as exc:  # defensive
        defects.add(f"HTML body could not be processed ({type(exc).__name__})")
        return "", strip_blank_edges(strip_tags_linear(html))
    if len(normalised) > MAX_SANITIZE:
        defects.add("HTML body too large to sanitise; only its text rendering is kept")
        return "", text
    return normalised, text


def _combine_alternative(children: list[_Segment]) -> _Segment:
    plain = next((c.plain for c in children if c.plain and c.plain.strip()), None)
    if plain is None:
        plain = next((c.plain for c in children if c.plain is not None), None)
    html = next((c.html for c in reversed(children) if c.html and c.html.strip()), None)
    return _Segment(plain=plain, html=html)


def _combine_sequence(children: list[_Segment]) -> _Segment:
    """multipart/mixed, related, signed, report, ...: body parts in order.

    A child with only HTML contributes its text rendering to ``plain`` and a child
    with only plain text contributes escaped ``<pre>`` to ``html``; exact duplicates
    (the same content as plain and as HTML siblings of a broken alternative) are
    skipped.
    """
    children = [c for c in children if c.plain is not None or c.html is not None]
    if not children:
        return _Segment()
    any_plain = any(c.plain is not None for c in children)
    any_html = any(c.html is not None for c in children)
    plains: list[str] = []
    htmls: list[str] = []
    seen: set[str] = set()
    for child in children:
        rep = child.plain if child.plain is not None else html_to_text(child.html or "")
        key = re.sub(r"\W+", "", rep).lower()
        if key and key in seen:
            continue
        if key:
            seen.add(key)
        if rep.strip():
            plains.append(rep.strip("\n"))
        if any_html:
            if child.html is not None:
                if child.html.strip():
                    htmls.append(child.html)
            elif child.plain and child.plain.strip():
                htmls.append("<pre>" + html_lib.escape(child.plain) + "</pre>")
    plain = "\n\n".join(plains) if any_plain else None
    html = "\n".join(htmls) if any_html else None
    if plain is None and not any_html:
        plain = ""
    return _Segment(plain=plain, html=html)


def _safe(func, default=None):  # type: ignore[no-untyped-def]
    try:
        return func()
    except Exception:
        return default


def _content_type(part: Message, defects: _Defects) -> str:
    try:
        ctype = part.get_content_type()
    except Exception:
        defects.add("invalid Content-Type header; treated as text/plain")
        return "text/plain"
    ctype = _fix_surrogates(str(ctype)).lower()
    if not re.fullmatch(r"[a-z0-9!#$&^_.+-]{1,64}/[a-z0-9!#$&^_.+-]{1,128}", ctype):
        defects.add("invalid Content-Type header; treated as text/plain")
        return "text/plain"
    return ctype


def _param(part: Message, name: str) -> str:
    value = _safe(lambda: part.get_param(name))
    if isinstance(value, tuple):  # RFC 2231 triple
        value = _safe(lambda: email_utils.collapse_rfc2231_value(value))
    return _fix_surrogates(str(value)) if value is not None else ""


def _part_filename(part: Message) -> str | None:
    name = None
    for header in ("content-disposition", "content-type"):
        param = "filename" if header == "content-disposition" else "name"
        header_obj = _safe(lambda header=header: part.get(header))
        params = getattr(header_obj, "params", None)
        if params is not None:
            name = _safe(lambda params=params, param=param: params.get(param))
        if not name:
            name = _safe(lambda param=param, header=header: part.get_param(param, header=header))
            if isinstance(name, tuple):
                name = _safe(lambda name=name: email_utils.collapse_rfc2231_value(name))
        if name:
            break
    if not name:
        return None
    name = _decode_encoded_words(_fix_surrogates(str(name)))
    return _clean_header_text(name).strip() or None


def _content_id(part: Message) -> str | None:
    raw = None
    try:
        for key, value in part.raw_items():
            if str(key).lower() == "content-id":
                raw = _to_str(value)
                break
    except Exception:
        return None
    if raw is None:
        return None
    value = _WS_RE.sub("", _clean_header_text(_unfold(raw))).strip("<>")
    return value or None


def _payload_bytes(part: Message, defects: _Defects) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:
        defects.add(f"payload could not be decoded ({type(exc).__name__}); kept raw")
        data = None
    if data is None:
        payload = _safe(part.get_payload)
        if isinstance(payload, str):
            return _to_bytes(payload)
        return b""
    return bytes(data)


def _message_part_bytes(part: Message, ctype: str, defects: _Defects) -> bytes:
    payload = _safe(part.get_payload)
    if isinstance(payload, str):  # e.g. text/rfc822-headers, or a transfer-encoded message
        return _payload_bytes(part, defects)
    if not isinstance(payload, list):
        return b""
    if ctype.endswith("delivery-status") or ctype == "message/disposition-notification":
        blocks = []
        for block in payload:
            try:
                blocks.append("".join(f"{k}: {_to_str(v)}\n" for k, v in block.raw_items()))
            except Exception:
                continue
        return _to_bytes("\n".join(blocks))
    chunks = []
    for inner in payload:
        if isinstance(inner, Message):
            chunks.append(_serialize(inner))
    return b"".join(chunks)


def _serialize(msg: Message) -> bytes:
    try:
        return msg.as_bytes(policy=email_policy.compat32)
    except Exception:
        pass
    try:
        return msg.as_bytes()
    except Exception:
        pass
    try:
        return _to_bytes(msg.as_string(policy=email_policy.compat32))
    except Exception:
        return b""


def _to_bytes(value: str) -> bytes:
    try:
        return value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape")


_UNSAFE_FILENAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def _safe_filename(name: str, content_type: str, index: int) -> str:
    name = _clean_header_text(name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_FILENAME_CHARS.sub("_", name)
    name = _WS_RE.sub(" ", name).strip().lstrip(".").strip()
    if len(name.encode("utf-8")) > 200:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and 0 < len(ext) <= 10 else ""
        base = stem if ext else name
        while len(base.encode("utf-8")) > 200 - len(ext) - 1:
            base = base[:-1]
        name = f"{base}.{ext}" if ext else base
    if not name or name.strip("._ ") == "":
        ext = _FALLBACK_EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"
        name = f"attachment-{index}{ext}"
    return name


# ---------------------------------------------------------------------------
# format=flowed (RFC 3676) and uuencode
# ---------------------------------------------------------------------------


def _unflow(text: str, *, delsp: bool) -> str:
    out: list[str] = []
    current: str | None = None
    current_depth = 0

    def emit() -> None:
        prefix = ">" * current_depth + (" " if current_depth else "")
        out.append(prefix + (current or ""))

    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        is_signature = content == "-- "
        flowed = content.endswith(" ") and not is_signature
        if flowed and delsp:
            content = content[:-1]
        if current is not None and depth != current_depth:
            emit()
            current = None
        current = content if current is None else current + content
        current_depth = depth
        if not flowed:
            emit()
            current = None
    if current is not None:
        emit()
    return "\n".join(out)


_UU_BEGIN_RE = re.compile(r"^begin ([0-7]{3,4}) ([^\n]{1,255})$", re.M)


def _extract_uuencoded(text: str, defects: _Defects) -> tuple[str, list[ParsedAttachment]]:
    if "begin " not in text:
        return text, []
    attachments: list[ParsedAttachment] = []
    pieces: list[str] = []
    pos = 0
    for match in _UU_BEGIN_RE.finditer(text):
        if match.start() < pos:
            continue
        end_match = re.compile(r"^end[ \t]*$", re.M).search(text, match.end())
        if not end_match:
            continue
        block = text[match.end() : end_match.start()].strip("\n").split("\n")
        data = _uudecode_lines(block)
        if data is None:
            continue
        filename = match.group(2).strip()
        ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        attachments.append(
            ParsedAttachment(filename=filename, content_type=ctype, content=data, size=len(data))
        )
        pieces.append(text[pos : match.start()])
        pos = end_match.end()
    if not attachments:
        return text, []
    pieces.append(text[pos:])
    defects.add("uuencoded data extracted from a text part")
    return "".join(pieces), attachments


def _uudecode_lines(lines: list[str]) -> bytes | None:
    out = bytearray()
    bad = 0
    for line in lines:
        line = line.rstrip("\r")
        if not line or line in ("`", " "):
            continue
        if not line.isascii():
            return None
        raw = line.encode("ascii")
        try:
            out += binascii.a2b_uu(raw)
        except binascii.Error:
            nbytes = (((raw[0] - 32) & 63) * 4 + 5) // 3
            try:
                out += binascii.a2b_uu(raw[:nbytes])
            except binascii.Error:
                bad += 1
                if bad > 3:
                    return None
    return bytes(out)
