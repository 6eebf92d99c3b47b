"""The ticket core's one connection to the surveys app: results on the ticket page, survey filters and
the survey figures of the reports. Only this module (and `tickets.adapters.sla`) may import another app
from inside `tickets` (import-linter contract in pyproject.toml)."""

from dataclasses import dataclass
from datetime import datetime

from surveys import scoring
from surveys.models import SurveyInvitation, SurveyResponse
from surveys.scoring import KINDS as SURVEY_KINDS
from surveys.scoring import SCALES
from surveys.selectors import (
    HEADLINE,
    SurveyFilters,
    survey_invitation_summary_for_ticket,
    survey_response_rate,
    survey_score_counts,
)
from tickets.models import Ticket

# What the rest of `tickets` uses of the surveys app as it is (the function below adapts the rest).
__all__ = [
    "HEADLINE",
    "SCALES",
    "SURVEY_KINDS",
    "SurveyFilters",
    "SurveyInvitation",
    "SurveyResponse",
    "scoring",
    "survey_invitation_summary_for_ticket",
    "survey_response_rate",
    "survey_score_counts",
]


@dataclass(frozen=True)
class SurveyResult:
    kind: str
    score: int | None
    scale_min: int
    scale_max: int
    comment: str
    answered_at: datetime


def ticket_survey_results(ticket: Ticket) -> list[SurveyResult]:
    """The ticket's survey answers, the latest answer first."""
    rows = (
        SurveyResponse.objects.filter(invitation__ticket=ticket)
        .order_by("-updated_at")
        .values_list("kind", "score", "comment", "updated_at")
    )
    return [
        SurveyResult(kind, score, *SCALES[kind], comment, answered_at)
        for kind, score, comment, answered_at in rows
    ]


def csat_scores(ticket_ids: list[int]) -> dict[int, tuple[int, int, int]]:
    """{ticket id: (latest CSAT score, scale min, scale max)} for the tickets that have one (one query)."""
    rows = (
        SurveyResponse.objects.filter(
            invitation__ticket_id__in=ticket_ids, kind=scoring.CSAT, score__isnull=False
        )
        .order_by("invitation__ticket_id", "-updated_at")
        .values_list("invitation__ticket_id", "score")
    )
    scale_min, scale_max = SCALES[scoring.CSAT]
    scores: dict[int, tuple[int, int, int]] = {}
    for ticket_id, score in rows:
        scores.setdefault(ticket_id, (score, scale_min, scale_max))
    return scores
