# ruff: noqa: RUF001  (multilingual mail markers: Cyrillic, CJK and typographic characters are intended)
"""Extract the new, visible text of a reply: no quoted history, no signature.

Line-based heuristics with simple anchored checks only (no backtracking-prone
patterns; every check looks at most ``_MAX_PROBE`` characters of a line), so the
run time is linear in the size of the input.  The conventions are documented in
``docs/email-parsing.md`` ("Reply stripping").

In short, for plain text (:func:`extract_reply`):

* lines starting with ``>`` are quoted and dropped; unquoted text between quoted
  blocks (inline / interleaved answers, bottom-posting) is kept;
* an attribution line ("On <date>, <name> wrote:" in several languages, possibly
  wrapped over 2-3 lines) directly above a quote is dropped with it; when it is
  followed by unquoted history (Gmail-style), everything from it on is cut;
* Outlook-style header blocks (From:/Sent:/To:/Subject:, localised) and
  "-----Original Message-----" separators cut everything below them;
* forwarded messages ("---------- Forwarded message ---------", "Begin forwarded
  message:") are NOT quotes: the forwarded content is kept verbatim;
* with ``strip_signature=True`` (the default) a signature after a ``-- `` line,
  a trailing "-Name" line and a trailing device footer ("Sent from my iPhone") are
  removed as well.
"""

from __future__ import annotations

import re

from tickets.mail.parsing import HtmlNode, html_to_text, parse_html, render_text

__all__ = ["extract_reply", "extract_reply_html", "header_block_at", "header_category", "is_forward_marker"]

_MAX_PROBE = 400  # characters of a line any check looks at
_MAX_HTML = 4 * 1024 * 1024

# ---------------------------------------------------------------------------
# Plain text
# ---------------------------------------------------------------------------


def extract_reply(text: str, *, strip_signature: bool = True) -> str:
    """Return the visible new text of a plain-text reply.

    ``strip_signature=False`` keeps ``-- `` signatures and device footers and only
    removes quoted history (this is what mailgun/talon does).  The result may be
    ``''`` (e.g. a reply that only quotes); callers should then fall back to the
    full text.
    """
    if not text:
        return ""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = _strip_quotes(lines)
    if strip_signature:
        kept = _strip_signature(kept)
    return _join(kept)


def _probe(line: str) -> str:
    return line[:_MAX_PROBE].strip()


def _is_quoted(line: str) -> bool:
    return line[:_MAX_PROBE].lstrip(" \t").startswith(">")


def _is_blank(line: str | None) -> bool:
    return line is None or not line[:_MAX_PROBE].strip()


def _strip_quotes(lines: list[str]) -> list[str | None]:
    """Drop quoted blocks and cut at the start of unquoted history.

    Returns the kept lines; ``None`` marks where a quoted block was removed.
    """
    out: list[str | None] = []
    n = len(lines)
    categories: dict[int, str | None] = {}
    i = 0
    while i < n:
        line = lines[i]
        probe = _probe(line)
        if (
            _is_device_footer(line, strict=True)
            and (i == 0 or _is_blank(lines[i - 1]))
            and not _is_blank_to_end(lines, i + 1)
        ):
            out.append(line)  # "Sent from my iPhone" ends the new text: what follows is history
            break
        if (
            _PLAIN_LINE_RE.fullmatch(probe)
            and not _colon_in(lines, i + 1, i + 3)
            and not _ends_like_attribution_without_colon(lines, i, i + 3)
        ):
            out.append(line)  # fast path: no marker character here, no attribution can end below
            i += 1
            continue
        if probe.startswith(">"):
            j = i
            while j < n:
                if _is_quoted(lines[j]) or _is_wrapped_quote_continuation(lines, j):
                    j += 1
                    continue
                if _is_blank(lines[j]):
                    k = j
                    while k < n and _is_blank(lines[k]):
                        k += 1
                    if k < n and _is_quoted(lines[k]):
                        j = k
                        continue
                break
            _drop_trailing_attribution(out)
            out.append(None)
            i = j
            continue
        if is_forward_marker(probe):
            out.extend(lines[i:])
            break
        header_lines = _attribution_length(lines, i)
        if header_lines:
            k = i + header_lines
            while k < n and _is_blank(lines[k]):
                k += 1
            if k < n and _is_quoted(lines[k]):
                out.append(None)
                i = k
                continue
            if _attribution_length(lines, i, strict=True):
                break  # unquoted history follows (Gmail plain text, Yahoo, ...)
        if _is_original_message_separator(probe) or header_block_at(lines, i, categories):
            break
        if _is_underscore_line(probe) and _list_footer_follows(lines, i):
            break
        out.append(line)
        i += 1
    _trim_trailing_separators(out)
    return out


_PLAIN_LINE_RE = re.compile(r"[^:：>_=*\-]*")
# A quoted line this long was probably hard-wrapped by the client (at 72-78 characters), so an unquoted
# line right below it may be its continuation that lost the "> " prefix.
_WRAP_WIDTH = 60
_SENTENCE_END = (".", "!", "?", ":", ";", '"', "”", ")")


def _is_wrapped_quote_continuation(lines: list[str], j: int) -> bool:
    """Is unquoted line ``j`` the tail of the hard-wrapped quoted line above it?

    Clients wrap quoted paragraphs without repeating ``>`` ("> ... pharetra d" / "ignissim odio?").
    The tail sits directly between a long quoted line and another quoted line (or ends the quote) and
    reads as the middle of a sentence: it starts in lower case, or the line above stops mid-sentence.
    An interleaved answer starts a sentence of its own, so it is kept.
    """
    if j == 0:
        return False
    line = _probe(lines[j])
    above = lines[j - 1][:_MAX_PROBE].rstrip()
    if not line or line.startswith(">") or not _is_quoted(above) or len(above) < _WRAP_WIDTH:
        return False
    if len(line) > _WRAP_WIDTH + 20:
        return False
    below_quoted = j + 1 < len(lines) and _is_quoted(lines[j + 1])
    starts_lower = line[:1].islower()
    if below_quoted:
        return starts_lower or not above.endswith(_SENTENCE_END)
    return starts_lower and (j + 1 == len(lines) or _is_blank(lines[j + 1]))


def _is_blank_to_end(lines: list[str], start: int) -> bool:
    return all(_is_blank(line) for line in lines[start:])


def _ends_like_attribution_without_colon(lines: list[str], start: int, stop: int) -> bool:
    return any(
        "@" in line[:_MAX_PROBE] and line[:_MAX_PROBE].rstrip().lower().endswith(_COLONLESS_VERBS)
        for line in lines[start:stop]
    )


def _colon_in(lines: list[str], start: int, stop: int) -> bool:
    return any(":" in line[:_MAX_PROBE] or "：" in line[:_MAX_PROBE] for line in lines[start:stop])


def _drop_trailing_attribution(out: list[str | None]) -> None:
    """Remove an unrecognised attribution line directly above a quoted block.

    Only lines ending with ':' that contain an email address qualify, e.g.
    ``Bob Example <bob@example.com> hat geschrieben:``.
    """
    idx = len(out) - 1
    blanks = 0
    while idx >= 0 and out[idx] is not None and _is_blank(out[idx]) and blanks < 2:
        idx -= 1
        blanks += 1
    if idx < 0 or out[idx] is None:
        return
    candidate = _probe(out[idx] or "")
    if candidate.endswith((":", "：")) and "@" in candidate and len(candidate) <= 300:
        del out[idx:]


def _trim_trailing_separators(out: list[str | None]) -> None:
    while out and (out[-1] is None or not out[-1].strip() or _is_separator_line(out[-1])):
        out.pop()


def _is_separator_line(line: str) -> bool:
    probe = _probe(line)
    return len(probe) >= 3 and not probe.strip("-_=*~ \t")


# -- attribution lines ("On ... wrote:") ------------------------------------

_DIGIT_RE = re.compile(r"\d")
_ATTRIBUTION_STARTS = frozenset(
    {"on", "am", "le", "el", "il", "em", "op", "den", "w", "dnia", "dne", "в", "på", "pe"}
)
# (suffix, intro word or None): the line must end with the suffix; it qualifies if
# it starts with the intro word or contains a digit / an email address.
_ATTRIBUTION_SUFFIXES: tuple[tuple[str, str | None], ...] = (
    ("wrote:", "on"),
    ("writes:", "on"),
    ("a écrit :", "le"),
    ("a écrit:", "le"),
    ("a ecrit :", "le"),
    ("a ecrit:", "le"),
    ("escribió:", "el"),
    ("escribio:", "el"),
    ("ha scritto:", "il"),
    ("escreveu:", "em"),
    ("napisał(a):", None),
    ("napisała:", None),
    ("napisał:", None),
    ("pisze:", None),
    ("написал(а):", None),
    ("написала:", None),
    ("написал:", None),
    ("пишет:", None),
    ("kirjoitti:", None),
    ("napsal(a):", None),
    ("napsal:", None),
    ("yazdı:", None),
    ("írta:", None),
    ("a scris:", None),
    ("napísal:", None),
    ("napisao:", None),
    ("написав:", None),
    ("έγραψε:", None),
    ("đã viết:", None),
    ("님이 작성:", None),
    ("작성:", None),
    ("写道：", None),
    ("写道:", None),
)
# (word contained, intro word): German "Am ... schrieb ...:", Dutch "Op ... schreef
# ...:", Scandinavian "Den ... skrev ...:" (the name may follow the verb).
_ATTRIBUTION_VERBS: tuple[tuple[str, str], ...] = (
    ("schrieb", "am"),
    ("schreef", "op"),
    (" skrev", "den"),
)


# English attributions also come without the colon ("On <date> John Doe <john@doe.com> wrote"); they
# count only with a date and an address, since "... wrote" ends ordinary sentences too.
_COLONLESS_VERBS = ("wrote", "writes")


def _is_attribution(text: str, *, strict: bool = False) -> bool:
    """Is ``text`` (one line, or 2-3 wrapped lines joined) a quote attribution?

    ``strict`` additionally requires a digit (a date or time; used for wrapped
    headers and before cutting everything below an attribution that is not followed
    by a quote, where a false positive would lose text).
    """
    low = text.lower().lstrip("-–—* \t").strip()
    if not low or len(low) > 600:
        return False
    if low.endswith(_COLONLESS_VERBS):
        return low.split(None, 1)[0] == "on" and "@" in low and _DIGIT_RE.search(low) is not None
    if not low.endswith((":", "：")):
        return False
    first = low.split(None, 1)[0].rstrip(",")
    has_digit = _DIGIT_RE.search(low) is not None
    has_id = has_digit or "@" in low
    if strict and not has_digit:
        return False
    for suffix, intro in _ATTRIBUTION_SUFFIXES:
        if low.endswith(suffix):
            return has_id or (intro is not None and first == intro)
    for verb, intro in _ATTRIBUTION_VERBS:
        if verb in low:
            return has_id or first == intro
    # Hungarian Gmail: "Name <name@example.com> ezt írta (időpont: 2017. ápr. 18., K, 13:09):"
    if "ezt írta (" in low and low.endswith("):"):
        return has_id
    # Android / Yandex / mail.ru / Japanese Gmail: "02.04.2012 14:20, Name <name@example.com>:"
    return low.endswith(">:") and "<" in low and "@" in low and has_id


def _may_start_attribution(line: str) -> bool:
    if not line or len(line) > 300 or line.endswith((".", "!", "?")):
        return False
    low = line.lower().lstrip("-–—* \t")
    first = low.split(None, 1)[0].rstrip(",") if low else ""
    return first in _ATTRIBUTION_STARTS or low[:1].isdigit() or "@" in low or "<" in low


def _attribution_length(lines: list[str], i: int, *, strict: bool = False) -> int:
    """Number of lines (1-3) of an attribution starting at line ``i``, else 0."""
    first = _probe(lines[i])
    if not first or first.startswith(">"):
        return 0
    if _is_attribution(first, strict=strict):
        return 1
    if not _may_start_attribution(first):
        return 0
    joined = first
    for extra in (1, 2):
        if i + extra >= len(lines):
            break
        nxt = _probe(lines[i + extra])
        if nxt in (">:", ">："):
            # Gmail wraps inside the address: "... skrev Test user <test@example.com" / ">:"
            joined = f"{joined}{nxt}"
        elif not nxt or nxt.startswith(">"):
            break
        else:
            joined = f"{joined} {nxt}"
        if _is_attribution(joined, strict=True):  # wrapped headers need a date or address
            return extra + 1
    return 0


# -- Outlook-style header blocks, separators, forwards ----------------------

_HEADER_LABEL_RE = re.compile(r"\*?\s*([^\W\d_][^\W\d_'’]*(?:[ '’.-][^\W\d_]+){0,3})\s*\*?\s*[:：]")
_HEADER_LABELS: dict[str, str] = {}
for _category, _labels in {
    "from": (
        "from",
        "von",
        "de",
        "da",
        "van",
        "från",
        "fra",
        "od",
        "от",
        "lähettäjä",
        "feladó",
        "afzender",
        "remitente",
        "mittente",
        "expéditeur",
        "gönderen",
        "odesílatel",
        "发件人",
        "寄件者",
        "差出人",
    ),
    "date": (
        "sent",
        "date",
        "datum",
        "gesendet",
        "envoyé",
        "envoyé le",
        "message du",
        "date d'envoi",
        "enviado",
        "enviada",
        "enviado el",
        "fecha",
        "inviato",
        "data",
        "verzonden",
        "verstuurd",
        "skickat",
        "sendt",
        "wysłano",
        "wysłane",
        "отправлено",
        "дата",
        "lähetetty",
        "päivämäärä",
        "elküldve",
        "dátum",
        "tarih",
        "odesláno",
        "发送时间",
        "日期",
        "送信日時",
    ),
    "to": (
        "to",
        "an",
        "à",
        "a",
        "para",
        "aan",
        "till",
        "til",
        "do",
        "кому",
        "komu",
        "vastaanottaja",
        "címzett",
        "kime",
        "收件人",
        "宛先",
    ),
    "cc": ("cc", "kopie", "copie à", "cópia", "copia", "kopia", "копия", "kopio", "másolat", "抄送"),
    "subject": (
        "subject",
        "betreff",
        "objet",
        "asunto",
        "assunto",
        "oggetto",
        "onderwerp",
        "ämne",
        "emne",
        "temat",
        "тема",
        "aihe",
        "tárgy",
        "konu",
        "předmět",
        "sujet",
        "主题",
        "主旨",
        "件名",
    ),
}.items():
    for _label in _labels:
        _HEADER_LABELS[_label] = _category


def header_category(line: str) -> str | None:
    """The field a header-block line names, localized: 'from', 'date', 'to', 'cc', 'subject' or None."""
    # "==== Message du : 12/12/2016 13:20" (Orange webmail) puts its separator on the header line
    match = _HEADER_LABEL_RE.match(line[:200].strip().lstrip("= "))
    if not match:
        return None
    return _HEADER_LABELS.get(match.group(1).lower())


def header_block_at(lines: list[str], i: int, cache: dict[int, str | None] | None = None) -> bool:
    """A From/Sent/To/Subject-style block (at least From + two other fields)."""
    cache = {} if cache is None else cache

    def category_of(index: int) -> str | None:
        if index not in cache:
            cache[index] = header_category(lines[index])
        return cache[index]

    category = category_of(i)
    if category is None:
        return False
    categories = {category}
    other = 0
    for j in range(i + 1, min(len(lines), i + 12)):
        if _is_blank(lines[j]):
            break
        found = category_of(j)
        if found in categories:
            break  # a real header block has each field once
        if found:
            categories.add(found)
        else:
            other += 1  # wrapped header values
            if other > 2:
                break
    return "from" in categories and len(categories) >= 3


def _normalized_marker(probe: str) -> str:
    return probe.strip(" \t-_=*:>").lower()


_ORIGINAL_MESSAGE_MARKERS = frozenset(
    {
        "original message",
        "ursprüngliche nachricht",
        "ursprungliche nachricht",
        "message d'origine",
        "message d’origine",
        "mensaje original",
        "messaggio originale",
        "oorspronkelijk bericht",
        "ursprungligt meddelande",
        "oprindelig meddelelse",
        "opprinnelig melding",
        "alkuperäinen viesti",
        "wiadomość oryginalna",
        "oryginalna wiadomość",
        "исходное сообщение",
        "původní zpráva",
        "mensagem original",
        "eredeti üzenet",
        "orijinal mesaj",
        "orijinal ileti",
        "reply message",
        "original message follows",
        "originalnachricht",
        "original-nachricht",
        "message original",
        "mensaje de origen",
        "messaggio di origine",
        "origineel bericht",
        "oorspronkelijk e-mailbericht",
        "oprindelig besked",
        "originalmeddelelse",
        "oprindelig e-mail",
        "opprinnelig e-post",
        "opprinnelig beskjed",
        "originalmeddelande",
        "ursprungligt e-postmeddelande",
        "alkuperäinen sähköposti",
        "originalna wiadomość",
        "исходное письмо",
        "оригинальное сообщение",
        "pôvodná správa",
        "izvorna poruka",
        "originalna poruka",
        "mesaj original",
        "αρχικό μήνυμα",
        "原始邮件",
        "原始郵件",
        "元のメッセージ",
        "원본 메시지",
    }
)
_FORWARD_MARKERS = frozenset(
    {
        "forwarded message",
        "forwarded message follows",
        "begin forwarded message",
        "weitergeleitete nachricht",
        "anfang der weitergeleiteten nachricht",
        "message transféré",
        "message transfere",
        "début du message réexpédié",
        "début du message transféré",
        "mensaje reenviado",
        "inicio del mensaje reenviado",
        "messaggio inoltrato",
        "inizio messaggio inoltrato",
        "doorgestuurd bericht",
        "begin doorgestuurd bericht",
        "vidarebefordrat meddelande",
        "början på vidarebefordrat brev",
        "videresendt meddelelse",
        "videresendt melding",
        "videresendt besked",
        "wiadomość przekazana dalej",
        "пересылаемое сообщение",
        "начало переадресованного сообщения",
        "mensagem encaminhada",
        "início da mensagem encaminhada",
    }
)


def _is_original_message_separator(probe: str) -> bool:
    if len(probe) > 80 or probe[:2] not in ("--", "__", "==", "**"):
        return False
    return _normalized_marker(probe) in _ORIGINAL_MESSAGE_MARKERS


def is_forward_marker(probe: str) -> bool:
    """Is this (stripped) line a forward marker ("---------- Forwarded message ---------", ...)?"""
    if len(probe) > 80:
        return False
    marker = _normalized_marker(probe)
    return marker in _FORWARD_MARKERS or (probe.startswith("---") and marker.startswith("forwarded by "))


def _is_underscore_line(probe: str) -> bool:
    return len(probe) >= 5 and not probe.strip("_")


_LIST_FOOTER_WORDS = ("mailing list", "listinfo", "unsubscribe", "abmelden", "désinscri", "desinscri")


def _list_footer_follows(lines: list[str], i: int) -> bool:
    seen = 0
    for j in range(i + 1, min(len(lines), i + 8)):
        probe = _probe(lines[j]).lower()
        if not probe:
            continue
        if any(word in probe for word in _LIST_FOOTER_WORDS):
            return True
        seen += 1
        if seen >= 3:
            break
    return False


# -- signatures ------------------------------------------------------------

_DASH_NAME_RE = re.compile(r"-{1,2}[^\W\d_][\w.'’-]{0,30}(?: [^\W\d_][\w.'’-]{0,30}){0,3}")
_DEVICE_WORDS = frozenset(
    (
        "iphone ipad ipod android blackberry outlook mail gmail yahoo samsung galaxy mobile "
        "smartphone phone handy tablet windows huawei xiaomi pixel nokia sparrow aol proton "
        "protonmail tutanota thunderbird spark airmail bluemail edison superhuman zoho fastmail "
        "motorola sony xperia oneplus htc lg kindle surface watch device телефона iphone'a"
    ).split()
)
_DEVICE_PREFIXES = (
    "sent from ",
    "sent with ",
    "sent via ",
    "sent using ",
    "sent by ",
    "get ",
    "von meinem ",
    "gesendet von ",
    "gesendet mit ",
    "envoyé de ",
    "envoyé depuis ",
    "envoyé à partir de ",
    "enviado desde ",
    "enviado do ",
    "enviado de ",
    "inviato da ",
    "inviato dal ",
    "verzonden vanaf ",
    "verstuurd vanaf ",
    "verzonden met ",
    "skickat från ",
    "sendt fra ",
    "lähetetty ",
    "wysłane z ",
    "отправлено с ",
    "odesláno z ",
)
_DEVICE_PREFIX_INITIALS = frozenset(prefix[0] for prefix in _DEVICE_PREFIXES)
_TRAILING_URL_RE = re.compile(r"\s*(?:<[^<>\s]{1,300}>|\([^()\s]{1,300}\))$")
_WORD_RE = re.compile(r"[\w'’&.+-]+")


def _is_device_footer(line: str, *, strict: bool = False) -> bool:
    """Recognise "Sent from my iPhone", "Von meinem iPhone gesendet", "Get Outlook for iOS", ...

    Conservative: no commas, at most ~8 words, and either the English "Sent from my
    <1-5 words>" form (github/email_reply_parser's rule) or a known prefix followed by
    a device/app word.  "Sent from my desk, is much easier..." is prose and stays.
    ``strict`` (used where the footer cuts off everything below it) accepts "Get ..."
    only for "Get Outlook ...".
    """
    probe = _probe(line)
    if not probe or len(probe) > 120 or "," in probe:
        return False
    if strict and probe[:1].lower() not in _DEVICE_PREFIX_INITIALS:
        return False  # the common case, cheaply: this check runs on every line
    probe = _TRAILING_URL_RE.sub("", probe).rstrip(".!").strip()
    low = probe.lower()
    words = low.split()
    if len(words) > 9 or not all(_WORD_RE.fullmatch(w) for w in words):
        return False
    if low.startswith("sent from my ") and 4 <= len(words) <= 8:
        return True
    if not low.startswith(_DEVICE_PREFIXES):
        return False
    if strict and low.startswith("get ") and "outlook" not in words:
        return False
    return any(w.strip(".'’") in _DEVICE_WORDS for w in words[1:])


def _strip_signature(kept: list[str | None]) -> list[str | None]:
    out = list(kept)
    for idx, line in enumerate(out):
        if line is not None and line[:_MAX_PROBE].strip() == "--":
            del out[idx:]
            break
    for _ in range(4):
        _trim_trailing_separators(out)
        if not out:
            break
        last = len(out) - 1
        if _is_device_footer(out[last] or ""):
            del out[last:]
            continue
        start = last
        while start > 0 and not _is_blank(out[start - 1]):
            start -= 1
        paragraph = out[start : last + 1]
        head = _probe(paragraph[0] or "")
        if (
            start > 0
            and len(paragraph) <= 2
            and _DASH_NAME_RE.fullmatch(head)
            and head.lstrip("-")[:1].isupper()
            and not _previous_text(out, start).rstrip().endswith(":")
        ):
            del out[start:]
            continue
        break
    return out


def _previous_text(out: list[str | None], start: int) -> str:
    for idx in range(start - 1, -1, -1):
        line = out[idx]
        if line is not None and line.strip():
            return line
    return ""


def _join(kept: list[str | None]) -> str:
    segments: list[list[str]] = [[]]
    for line in kept:
        if line is None:
            segments.append([])
        else:
            segments[-1].append(line)
    texts = []
    for segment in segments:
        while segment and not segment[0].strip():
            segment.pop(0)
        while segment and not segment[-1].strip():
            segment.pop()
        if segment:
            texts.append("\n".join(segment))
    return "\n\n".join(texts).rstrip()


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

# Elements that start the quoted part: they and everything after them are removed.
_TRUNCATE_IDS = frozenset(
    {
        "divrplyfwdmsg",  # Outlook (web / 2016+)
        "olk_src_body_section",  # Outlook for Mac
        "appendonsend",  # new Outlook: marker right before the quoted part
        "mail-editor-reference-message-container",  # Outlook for Mac (new)
        "reply-intro",
    }
)
_TRUNCATE_CLASSES = frozenset({"outlookmessageheader", "zmail_extra", "ms-outlook-mobile-reference-message"})
# Elements that are quotes themselves: removed (the text around them is kept).
_REMOVE_CLASSES = frozenset(
    {
        "gmail_quote",
        "gmail_quote_container",
        "yahoo_quoted",
        "moz-cite-prefix",
        "protonmail_quote",
        "tutanota_quote",
    }
)


def extract_reply_html(html: str, *, strip_signature: bool = True) -> str:
    """Return the visible new text of an HTML reply.

    Quote containers of common clients are removed from the DOM (Gmail
    ``gmail_quote``, Yahoo ``yahoo_quoted``, Thunderbird ``moz-cite-prefix``,
    Outlook ``divRplyFwdMsg`` / ``OLK_SRC_BODY_SECTION`` / ``appendonsend`` and
    border-top "From:" blocks); ``<blockquote>`` becomes ``>``-quoted text and
    ``<hr>`` a separator line, and the result goes through :func:`extract_reply`.
    Gmail forwards (a ``gmail_quote`` starting with "Forwarded message") are kept.
    """
    if not html or not html.strip():
        return ""
    if len(html) > _MAX_HTML:
        return extract_reply(html_to_text(html), strip_signature=strip_signature)
    root = parse_html(html)
    _remove_html_quotes(root)
    return extract_reply(render_text(root), strip_signature=strip_signature)


def _remove_html_quotes(root: HtmlNode) -> None:
    removals: list[HtmlNode] = []
    truncate: HtmlNode | None = None
    for node in root.iter():
        if node.tag is None or node is root:
            continue
        attrs = node.attrs
        classes = set(attrs.get("class", "").lower().split())
        node_id = attrs.get("id", "").strip().lower()
        if node_id in _TRUNCATE_IDS or classes & _TRUNCATE_CLASSES or _is_border_top_header(node):
            truncate = node
            break
        if classes & _REMOVE_CLASSES and not _is_forward_container(node):
            removals.append(node)
    for node in removals:
        node.remove()
    if truncate is not None:
        truncate.truncate_from()


def _is_border_top_header(node: HtmlNode) -> bool:
    if node.tag not in ("div", "p", "table", "td"):
        return False
    style = node.attrs.get("style", "").lower().replace(" ", "")
    if "border-top" not in style or ("solid" not in style and "border-top-width" not in style):
        return False
    first_line = node.text_content(limit=300).replace("\xa0", " ").strip().split("\n", 1)[0]
    return header_category(first_line) in ("from", "date")


def _is_forward_container(node: HtmlNode) -> bool:
    for line in node.text_content(limit=400).split("\n")[:4]:
        probe = _probe(line.replace("\xa0", " "))
        if probe and is_forward_marker(probe):
            return True
    return False
