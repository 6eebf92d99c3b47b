# ruff: noqa: RUF001  (multilingual mail markers: Cyrillic, CJK and typographic characters are intended)
"""Pure helpers for threading inbound mail onto tickets (no Django).

Formats (see docs/email-parsing.md, "Threading"):

* ticket reference: ``HD-<number>`` (prefix configurable), e.g. ``HD-1042``;
* outbound Message-ID: ``<HD-1042.{unique}@{domain}>``;
* subject tag: ``[#HD-1042]``, inserted after any Re:/Fwd: prefixes;
* reply address: ``support+{token}@example.com`` (plus addressing).

Note: this module is named ``threading`` inside the ``tickets.mail`` package; import
it as ``tickets.mail.threading`` (absolute imports never shadow the stdlib module).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "conversation_keys",
    "make_message_id",
    "normalize_subject",
    "partition_conversations",
    "reference_from_message_id",
    "reference_from_subject",
    "reply_address",
    "reply_token_from_address",
    "split_sub_address",
    "subject_with_reference",
    "with_sub_address",
]

_PREFIX_RE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,15}")
_REFERENCE_RE = re.compile(r"([A-Za-z][A-Za-z0-9]{0,15})-(\d{1,18})")
_UNIQUE_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_RE = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_TOKEN_RE = re.compile(r"[A-Za-z0-9._=-]{1,64}")


def _canonical_reference(reference: str) -> str:
    match = _REFERENCE_RE.fullmatch(reference.strip())
    if not match:
        raise ValueError(f"not a ticket reference (expected e.g. 'HD-1042'): {reference!r}")
    return f"{match.group(1).upper()}-{int(match.group(2))}"


def make_message_id(reference: str, domain: str, unique: str) -> str:
    """``make_message_id('HD-1042', 'example.com', 'a1b2')`` -> ``'<HD-1042.a1b2@example.com>'``.

    ``unique`` must be a dot-atom (letters, digits, ``.``, ``-``, ...; no ``@`` or
    spaces) and should be random per message (e.g. ``uuid4().hex``).  ``domain`` must
    be an ASCII host name (punycode IDNs first).  Raises ``ValueError`` otherwise.
    """
    ref = _canonical_reference(reference)
    if not unique or not _UNIQUE_RE.fullmatch(unique):
        raise ValueError(f"unique part must be a non-empty dot-atom without '@': {unique!r}")
    domain = domain.strip().lower()
    if not _DOMAIN_RE.fullmatch(domain):
        raise ValueError(f"not a valid ASCII domain: {domain!r}")
    return f"<{ref}.{unique}@{domain}>"


def reference_from_message_id(message_id: str, domain: str, *, prefix: str = "HD") -> str | None:
    """The ticket reference encoded in one of *our* Message-IDs, else ``None``.

    Accepts the id with or without angle brackets.  Only ids whose right-hand side is
    ``domain`` (case-insensitive) and whose left part starts with ``<prefix>-<n>.``
    count.  Anyone can put such an id into In-Reply-To; to resist spoofing, match the
    whole id against the Message-IDs you actually sent, or make ``unique`` an HMAC.
    """
    if not message_id or not domain:
        return None
    value = message_id.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    local, sep, right = value.rpartition("@")
    if not sep or right.lower() != domain.strip().lower():
        return None
    ref, dot, unique = local.partition(".")
    if not dot or not unique:
        return None
    match = _REFERENCE_RE.fullmatch(ref)
    if not match or match.group(1).upper() != prefix.upper():
        return None
    return f"{prefix.upper()}-{int(match.group(2))}"


def _subject_tag_re(prefix: str) -> re.Pattern[str]:
    if not _PREFIX_RE.fullmatch(prefix):
        raise ValueError(f"invalid reference prefix: {prefix!r}")
    return re.compile(r"\[\s*#\s*" + re.escape(prefix) + r"\s*-\s*(\d{1,18})\s*\]", re.I)


def reference_from_subject(subject: str, prefix: str = "HD") -> str | None:
    """Find ``[#HD-1042]`` anywhere in the subject (also after Re:/AW:/Fwd:).

    Matching is case-insensitive and tolerates inner spaces (``[# hd-1042 ]``); the
    first tag wins; the result is canonical (``HD-1042``, no leading zeros).
    """
    if not subject:
        return None
    match = _subject_tag_re(prefix).search(subject[:2000])
    if not match:
        return None
    return f"{prefix.upper()}-{int(match.group(1))}"


# Reply/forward prefixes in common languages, optionally numbered: "Re[2]:", "RE(3):".
_REPLY_PREFIX_RE = re.compile(
    r"^\s*(?:re|aw|antw|antwort|sv|vs|vl|r|ris|rif|res|odp|ynt|atb|ats|răs|fs|ref|réf|"
    r"fwd?|fw|wg|tr|enc|rv|i|pd|doorst|vb|yml|ilt|přeposlat|pfw|"
    r"ответ|отв|пересл|回复|回覆|答复|转发|轉寄|"
    r"ΑΠ|ΣΧΕΤ|ΠΡΘ)"
    r"\s*(?:\[\d{1,4}\]|\(\d{1,4}\))?\s*[:：]\s*",
    re.I,
)


def normalize_subject(subject: str) -> str:
    """Strip leading reply/forward prefixes (Re:, Fwd:, AW:, WG:, SV:, VS:, RE[2]:, ...).

    Also collapses whitespace.  Ticket tags like ``[#HD-1042]`` are kept.
    """
    if not subject:
        return ""
    value = " ".join(subject.split())
    for _ in range(50):  # bounded: each iteration removes one prefix
        stripped = _REPLY_PREFIX_RE.sub("", value, count=1)
        if stripped == value:
            break
        value = stripped
    return value.strip()


def subject_with_reference(subject: str, reference: str) -> str:
    """Add ``[#HD-1042]`` once (never twice), after any leading Re:/Fwd: prefixes.

    ``subject_with_reference('Re: Printer', 'HD-1042')`` -> ``'Re: [#HD-1042] Printer'``.
    """
    ref = _canonical_reference(reference)
    prefix = ref.split("-", 1)[0]
    subject = " ".join((subject or "").split())
    for match in _subject_tag_re(prefix).finditer(subject):
        if int(match.group(1)) == int(ref.split("-", 1)[1]):
            return subject
    tag = f"[#{ref}]"
    rest = normalize_subject(subject)
    head = subject[: len(subject) - len(rest)] if rest and subject.endswith(rest) else ""
    if not rest:
        return f"{subject} {tag}".strip() if subject and head == "" else f"{head}{tag}".strip()
    return f"{head}{tag} {rest}"


def split_sub_address(address: str) -> tuple[str, str, str] | None:
    """``'support+eu@Example.com'`` -> ``('support', 'eu', 'Example.com')`` (sub-addressing, RFC 5233).

    The tag is ``''`` when there is none; a display name (``Name <address>``) is ignored; case is
    kept.  ``None`` unless the value is a ``local@domain`` address.
    """
    value = (address or "").strip()
    if "<" in value and value.endswith(">"):
        value = value[value.rfind("<") + 1 : -1].strip()
    local, sep, domain = value.rpartition("@")
    if not sep or not local or not domain or "@" in local or any(c.isspace() for c in value):
        return None
    base, _, tag = local.partition("+")
    return base, tag, domain


def with_sub_address(address: str, tag: str) -> str:
    """``with_sub_address('support+old@example.com', 'new')`` -> ``'support+new@example.com'``.

    An existing tag is replaced, not nested.  Raises ``ValueError`` for a value that is not an address.
    """
    parts = split_sub_address(address)
    if parts is None:
        raise ValueError(f"not an email address: {address!r}")
    base, _old_tag, domain = parts
    return f"{base}+{tag}@{domain}"


def reply_token_from_address(address: str, support_addresses: Iterable[str]) -> str | None:
    """``support+abc123@example.com`` -> ``'abc123'`` if ``support@example.com`` is ours.

    Case-insensitive on the base address; the token is returned lower-cased, so
    generate case-insensitive tokens (hex, base32).  ``None`` for other addresses,
    a missing/empty token, or a foreign domain.
    """
    parts = split_sub_address((address or "").lower())
    if parts is None:
        return None
    base, token, domain = parts
    if not token:
        return None
    ours = (split_sub_address(a.lower()) for a in support_addresses)
    if (base, domain) not in {(p[0], p[2]) for p in ours if p is not None}:
        return None
    return token


def reply_address(support_address: str, token: str) -> str:
    """``reply_address('support@example.com', 'abc123')`` -> ``'support+abc123@example.com'``.

    ``token`` may contain letters, digits, ``.``, ``_``, ``=`` and ``-`` (max 64);
    an existing ``+tag`` on the support address is replaced.  Raises ``ValueError``.
    """
    if not token or not _TOKEN_RE.fullmatch(token):
        raise ValueError(f"invalid reply token: {token!r}")
    return with_sub_address(support_address.lower(), token)


_MESSAGE_ID_RE = re.compile(r"<([^<>\s]+)>")


def _header_block(raw: bytes) -> str:
    end = raw.find(b"\n\n")
    end2 = raw.find(b"\r\n\r\n")
    cut = min((e for e in (end, end2) if e >= 0), default=len(raw))
    text = raw[:cut].decode("latin-1")
    return re.sub(r"\r?\n[ \t]+", " ", text)  # unfold


def conversation_keys(raw: bytes) -> set[str]:
    """Keys that tie one raw message to its conversation: its Message-ID, the ids it replies to, its
    normalised subject (a reply without headers threads by the reference in it) and its ticket reference.

    Two messages sharing a key belong to one conversation; only the headers are read (no full parse).
    """
    keys: set[str] = set()
    subject = ""
    for line in _header_block(raw).splitlines():
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name in ("message-id", "in-reply-to", "references"):
            keys.update("id:" + found.lower() for found in _MESSAGE_ID_RE.findall(value))
        elif name == "subject" and not subject:
            subject = value.strip()
    if subject:
        keys.add("subject:" + normalize_subject(subject).lower())
        match = _REFERENCE_RE.search(subject)
        if match:
            keys.add(f"reference:{match.group(1).upper()}-{int(match.group(2))}")
    return keys


def partition_conversations(messages: list[bytes], parts: int) -> list[list[int]]:
    """Split messages (in arrival order) into at most `parts` lists of indexes, each in arrival order,
    such that every conversation (messages connected through `conversation_keys`) is in one list.

    Processing the lists in parallel keeps each conversation's order: a reply never overtakes the
    message it answers. Conversations go to the least loaded list, largest first.
    """
    parent = list(range(len(messages)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owner: dict[str, int] = {}
    for index, raw in enumerate(messages):
        for key in conversation_keys(raw):
            if key in owner:
                a, b = root(owner[key]), root(index)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[key] = index
    groups: dict[int, list[int]] = {}
    for index in range(len(messages)):
        groups.setdefault(root(index), []).append(index)
    lists: list[list[int]] = [[] for _ in range(max(1, min(parts, len(groups))))]
    for group in sorted(groups.values(), key=len, reverse=True):
        min(lists, key=len).extend(group)
    return [sorted(indexes) for indexes in lists if indexes]
