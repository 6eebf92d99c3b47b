"""Similar solved tickets: the words that describe a ticket, the ranking and the reply draft (pure).

No Django imports. The database finds candidates (PostgreSQL: full-text rank over `Ticket.search_vector`
and trigram similarity of subjects); this module turns their raw measures into one score with the two
boosts the agent cares about — a reply customers rated well, and a recent one — and makes a solved
ticket's reply into a draft for another customer.
"""

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from tickets.mail.quotes import extract_reply

# Weights of the base score: words of the conversation vs. the subject's letters.
TEXT_WEIGHT = 1.0
SUBJECT_WEIGHT = 0.8
# A CSAT of 5 (on 1-5) multiplies the score by 1 + CSAT_BOOST, a 1 by 1 - CSAT_BOOST.
CSAT_BOOST = 0.2
# The recency factor falls from 1 (solved today) towards RECENCY_FLOOR with this half-life.
RECENCY_HALF_LIFE_DAYS = 180.0
RECENCY_FLOOR = 0.7
QUERY_TERMS = 12  # distinct words of the ticket used to query (longest first)
TEXT_LIMIT = 2000  # characters of a customer message that describe a ticket
TRIGRAM_THRESHOLD = 0.3  # pg_trgm's default `%` threshold, mirrored by the SQLite fallback
# PostgreSQL: the candidate query may match about this many tickets (estimated from the planner's
# statistics before visibility and status filters); rarer terms are preferred, common ones are paired.
MATCH_BUDGET = 2_000
MAX_AND_TERMS = 3  # at most this many common terms are required together when no term is rare enough

WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
STOPWORDS = frozenset(
    """
    the and for are but not you your yours our ours was were have has had this that these those with from
    they them their there here what when where which while who whom why how can could would should will
    shall may might must does did doing done been being into onto over under again further then once
    about above below after before between through during until against all any both each few more most
    other some such only own same than too very just also out off per via hello dear thanks thank please
    regards best kind sent get got its it's i'm i've we're we've let know sorry hi hey one two yes yet
    """.split()
)


def customer_words(subject: str, first_message: str) -> str:
    """The subject and the customer's own words: quoted history and signature removed."""
    return f"{subject}\n{extract_reply(first_message or '')[:TEXT_LIMIT]}".strip()


def query_terms(text: str, limit: int = QUERY_TERMS) -> list[str]:
    """Distinct lower-case words worth searching for (no stop words), longest first, then by position."""
    seen: dict[str, int] = {}
    for position, match in enumerate(WORD.finditer(text.lower())):
        word = match.group(0)
        if word not in STOPWORDS and word not in seen:
            seen[word] = position
    ordered = sorted(seen, key=lambda word: (-len(word), seen[word]))
    return ordered[:limit]


def word_overlap(query: Iterable[str], document: str) -> float:
    """Share of the query's words found in the document (the SQLite fallback's text measure)."""
    terms = set(query)
    if not terms:
        return 0.0
    words = set(WORD.findall(document.lower()))
    return len(terms & words) / len(terms)


def _trigrams(text: str) -> set[str]:
    grams: set[str] = set()
    for word in re.findall(r"\w+", text.lower()):
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def trigram_similarity(a: str, b: str) -> float:
    """pg_trgm's `similarity()`: shared trigrams of the padded words over all trigrams of both."""
    left, right = _trigrams(a), _trigrams(b)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def candidate_query(frequencies: dict[str, float], rows: float, budget: int = MATCH_BUDGET) -> str:
    """A tsquery (to_tsquery syntax) over the ticket's most distinctive terms, matching about `budget` rows.

    `frequencies` maps each query term (letters only, so it needs no quoting) to the share of tickets
    whose search document contains it; `rows` is the number of tickets. Terms are taken rarest first
    into one OR while the estimated matches fit the budget; if not even the rarest fits alone, the
    rarest few are required together (AND, assuming independence). Empty when there are no terms.
    """
    ordered = sorted(frequencies, key=lambda term: (frequencies[term], term))
    chosen: list[str] = []
    estimated = 0.0
    for term in ordered:
        matches = frequencies[term] * rows
        if estimated + matches > budget:
            break
        chosen.append(term)
        estimated += matches
    if chosen:
        return " | ".join(chosen)
    together: list[str] = []
    matches = rows
    for term in ordered[:MAX_AND_TERMS]:
        together.append(term)
        matches *= frequencies[term]
        if matches <= budget:
            break
    return " & ".join(together)


def csat_factor(csat: int | None, scale_min: int = 1, scale_max: int = 5) -> float:
    """1 without a rating; up to 1 + CSAT_BOOST for the best rating, down to 1 - CSAT_BOOST for the worst."""
    if csat is None or scale_max <= scale_min:
        return 1.0
    position = (min(max(csat, scale_min), scale_max) - scale_min) / (scale_max - scale_min)
    return 1.0 + CSAT_BOOST * (2 * position - 1)


def recency_factor(age_days: float) -> float:
    decay = math.exp(-math.log(2) * max(age_days, 0.0) / RECENCY_HALF_LIFE_DAYS)
    return RECENCY_FLOOR + (1 - RECENCY_FLOOR) * decay


def score(
    *,
    text_rank: float,
    subject_similarity: float,
    csat: int | None,
    age_days: float,
    csat_scale: tuple[int, int] = (1, 5),
) -> float:
    """One number to sort similar tickets by (higher is more useful)."""
    base = TEXT_WEIGHT * text_rank + SUBJECT_WEIGHT * subject_similarity
    return base * csat_factor(csat, *csat_scale) * recency_factor(age_days)


@dataclass(frozen=True)
class DraftValues:
    """Who and what a reply speaks about: the names that become placeholders, then values again."""

    customer_name: str = ""
    customer_first_name: str = ""
    customer_email: str = ""
    ticket_reference: str = ""
    ticket_subject: str = ""
    agent_name: str = ""
    agent_first_name: str = ""

    def as_macro_values(self) -> dict[str, dict[str, str]]:
        return {
            "customer": {
                "name": self.customer_name,
                "first_name": self.customer_first_name,
                "email": self.customer_email,
            },
            "ticket": {"reference": self.ticket_reference, "subject": self.ticket_subject},
            "agent": {"name": self.agent_name, "first_name": self.agent_first_name},
        }


def reply_to_template(text: str, old: DraftValues) -> str:
    """The solving reply with the old ticket's names turned into macro placeholders.

    Longer values first (a full name before its first name), whole words only, so "Ana" in "Banana"
    stays; values shorter than two characters are left alone.
    """
    replacements = [
        (old.customer_email, "{{ customer.email }}"),
        (old.ticket_reference, "{{ ticket.reference }}"),
        (old.customer_name, "{{ customer.name }}"),
        (old.agent_name, "{{ agent.name }}"),
        (old.customer_first_name, "{{ customer.first_name }}"),
        (old.agent_first_name, "{{ agent.first_name }}"),
    ]
    pairs = sorted(
        ((value, placeholder) for value, placeholder in replacements if len(value) >= 2),
        key=lambda p: -len(p[0]),
    )
    if not pairs:
        return text
    pattern = re.compile("|".join(rf"(?<!\w){re.escape(value)}(?!\w)" for value, _ in pairs))
    lookup: dict[str, str] = {}
    for value, placeholder in pairs:
        lookup.setdefault(value, placeholder)
    return pattern.sub(lambda match: lookup[match.group(0)], text)
