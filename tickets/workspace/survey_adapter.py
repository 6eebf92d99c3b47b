"""The survey results shown on the workspace's ticket page."""

from dataclasses import dataclass
from datetime import datetime

from surveys.models import SurveyResponse
from surveys.scoring import SCALES

from ..models import Ticket


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
