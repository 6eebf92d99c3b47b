"""Pure score formulas for post-resolution surveys (CSAT, CES, NPS).

Shared by the API, the admin and the reports; no Django imports.  See ``docs/surveys-scoring.md``.

Every aggregate accepts either an iterable of integer scores (``[5, 4, 4, 1]``) or a mapping
``score -> count`` (``{5: 1, 4: 2, 1: 1}``).  Both are normalised by :func:`score_counts`, which
also validates every score against the survey kind's scale.

Aggregates return *unrounded* floats, or ``None`` when there are no responses: a survey nobody
answered has no satisfaction level, and reporting 0 would be indistinguishable from "everybody was
unhappy" (and would drag averages of averages down).  Round for display with :func:`round_half_up`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from numbers import Integral

__all__ = [
    "CES",
    "CSAT",
    "KINDS",
    "NPS",
    "POOR_ANSWERS",
    "SCALES",
    "ces_mean",
    "ces_percent_easy",
    "csat_percent",
    "is_poor_answer",
    "nps",
    "response_rate",
    "round_half_up",
    "score_counts",
]

CSAT = "csat"
CES = "ces"
NPS = "nps"
KINDS = (CSAT, CES, NPS)

#: Inclusive (min, max) scale of each survey kind.
SCALES: dict[str, tuple[int, int]] = {CSAT: (1, 5), CES: (1, 7), NPS: (0, 10)}

#: Inclusive (min, max) range of answers that count as poor (and trigger a follow-up).
POOR_ANSWERS: dict[str, tuple[int, int]] = {CSAT: (1, 2), CES: (1, 3), NPS: (0, 6)}

CSAT_SATISFIED = (4, 5)  # "top-2-box"
CES_EASY = (5, 7)  # low effort
NPS_PROMOTERS = (9, 10)
NPS_DETRACTORS = (0, 6)

Scores = Iterable[int] | Mapping[int, int]


def _check_kind(kind: str) -> tuple[int, int]:
    try:
        return SCALES[kind]
    except (KeyError, TypeError):
        raise ValueError(f"unknown survey kind {kind!r}; expected one of {', '.join(KINDS)}") from None


def _check_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    return int(value)


def _check_score(kind: str, score: object) -> int:
    low, high = _check_kind(kind)
    value = _check_int(score, f"{kind} score")
    if not low <= value <= high:
        raise ValueError(f"{kind} score {value} is outside the {kind} scale {low}..{high}")
    return value


def score_counts(kind: str, scores: Scores) -> dict[int, int]:
    """Normalise ``scores`` (iterable of scores, or mapping score -> count) into ``{score: count}``.

    Raises ``ValueError`` for an unknown kind, a score outside the kind's scale or a negative count,
    and ``TypeError`` for a non-integer score or count (``bool`` and ``float`` included; drop
    unanswered surveys before calling rather than passing ``None``).  Zero counts are dropped.
    """
    _check_kind(kind)
    counts: dict[int, int] = {}
    if isinstance(scores, Mapping):
        for score, count in scores.items():
            value = _check_score(kind, score)
            number = _check_int(count, f"count of {kind} score {value}")
            if number < 0:
                raise ValueError(f"count of {kind} score {value} is negative: {number}")
            if number:
                counts[value] = counts.get(value, 0) + number
    else:
        if isinstance(scores, str | bytes):
            raise TypeError("scores must be integers or a mapping score -> count, not a string")
        for score in scores:
            value = _check_score(kind, score)
            counts[value] = counts.get(value, 0) + 1
    return counts


def _share(counts: Mapping[int, int], low: int, high: int) -> float | None:
    total = sum(counts.values())
    if total == 0:
        return None
    hits = sum(count for score, count in counts.items() if low <= score <= high)
    return hits * 100 / total


def csat_percent(scores: Scores) -> float | None:
    """Percentage of CSAT responses that are 4 or 5 on the 1-5 scale (top-2-box), 0..100.

    A 3 ("neutral") counts as *not* satisfied.  ``None`` when there are no responses.
    """
    return _share(score_counts(CSAT, scores), *CSAT_SATISFIED)


def nps(scores: Scores) -> float | None:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), in -100..100.

    ``None`` when there are no responses.
    """
    counts = score_counts(NPS, scores)
    total = sum(counts.values())
    if total == 0:
        return None
    promoters = sum(c for s, c in counts.items() if NPS_PROMOTERS[0] <= s <= NPS_PROMOTERS[1])
    detractors = sum(c for s, c in counts.items() if NPS_DETRACTORS[0] <= s <= NPS_DETRACTORS[1])
    return (promoters - detractors) * 100 / total


def ces_mean(scores: Scores) -> float | None:
    """Mean CES answer on the 1-7 scale (higher = easier).  ``None`` when there are no responses."""
    counts = score_counts(CES, scores)
    total = sum(counts.values())
    if total == 0:
        return None
    return sum(score * count for score, count in counts.items()) / total


def ces_percent_easy(scores: Scores) -> float | None:
    """Percentage of CES responses that are 5, 6 or 7 (low effort), 0..100.

    ``None`` when there are no responses.
    """
    return _share(score_counts(CES, scores), *CES_EASY)


def response_rate(responded: int, sent: int) -> float | None:
    """Responses as a percentage of surveys sent, 0..100.

    ``None`` when nothing was sent.  ``ValueError`` for negative numbers or ``responded > sent``.
    """
    responded = _check_int(responded, "responded")
    sent = _check_int(sent, "sent")
    if responded < 0 or sent < 0:
        raise ValueError(f"counts must not be negative (responded={responded}, sent={sent})")
    if responded > sent:
        raise ValueError(f"more responses ({responded}) than surveys sent ({sent})")
    if sent == 0:
        return None
    return responded * 100 / sent


def is_poor_answer(kind: str, score: int) -> bool:
    """Whether one answer is poor: CSAT 1-2, CES 1-3, NPS 0-6 (detractor).

    ``ValueError`` for an unknown kind or a score outside the kind's scale.
    """
    value = _check_score(kind, score)
    low, high = POOR_ANSWERS[kind]
    return low <= value <= high


def round_half_up(value: float, digits: int = 0) -> float:
    """Round like published figures do: halves go away from zero (2.5 -> 3, -2.5 -> -3).

    Python's ``round`` uses banker's rounding on the binary value (``round(0.125, 2) == 0.12``,
    ``round(2.5) == 2``); this rounds the value's shortest decimal representation instead.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"value must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"cannot round {value!r}")
    digits = _check_int(digits, "digits")
    exponent = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(value)).quantize(exponent, rounding=ROUND_HALF_UP))
