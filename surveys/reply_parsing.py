"""Read a score (and a comment) out of a customer's emailed reply to a survey.

Pure Python, no Django.  The rules, the word vocabulary and the reasons behind them are documented in
``docs/surveys-scoring.md``; the short version:

* ``parse_survey_reply(text, scale_min, scale_max)`` gets the visible text of the reply (quoted
  history already stripped) and the inclusive scale of the question.
* ``ParsedReply.ambiguous`` is true exactly when ``score`` is ``None``: either the reply holds no
  score at all, or it holds signals that disagree or cannot be read with confidence.  Ambiguous
  replies keep the whole (trimmed) text as the comment, for a human to read.
* When in doubt the parser says ambiguous rather than guessing.

The implementation is a linear tokenizer (possessive quantifiers only, so no regex backtracking)
followed by a few bounded look-arounds per token, so hostile input (100 KB of digits) stays fast.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["ParsedReply", "parse_survey_reply"]


@dataclass(frozen=True, slots=True)
class ParsedReply:
    """Outcome of :func:`parse_survey_reply`.

    ``score`` is an int on the requested scale or ``None``; ``comment`` is the rest of the reply
    (trimmed); ``ambiguous`` is true when no score could be recorded (always ``score is None``).
    """

    score: int | None
    comment: str
    ambiguous: bool


# --------------------------------------------------------------------------------------------------
# Vocabulary.  Words are compared after lower-casing (casefold) and removing accents, so "Très" and
# "tres", "fácil" and "facil", "äußerst" and "ausserst" are the same word.
# --------------------------------------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SATISFACTION = "satisfaction"
EASE = "ease"
LIKELIHOOD = "likelihood"

#: base word -> (family, polarity); polarity +1 positive, -1 negative, 0 the middle of any scale.
#: English, with German, French and Spanish equivalents.
BASE_WORDS: dict[str, tuple[str | None, int]] = {
    **dict.fromkeys(
        _words(
            "satisfied zufrieden satisfait satisfaite satisfaits satisfaites"
            " satisfecho satisfecha satisfechos satisfechas"
        ),
        (SATISFACTION, +1),
    ),
    **dict.fromkeys(
        _words(
            "unsatisfied dissatisfied unzufrieden insatisfait insatisfaite mecontent mecontente"
            " insatisfecho insatisfecha"
        ),
        (SATISFACTION, -1),
    ),
    **dict.fromkeys(_words("easy einfach facile facil"), (EASE, +1)),
    **dict.fromkeys(_words("difficult hard schwierig schwer difficile dificil"), (EASE, -1)),
    **dict.fromkeys(_words("likely wahrscheinlich probable"), (LIKELIHOOD, +1)),
    **dict.fromkeys(_words("unlikely unwahrscheinlich improbable"), (LIKELIHOOD, -1)),
    **dict.fromkeys(_words("neutral neutre neutro neutra"), (None, 0)),
}

#: Position in [0, 1] (0 = bottom of the scale, 1 = top) of (family, polarity, strength).
#: Strength: "extreme" (extremely ...), "strong" (very ...), "base" (no modifier), "mild" (somewhat ...).
#: Chosen so that each family lands exactly on the labels of its own survey: satisfaction on the
#: 1-5 CSAT scale, ease on the 1-7 CES scale, likelihood on the 0-10 NPS scale.
_F = Fraction
POSITIONS: dict[tuple[str, int, str], Fraction] = {}
for _family, _rows in {
    SATISFACTION: {
        "extreme": (_F(1), _F(0)),
        "strong": (_F(1), _F(0)),
        "base": (_F(3, 4), _F(1, 4)),
        "mild": (_F(3, 4), _F(1, 4)),
    },
    EASE: {
        "extreme": (_F(1), _F(0)),
        "strong": (_F(1), _F(0)),
        "base": (_F(5, 6), _F(1, 6)),
        "mild": (_F(4, 6), _F(2, 6)),
    },
    LIKELIHOOD: {
        "extreme": (_F(1), _F(0)),
        "strong": (_F(9, 10), _F(1, 10)),
        "base": (_F(7, 10), _F(3, 10)),
        "mild": (_F(6, 10), _F(4, 10)),
    },
}.items():
    for _strength, (_positive, _negative) in _rows.items():
        POSITIONS[(_family, +1, _strength)] = _positive
        POSITIONS[(_family, -1, _strength)] = _negative
del _family, _rows, _strength, _positive, _negative

MIDDLE = Fraction(1, 2)
#: "definitely" on its own answers "how likely ...?" with the top of the scale, "definitely not"
#: with the bottom; before a base word it is just an intensifier ("definitely satisfied").
DEFINITELY = "definitely"
DEFINITELY_POSITION = Fraction(1)
DEFINITELY_NOT_POSITION = Fraction(0)

EXTREME_MODIFIERS = _words(
    "extremely completely totally absolutely definitely fully entirely perfectly incredibly utterly most"
    " extrem ausserst vollig vollkommen total extremement totalement completement parfaitement"
    " extremadamente totalmente completamente sumamente"
)
STRONG_MODIFIERS = _words("very really highly super so truly sehr wirklich tres vraiment muy realmente")
MILD_MODIFIERS = _words(
    "somewhat fairly slightly moderately rather mostly reasonably kinda"
    " ziemlich eher plutot assez algo bastante"
)
ALL_MODIFIERS = EXTREME_MODIFIERS | STRONG_MODIFIERS | MILD_MODIFIERS
#: two-word mild modifiers ("a bit difficult", "kind of easy", "un peu difficile").
MILD_MODIFIER_PAIRS = frozenset(
    {("a", "bit"), ("a", "little"), ("kind", "of"), ("sort", "of"), ("un", "peu")}
)

#: Negation: these words, and any word ending in "n't" ("wasn't", "isn't").
NEGATORS = _words(
    "not no never hardly barely cannot nicht nie kein keine keineswegs pas ne jamais nunca nada"
    " dont didnt doesnt isnt wasnt werent arent wont wouldnt cant couldnt havent hasnt hadnt aint"
)
#: word sequences right before a phrase that make it "not at all ..." (the bottom of the scale).
NOT_AT_ALL_BEFORE = (
    ("not", "at", "all"),
    ("pas", "du", "tout"),
    ("uberhaupt", "nicht"),
    ("gar", "nicht"),
    ("para", "nada"),
)
#: ... and right after a negated phrase ("not satisfied at all", "not likely at all").
AT_ALL_AFTER = (("at", "all"), ("du", "tout"), ("para", "nada"), ("uberhaupt", "nicht"))
#: negation looks back at most this many words within the clause, and not past these words.
NEGATION_WINDOW = 3
CLAUSE_WORDS = _words("but and though although however yet aber und mais et pero y")
#: "neither satisfied nor dissatisfied", "weder ... noch", "ni ... ni"; a lone "neither" too.
NEITHER_NOR = {"neither": "nor", "weder": "noch", "ni": "ni"}
NEITHER_LOOKAHEAD = 6

#: a word right after a number that makes it a star rating ("5 stars", "5-star", "5stars").
STAR_WORDS = _words("star stars stern sterne etoile etoiles estrella estrellas")
#: a word right after a number that is only the score's unit ("8 points").
POINT_WORDS = _words("point points pt pts punkt punkte punto puntos")
FILLED_STARS = frozenset("\u2605\u2b50\U0001f31f")  # black star, white medium star emoji, glowing star
EMPTY_STARS = frozenset("\u2606")  # white star
ALL_STARS = FILLED_STARS | EMPTY_STARS
STAR_JOINERS = frozenset("\ufe0f\u200d")  # emoji variation selector, zero-width joiner
STAR_SCALE = 5  # a star rating without an explicit total is out of 5
#: "4 out of 5", "4 of 5", "4 von 5", "4 sur 5", "4 de 5"
FRACTION_WORDS = (("out", "of"), ("outta",), ("of",), ("von",), ("sur",), ("de",))
FRACTION_FIRST_WORDS = frozenset(words[0] for words in FRACTION_WORDS)

#: a word right after a number that makes it a quantity, not a score ("2 days", "3 times", "10 am").
UNIT_WORDS = _words(
    "second seconds sec secs minute minutes min mins hour hours hr hrs h day days week weeks wk wks"
    " month months year years yr yrs time times x attempt attempts try tries call calls email emails"
    " mail mails message messages ticket tickets reply replies people person persons agent agents"
    " item items order orders percent pct am pm o'clock oclock euro euros eur dollar dollars usd gbp"
    " pound pounds bucks kb mb gb tb business working"
    " tag tage tagen stunde stunden minuten woche wochen uhr jour jours heure heures semaine semaines"
    " dia dias hora horas minuto minutos semana semanas"
)
MONTHS = _words(
    "january february march april may june july august september october november december"
    " jan feb mar apr jun jul aug sep sept oct nov dec"
    " januar februar marz mai juni juli oktober dezember"
    " janvier fevrier mars avril juin juillet aout septembre octobre novembre decembre"
    " enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
)
#: a word before a number that makes it a reference, not a score ("ticket 1234", "order no. 55").
REFERENCE_WORDS = _words(
    "ticket case order invoice ref reference id incident request issue version ver v build release"
    " room page step line item account acct windows win iphone ios android macos osx office phone tel"
    " telephone mobile fax zip pin code port ext extension floor apt suite hd"
)
#: words and characters allowed between a reference word and its number ("ticket no. 55").
REFERENCE_FILLERS = _words("no nr num number nummer n")
REFERENCE_FILLER_CHARS = frozenset("#:.\u2116\u00b0")  # numero sign, degree sign

HYPHEN, EN_DASH, EM_DASH, MINUS = "-", "\u2013", "\u2014", "\u2212"
DASHES = HYPHEN + EN_DASH
APOSTROPHE, RIGHT_QUOTE, LEFT_QUOTE = "'", "\u2019", "\u2018"
CURRENCY = frozenset("$\u20ac\u00a3\u00a5\u20b9\u20bd\u20a9\u00a2")
NUMBER_SEPARATORS = frozenset("./:," + DASHES)
SIGNS = frozenset(HYPHEN + MINUS + "+")
IDENTIFIER_JOINERS = frozenset("_/.\\@&+" + DASHES + MINUS)
BRACKET_PAIRS = {
    "(": ")",
    "[": "]",
    "{": "}",
    '"': '"',
    "'": "'",
    "\u201c": "\u201d",
    LEFT_QUOTE: RIGHT_QUOTE,
    "\u00ab": "\u00bb",
    "*": "*",
    "_": "_",
}
#: joining punctuation dropped between a score and the comment
LEFT_JOINERS = " \t\r\n:=|,;~" + DASHES + EM_DASH
RIGHT_JOINERS = LEFT_JOINERS + ".!"

#: Labels before a number that belong to the score, not the comment ("Score: 7", "I'd say 6").
LABEL_WINDOW = 60
LABEL_RE = re.compile(
    r"""
    (?:^|(?<=\W))
    (?:
        (?:my\s+|our\s+)?(?:score|rating|answer|vote|grade|note|nps|csat|ces|bewertung)
        (?:\s+(?:is|would\s+be|ist|est|es))?
      | (?:i|i'd|id|i\s+would|i'll|i\s+will|we|we'd|we\s+would)
        \s+(?:say|give|rate|go\s+with|pick|choose|vote)
        (?:\s+(?:it|you|you\s+guys|this|us|them|the\s+support|your\s+support|the\s+service))?
        (?:\s+(?:a|an))?
    )
    \s*[:=\-\u2013\u2014]?\s*$
    """,
    re.VERBOSE,
)

#: Lines that are mail-client noise, not part of the customer's answer (matched on the whole line).
FOOTER_RE = re.compile(
    r"""
      sent\ from\ my\ [^,;:!?.]{1,60}\.?
    | sent\ from\ (?:mail|outlook|yahoo\ mail|gmail|aol|samsung\ mail|proton\ ?mail|the\ mail\ app)\b.{0,60}
    | sent\ (?:with|via|using)\ (?:proton\ ?mail|blackberry|spark|outlook|gmail|yahoo|samsung|the|my)\b.{0,80}
    | get\ outlook\ for\ .{1,40}
    | von\ meinem\ .{1,60}\ gesendet
    | gesendet\ von\ meinem\ .{1,60}
    | envoy[ée]\ (?:de|depuis)\ (?:mon|ma)\ .{1,60}
    | enviado\ desde\ mi\ .{1,60}
    | enviado\ do\ meu\ .{1,60}
    | inviato\ da(?:l\ mio)?\ .{1,60}
    | verzonden\ (?:vanaf|met)\ .{1,60}
    """,
    re.VERBOSE,
)
#: Lines from which the rest is not the customer's answer: a signature or leftover quoted history.
CUT_RE = re.compile(
    r"""
      --\ ?
    | -{2,}\ ?(?:original\ message|forwarded\ message|ursprüngliche\ nachricht|message\ d'origine)\ ?-{2,}
    | _{10,}
    | on\ .{1,250}\ wrote:?
    | am\ .{1,250}\ schrieb\ .{0,120}:?
    | le\ .{1,250}\ a\ [ée]crit\ ?:?
    | el\ .{1,250}\ escribi[óo]:?
    """,
    re.VERBOSE,
)
MAX_NOISE_LINE = 300

#: A line that is only a phone number, perhaps labelled ("Tel: +1 (555) 123-4567", "M. 0171 1234567").
MAX_PHONE_LINE = 80
MIN_PHONE_DIGITS = 7
PHONE_LINE_RE = re.compile(
    r"""
    (?:(?:tel|telephone|phone|mobile|mob|cell|fax|direct|office|whatsapp|t|m|p|f)\.?\s*[:.]?\s*)?
    \+?[\d\s().\-/]{7,50}
    (?:\s*(?:ext|x)\.?\s*\d{1,6})?
    """,
    re.VERBOSE | re.IGNORECASE,
)
#: "on a scale of 1 to 10", "from 0-10", "(1-5 scale)": the scale's bounds, not the answer.
SCALE_MENTION_RE = re.compile(
    r"""
      \b(?:scale|range)\s++(?:of|from)?\s*+\d{1,3}\s*+(?:to|-|\u2013|/|and)\s*+\d{1,3}\b
    | \bfrom\s++\d{1,3}\s*+(?:to|-|\u2013)\s*+\d{1,3}\b
    | \b\d{1,3}\s*+(?:to|-|\u2013)\s*+\d{1,3}\s*+(?:point\s++)?scale\b
    """,
    re.VERBOSE | re.IGNORECASE,
)

# One alternative per character class, each possessive: every character is read exactly once.
TOKEN_RE = re.compile(
    r"(?P<w>[^\W\d_]++(?:['\u2019][^\W\d_]++)*+)|(?P<d>\d++)|(?P<s>\s++)|(?P<o>.)",
    re.DOTALL,
)

#: longer digit runs are never read as numbers (int() refuses more than 4300 digits anyway)
MAX_NUMBER_DIGITS = 4000
WORD, DIGITS, SPACE, OTHER, IGNORED = "w", "d", "s", "o", "x"
SCORE, OUTSIDE, UNCLEAR = "score", "outside", "unclear"
#: a number and a word phrase agree when their positions are at most this far apart.
AGREEMENT_TOLERANCE = Fraction(1, 4)


def parse_survey_reply(text: str, scale_min: int, scale_max: int) -> ParsedReply:
    """Read the answer to a ``scale_min``..``scale_max`` survey question out of a reply's text.

    ``text`` is the visible text of the reply after quoted history was stripped.  Returns a
    :class:`ParsedReply`; raises ``ValueError`` for an invalid scale and ``TypeError`` when ``text``
    is not a string.  Never raises for any string.
    """
    for bound in (scale_min, scale_max):
        if isinstance(bound, bool) or not isinstance(bound, int):
            raise ValueError(f"scale bounds must be integers, got {bound!r}")
    if scale_min >= scale_max:
        raise ValueError(f"scale_min ({scale_min}) must be below scale_max ({scale_max})")
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")

    whole = text.strip()
    if not whole:
        return ParsedReply(None, "", True)
    clean = _strip_noise(unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")))
    result = _Reply(clean, scale_min, scale_max).parse()
    if result is None:
        return ParsedReply(None, whole, True)
    score, comment = result
    return ParsedReply(score, comment, False)


def _strip_noise(text: str) -> str:
    """Drop device footers ("Sent from my iPhone"), and everything from a signature delimiter or
    leftover quote header on; drop quoted lines ("> ...")."""
    kept = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(">"):
            continue
        if len(stripped) <= MAX_NOISE_LINE:
            key = stripped.casefold().replace(RIGHT_QUOTE, APOSTROPHE)
            if CUT_RE.fullmatch(key):
                break
            if FOOTER_RE.fullmatch(key):
                continue
        kept.append(line)
    return "\n".join(kept)


def _normalise_word(raw: str) -> str:
    word = raw.replace(RIGHT_QUOTE, APOSTROPHE)
    if not word.isascii():
        word = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    return word.casefold()


@dataclass(slots=True)
class _Candidate:
    status: str  # SCORE, OUTSIDE or UNCLEAR
    value: int | None
    start: int  # character span in the cleaned text, used to cut the score out of the comment
    end: int


@dataclass(slots=True)
class _Phrase:
    position: Fraction | None  # None: a negation or construction we do not dare to map
    start: int
    end: int


class _Reply:
    def __init__(self, text: str, low: int, high: int) -> None:
        self.text = text
        self.low = low
        self.high = high
        # decimal digits of the largest bound (from its bit length: str() of a huge int may raise)
        self.max_digits = max(abs(low), abs(high)).bit_length() * 30103 // 100000 + 1
        self.kinds: list[str] = []
        self.raw: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.norms: list[str] = []
        for match in TOKEN_RE.finditer(text):
            kind = match.lastgroup or OTHER
            raw = match.group()
            self.kinds.append(kind)
            self.raw.append(raw)
            self.starts.append(match.start())
            self.ends.append(match.end())
            self.norms.append(_normalise_word(raw) if kind == WORD else raw)
        self._ignore_addresses()
        self._ignore_regions()

    # ---------------------------------------------------------------- tokens

    def _ignore_addresses(self) -> None:
        """URLs and e-mail addresses hold digits and words that are neither scores nor answers."""
        kinds, n = self.kinds, len(self.kinds)
        i = 0
        while i < n:
            if kinds[i] == SPACE:
                i += 1
                continue
            j = i
            while j < n and kinds[j] != SPACE:
                j += 1
            chunk = self.text[self.starts[i] : self.ends[j - 1]]
            lowered = chunk.casefold()
            at = chunk.find("@")
            if "://" in chunk or lowered.startswith("www.") or (at > 0 and "." in chunk[at:]):
                for k in range(i, j):
                    kinds[k] = IGNORED
            i = j

    def _ignore_regions(self) -> None:
        """Phone-number lines ("Tel: +1 (555) 123-4567") and scale descriptions ("on a scale of 1 to
        10") hold numbers that are not the answer."""
        spans = [m.span() for m in SCALE_MENTION_RE.finditer(self.text)]
        offset = 0
        for line in self.text.split("\n"):
            if (
                len(line) <= MAX_PHONE_LINE
                and PHONE_LINE_RE.fullmatch(line.strip())
                and sum(c.isdigit() for c in line) >= MIN_PHONE_DIGITS
            ):
                spans.append((offset, offset + len(line)))
            offset += len(line) + 1
        for span_start, span_end in spans:
            k = bisect.bisect_left(self.starts, span_start)
            while k < len(self.kinds) and self.starts[k] < span_end:
                if self.kinds[k] != SPACE:
                    self.kinds[k] = IGNORED
                k += 1

    def _glued(self, i: int) -> bool:
        """Token ``i`` exists and is not whitespace (so it touches its neighbour)."""
        return 0 <= i < len(self.kinds) and self.kinds[i] != SPACE

    def _skip_inline_space(self, i: int, step: int) -> int:
        """Index of the next token from ``i`` in direction ``step``, skipping one same-line space."""
        if 0 <= i < len(self.kinds) and self.kinds[i] == SPACE and "\n" not in self.raw[i]:
            return i + step
        return i

    def _is(self, i: int, kind: str, values: frozenset[str] | set[str] | None = None) -> bool:
        if not 0 <= i < len(self.kinds) or self.kinds[i] != kind:
            return False
        return values is None or self.norms[i] in values

    def _int(self, i: int) -> int | None:
        """Value of a digit token, or None when it has more digits than any number on the scale."""
        digits = self.raw[i].lstrip("0") or "0"
        if len(digits) > min(self.max_digits + 1, MAX_NUMBER_DIGITS):
            return None
        return int(digits)

    # ---------------------------------------------------------------- numbers

    def numbers(self) -> list[_Candidate]:
        found: list[_Candidate] = []
        consumed: set[int] = set()
        kinds, n = self.kinds, len(self.kinds)
        i = 0
        while i < n:
            if i in consumed:
                i += 1
                continue
            if kinds[i] == OTHER and self.raw[i] in ALL_STARS:
                end, filled, empty = self._star_run(i)
                total = filled + empty if empty else STAR_SCALE
                found.append(self._fraction(filled, total, self.starts[i], self.ends[end - 1]))
                if self._settled(found):
                    return found
                i = end
                continue
            if kinds[i] != DIGITS:
                i += 1
                continue
            j = i
            while j + 2 < n and self._is(j + 1, OTHER, NUMBER_SEPARATORS) and kinds[j + 2] == DIGITS:
                j += 2
            candidate, last = self._number(i, j, consumed)
            if candidate is not None:
                found.append(candidate)
                if self._settled(found):
                    return found
            i = max(j, last) + 1
        return found

    @staticmethod
    def _settled(found: list[_Candidate]) -> bool:
        """The newest candidate already makes the reply ambiguous: no need to read further."""
        newest = found[-1]
        return newest.status != SCORE or newest.value != found[0].value

    def _star_run(self, i: int) -> tuple[int, int, int]:
        """(end index, filled, empty) of the star symbols starting at ``i`` ("★★★★☆", "⭐ ⭐ ⭐")."""
        filled = empty = 0
        n = len(self.kinds)
        j = i
        while j < n:
            raw = self.raw[j]
            if raw in FILLED_STARS:
                filled += 1
            elif raw in EMPTY_STARS:
                empty += 1
            elif raw in STAR_JOINERS or (
                self.kinds[j] == SPACE
                and len(raw) <= 2
                and "\n" not in raw
                and j + 1 < n
                and self.raw[j + 1] in ALL_STARS
            ):
                pass
            else:
                break
            j += 1
        return j, filled, empty

    def _number(self, first: int, last: int, consumed: set[int]) -> tuple[_Candidate | None, int]:
        """Classify the number made of tokens ``first``..``last`` (digits joined by separators).

        Returns (candidate or None when it is clearly not a score, last token index used).
        """
        raw, kinds, norms = self.raw, self.kinds, self.norms
        parts = list(range(first, last + 1, 2))
        seps = [raw[k] for k in range(first + 1, last, 2)]
        start, end = self.starts[first], self.ends[last]

        # ---- left context
        before = first - 1
        sign = None
        if self._is(before, OTHER, SIGNS) and not (
            before > 0 and kinds[before - 1] in (WORD, DIGITS, IGNORED)
        ):
            sign = raw[before]
            start = self.starts[before]
        elif self._glued(before):
            if kinds[before] in (WORD, IGNORED):
                return None, last  # "HD1042", "v2", part of a URL
            char = raw[before]
            if char in CURRENCY or char in "#\u2116":
                return None, last  # "$50", "#1234"
            if char in IDENTIFIER_JOINERS and self._glued(before - 1) and kinds[before - 1] != OTHER:
                return None, last  # "HD-1042", "COVID-19", "page/5"
        if self._after_reference_word(before - 1 if sign is not None else before):
            return None, last  # "ticket 1234", "order no. 55", "March 3"

        # ---- the number itself
        if len(parts) > 1:
            if all(sep == ":" for sep in seps):
                return None, last  # 10:30, 1:30:00
            if len(parts) > 2:
                if len(set(seps)) == 1 and seps[0] in "/.-":
                    return None, last  # 12/03/2025, 2025-03-12, 1.2.3, 555-123-4567
                return _Candidate(UNCLEAR, None, start, end), last  # 4.5/5, 1,000,000
            if seps[0] == "/":
                if sign is not None:
                    return _Candidate(UNCLEAR, None, start, end), last
                numerator, denominator = self._int(parts[0]), self._int(parts[1])
                if (raw[parts[0]], raw[parts[1]]) == ("24", "7"):
                    return None, last  # "24/7 support"
                after = last + 1
                if self._is(after, WORD):
                    if norms[after] not in STAR_WORDS | POINT_WORDS:
                        return _Candidate(UNCLEAR, None, start, end), last
                    end, last = self.ends[after], after
                else:
                    end, last = self._unit_suffix(last, end)
                return self._fraction(numerator, denominator, start, end), last
            if seps[0] == "-" and sum(len(raw[k]) for k in parts) >= 6:
                return None, last  # 555-1234 (phone number), 2025-03
            return _Candidate(UNCLEAR, None, start, end), last  # 4.5, 4,5, 4-5

        value = self._int(first)
        if sign is not None and sign != "+" and value is not None:
            value = -value

        # ---- right context
        after = last + 1
        star_total = None
        if self._glued(after):
            if kinds[after] == WORD:
                if norms[after] in STAR_WORDS:
                    star_total, end, last = STAR_SCALE, self.ends[after], after
                elif norms[after] in POINT_WORDS:
                    end, last = self.ends[after], after
                else:
                    return None, last  # 3rd, 10am, 2fa, 5k
            elif kinds[after] == IGNORED:
                return None, last
            else:
                char = raw[after]
                if char in "%‰°" or char in CURRENCY:
                    return None, last
                if char in DASHES and self._is(after + 1, WORD):
                    word = norms[after + 1]
                    if word in STAR_WORDS:
                        star_total, end, last = STAR_SCALE, self.ends[after + 1], after + 1
                    elif word in POINT_WORDS:
                        end, last = self.ends[after + 1], after + 1
                    elif word in UNIT_WORDS or word in MONTHS:
                        return None, last  # 2-day, 24-hour
        if star_total is None and last == first:
            nxt = self._skip_inline_space(after, +1)
            if self._is(nxt, WORD) and (norms[nxt] in UNIT_WORDS or norms[nxt] in MONTHS):
                return None, last  # 2 days, 10 am, 3 March
            denominator_at, denominator_end = self._spaced_denominator(after)
            if denominator_at is not None:
                if sign is not None:
                    return _Candidate(UNCLEAR, None, start, self.ends[denominator_at]), denominator_at
                end, last = self._unit_suffix(denominator_at, self.ends[denominator_at])
                if denominator_end is not None:
                    return _Candidate(UNCLEAR, None, start, end), last
                return self._fraction(value, self._int(denominator_at), start, end), last
            if self._is(nxt, WORD, STAR_WORDS):
                star_total, end, last = STAR_SCALE, self.ends[nxt], nxt
            elif self._is(nxt, WORD, POINT_WORDS):
                end, last = self.ends[nxt], nxt
            elif nxt < len(kinds) and raw[nxt] in FILLED_STARS:
                run_end, filled, empty = self._star_run(nxt)
                if not empty and filled in (1, value):  # "5⭐", "5 ⭐", "3 ★★★"
                    star_total, end, last = STAR_SCALE, self.ends[run_end - 1], run_end - 1
                    consumed.update(range(nxt, run_end))
        if sign == "+":
            return _Candidate(UNCLEAR, None, start, end), last  # "+1" is an idiom, not a score
        if star_total is not None:
            if sign is not None:
                return _Candidate(UNCLEAR, None, start, end), last
            return self._fraction(value, star_total, start, end), last
        return self._plain(value, start, end), last

    def _after_reference_word(self, i: int) -> bool:
        """Whether the tokens before index ``i`` (inclusive) read "ticket", "order no.", "March"."""
        steps = 0
        while i >= 0 and steps < 6:
            kind = self.kinds[i]
            if kind == SPACE:
                if "\n" in self.raw[i]:
                    return False
            elif kind == OTHER:
                if self.raw[i] not in REFERENCE_FILLER_CHARS:
                    return False
            elif kind == WORD:
                if self.norms[i] not in REFERENCE_FILLERS:
                    return self.norms[i] in REFERENCE_WORDS or self.norms[i] in MONTHS
            else:
                return False
            i -= 1
            steps += 1
        return False

    def _spaced_denominator(self, after: int) -> tuple[int | None, int | None]:
        """Find "/ 10", "out of 5", "of 5" after a number.

        Returns (index of the denominator's digits or None, index of a further separator if the
        denominator is itself a compound like "of 2.5", else None).
        """
        i = self._skip_inline_space(after, +1)
        if i >= len(self.kinds) or (self.raw[i] != "/" and self.norms[i] not in FRACTION_FIRST_WORDS):
            return None, None
        found = None
        if self._is(i, OTHER, {"/"}):
            found = self._skip_inline_space(i + 1, +1)
        else:
            for words in FRACTION_WORDS:
                k = i
                for word in words:
                    if not self._is(k, WORD, {word}):
                        break
                    k = self._skip_inline_space(k + 1, +1)
                else:
                    found = k
                    break
        if found is None or not self._is(found, DIGITS):
            return None, None
        if self._is(found + 1, OTHER, NUMBER_SEPARATORS) and self._is(found + 2, DIGITS):
            return found, found + 1
        if (
            self._glued(found + 1)
            and self.kinds[found + 1] in (WORD, IGNORED)
            and self.norms[found + 1] not in STAR_WORDS | POINT_WORDS
        ):
            return found, found + 1
        return found, None

    def _unit_suffix(self, last: int, end: int) -> tuple[int, int]:
        """Extend a fraction over a following "stars"/"points" word ("4/5 stars", "4 of 5 points")."""
        nxt = self._skip_inline_space(last + 1, +1)
        if self._is(nxt, WORD, STAR_WORDS | POINT_WORDS):
            return self.ends[nxt], nxt
        if self._is(last + 1, OTHER, {"-"}) and self._is(last + 2, WORD, STAR_WORDS | POINT_WORDS):
            return self.ends[last + 2], last + 2
        return end, last

    def _plain(self, value: int | None, start: int, end: int) -> _Candidate:
        if value is not None and self.low <= value <= self.high:
            return _Candidate(SCORE, value, start, end)
        return _Candidate(OUTSIDE, value, start, end)

    def _fraction(self, numerator: int | None, denominator: int | None, start: int, end: int) -> _Candidate:
        """ "9/10" is 9 only on a scale whose top is 10; we never rescale."""
        if denominator != self.high or numerator is None or numerator > denominator:
            return _Candidate(UNCLEAR, None, start, end)
        return self._plain(numerator, start, end)

    # ---------------------------------------------------------------- words

    def phrases(self) -> list[_Phrase]:
        """Scale words ("very satisfied", "not easy", "neutral") with their positions in [0, 1]."""
        words: list[int] = []  # token indexes of words
        clause: list[int] = []  # clause number of each word
        current = 0
        previous = -1
        for i, kind in enumerate(self.kinds):
            if kind != WORD:
                continue
            if previous >= 0 and not self._same_clause(previous, i):
                current += 1
            words.append(i)
            clause.append(current)
            previous = i
        norms = [self.norms[i] for i in words]
        found: list[_Phrase] = []
        used: set[int] = set()
        for k, word in enumerate(norms):
            if k in used:
                continue
            if word in NEITHER_NOR:
                phrase = self._neither(k, words, norms, clause, used)
                if phrase is not None:
                    found.append(phrase)
                continue
            if word == DEFINITELY:
                phrase = self._definitely(k, words, norms, clause)
                if phrase is not None:
                    found.append(phrase)
                continue
            if word in BASE_WORDS:
                found.append(self._base(k, words, norms, clause))
        return found

    def _same_clause(self, left: int, right: int) -> bool:
        """Words ``left`` < ``right`` are in one clause: only same-line spaces or one glued hyphen."""
        between = range(left + 1, right)
        if len(between) != 1:
            return False
        k = between.start
        if self.kinds[k] == SPACE:
            return "\n" not in self.raw[k]
        return self.raw[k] in DASHES

    def _base(self, k: int, words: list[int], norms: list[str], clause: list[int]) -> _Phrase:
        family, polarity = BASE_WORDS[norms[k]]
        tokens = self.starts, self.ends

        def word(at: int) -> str | None:
            return norms[at] if 0 <= at < len(norms) and clause[at] == clause[k] else None

        strength = "base"
        first = k
        if word(k - 1) in EXTREME_MODIFIERS:
            strength, first = "extreme", k - 1
        elif word(k - 1) in STRONG_MODIFIERS:
            strength, first = "strong", k - 1
        elif word(k - 1) in MILD_MODIFIERS:
            strength, first = "mild", k - 1
        elif (word(k - 2), word(k - 1)) in MILD_MODIFIER_PAIRS:
            strength, first = "mild", k - 2
        while word(first - 1) in ALL_MODIFIERS:
            first -= 1  # "very very satisfied"

        not_at_all = False
        for sequence in NOT_AT_ALL_BEFORE:
            size = len(sequence)
            if tuple(word(first - size + m) for m in range(size)) == sequence:
                not_at_all, first = True, first - size
                break
        negated = not_at_all
        if not negated:
            for back in range(1, NEGATION_WINDOW + 1):
                previous = word(first - back)
                if previous is None or previous in CLAUSE_WORDS:
                    break
                if previous in NEGATORS or previous.endswith("n't"):
                    negated, first = True, first - back
                    while word(first - 1) in ALL_MODIFIERS:
                        first -= 1  # "definitely not satisfied", "really not easy"
                    break
        last = k
        if negated:
            for sequence in AT_ALL_AFTER:
                size = len(sequence)
                if tuple(word(k + 1 + m) for m in range(size)) == sequence:
                    not_at_all, last = True, k + size
                    break
        start, end = tokens[0][words[first]], tokens[1][words[last]]

        if polarity == 0:
            return _Phrase(None if negated else MIDDLE, start, end)
        assert family is not None
        if not negated:
            return _Phrase(POSITIONS[(family, polarity, strength)], start, end)
        if polarity > 0 and not_at_all and strength == "base":
            return _Phrase(POSITIONS[(family, -1, "extreme")], start, end)  # not at all satisfied
        if polarity > 0 and strength == "base":
            return _Phrase(POSITIONS[(family, -1, "base")], start, end)  # not satisfied, wasn't easy
        return _Phrase(None, start, end)  # not very easy, not difficult, not unlikely: unclear

    def _neither(
        self, k: int, words: list[int], norms: list[str], clause: list[int], used: set[int]
    ) -> _Phrase | None:
        """ "neither satisfied nor dissatisfied" (and a lone "neither") is the middle of the scale."""
        nor = NEITHER_NOR[norms[k]]
        for m in range(k + 1, min(len(norms), k + 1 + NEITHER_LOOKAHEAD)):
            if clause[m] != clause[k]:
                break
            if norms[m] == nor and m + 1 < len(norms) and clause[m + 1] == clause[k]:
                following = m + 1
                if norms[following] in ALL_MODIFIERS:
                    following += 1
                if (
                    following < len(norms)
                    and clause[following] == clause[k]
                    and norms[following] in BASE_WORDS
                ):
                    used.update(range(k, following + 1))
                    return _Phrase(MIDDLE, self.starts[words[k]], self.ends[words[following]])
                return None
        if norms[k] == "neither" and (k + 1 == len(norms) or clause[k + 1] != clause[k]):
            return _Phrase(MIDDLE, self.starts[words[k]], self.ends[words[k]])  # a lone "Neither."
        return None

    def _definitely(self, k: int, words: list[int], norms: list[str], clause: list[int]) -> _Phrase | None:
        """ "definitely" answers "how likely ...?" with the top; "definitely not" with the bottom."""

        def word(at: int) -> str | None:
            return norms[at] if 0 <= at < len(norms) and clause[at] == clause[k] else None

        following = word(k + 1)
        if following in BASE_WORDS:
            return None  # an intensifier: "definitely satisfied" is read at the base word
        start = self.starts[words[k]]
        previous = word(k - 1)
        if previous is not None and (previous in NEGATORS or previous.endswith("n't")):
            return _Phrase(None, self.starts[words[k - 1]], self.ends[words[k]])
        if following in NEGATORS or (following or "").endswith("n't"):
            after = word(k + 2)
            if after in BASE_WORDS or (after in ALL_MODIFIERS and word(k + 3) in BASE_WORDS):
                return None  # "definitely not satisfied" is read at the base word
            return _Phrase(DEFINITELY_NOT_POSITION, start, self.ends[words[k + 1]])
        return _Phrase(DEFINITELY_POSITION, start, self.ends[words[k]])

    # ---------------------------------------------------------------- decision

    def to_score(self, position: Fraction) -> int | None:
        """Map a position in [0, 1] onto the scale; halves round away from the middle.

        The exact middle of an even-sized scale (e.g. "neutral" on 1-4) has no answer: None.
        """
        exact = position * (self.high - self.low)
        if position == MIDDLE and exact.denominator != 1:
            return None
        if position >= MIDDLE:
            steps = math.floor(exact + Fraction(1, 2))
        else:
            steps = math.ceil(exact - Fraction(1, 2))
        return self.low + steps

    def parse(self) -> tuple[int, str] | None:
        numbers = self.numbers()
        phrases = self.phrases()
        if any(c.status != SCORE for c in numbers) or any(p.position is None for p in phrases):
            return None
        values = {c.value for c in numbers}
        if len(values) > 1:
            return None
        if values:
            value = numbers[0].value
            assert value is not None
            position = Fraction(value - self.low, self.high - self.low)
            if any(
                abs(position - p.position) > AGREEMENT_TOLERANCE for p in phrases if p.position is not None
            ):
                return None
            primary = numbers[0]
            score, start, end = value, primary.start, primary.end
            start = self._label_start(start)
        else:
            mapped = {self.to_score(p.position) for p in phrases if p.position is not None}
            if len(mapped) != 1 or None in mapped:
                return None
            mapped_score = mapped.pop()
            assert mapped_score is not None
            score, start, end = mapped_score, phrases[0].start, phrases[0].end
            if len(phrases) > 1 or not self._stands_alone(start, end):
                # a phrase inside a sentence stays: cutting it would change what the customer said
                return score, self.text.strip()
        return score, self._comment(start, end)

    def _stands_alone(self, start: int, end: int) -> bool:
        """A phrase opens the reply and is followed by punctuation, a line break or nothing."""
        if self.text[:start].strip(LEFT_JOINERS):
            return False
        right = self.text[end:].lstrip(" \t")
        return not right or right[0] in RIGHT_JOINERS or right[0] in "?)\n"

    def _label_start(self, start: int) -> int:
        """Move the start of a number back over a label on the same line ("Score: 7", "I'd say 6")."""
        line_start = self.text.rfind("\n", max(0, start - LABEL_WINDOW), start) + 1
        window_start = max(line_start, start - LABEL_WINDOW)
        window = self.text[window_start:start].casefold().replace(RIGHT_QUOTE, APOSTROPHE)
        match = LABEL_RE.search(window)
        return window_start + match.start() if match else start

    def _comment(self, start: int, end: int) -> str:
        text = self.text
        while (
            start > 0
            and end < len(text)
            and text[start - 1] in BRACKET_PAIRS
            and text[end] == BRACKET_PAIRS[text[start - 1]]
        ):
            start, end = start - 1, end + 1
        left = text[:start].rstrip(LEFT_JOINERS)
        right = text[end:].lstrip(RIGHT_JOINERS)
        gap = text[len(left) : start] + text[end : len(text) - len(right)]
        if left and right:
            joiner = "\n" if "\n" in gap else ", " if "," in gap else " "
            comment = left + joiner + right
        else:
            comment = left or right
        comment = comment.strip()
        if not any(c.isalnum() or unicodedata.category(c) == "So" for c in comment):
            return ""
        return comment
