"""The workspace's one connection to the survey app (`surveys/`), which is built separately.

Contract the surveys app must meet (see docs/workspace.md): a model registered as
`RESPONSE_MODEL` with fields `ticket` (FK to tickets.Ticket), `kind` (str: "csat" | "nps" | "ces"),
`score` (int or null), `comment` (str), `answered_at` (datetime or null), and the scale bounds
`scale_min`/`scale_max` (ints). Without it the ticket page shows no survey panel.
"""

from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.db.models import Model

from ..models import Ticket

RESPONSE_MODEL = "surveys.SurveyResponse"


@dataclass(frozen=True)
class SurveyResult:
    kind: str
    score: int | None
    scale_min: int
    scale_max: int
    comment: str
    answered_at: datetime


def response_model() -> type[Model] | None:
    try:
        return apps.get_model(RESPONSE_MODEL)
    except (LookupError, ValueError):
        return None


def survey_available() -> bool:
    return response_model() is not None


def ticket_survey_results(ticket: Ticket) -> list[SurveyResult]:
    """The ticket's answered surveys, newest first (none without survey data)."""
    model = response_model()
    if model is None:
        return []
    rows = (
        model.objects.filter(ticket=ticket, answered_at__isnull=False)
        .order_by("-answered_at")
        .values_list("kind", "score", "scale_min", "scale_max", "comment", "answered_at")
    )
    return [SurveyResult(*row) for row in rows]
