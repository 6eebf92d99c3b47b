"""Query parameters of the survey API lists (`/api/v1/survey-invitations/`, `/api/v1/survey-responses/`)."""

from django import forms
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django_filters import rest_framework as filters

from surveys.models import Kind, SurveyInvitation, SurveyResponse
from tickets.api.filtersets import (
    IdFilter,
    IntegerFilter,
    IsoDateTimeRangeFilter,
    StrictBooleanFilter,
    StrictChoiceFilter,
)


class ScoreFilter(IntegerFilter):
    """A score on any survey scale (0-10), or a 400."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, min_value=0, max_value=10, **kwargs)


class SurveyInvitationFilterSet(filters.FilterSet):
    ticket = IdFilter(field_name="ticket_id", help_text="Ticket id.")
    team = IdFilter(field_name="team_id", help_text="Team id (the ticket's team when it was solved).")
    agent = IdFilter(field_name="agent_id", help_text="User id of the agent who solved the ticket.")
    state = filters.MultipleChoiceFilter(
        choices=SurveyInvitation.State.choices, help_text="Repeat for several."
    )
    kind = StrictChoiceFilter(choices=Kind.choices, method="filter_kind", help_text="Asks this survey kind.")
    sent = StrictBooleanFilter(field_name="sent_at", lookup_expr="isnull", exclude=True)
    responded = StrictBooleanFilter(field_name="responded_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = SurveyInvitation
        fields = []

    def filter_kind(self, queryset: QuerySet[SurveyInvitation], name: str, value: str) -> QuerySet:
        # `kinds` is a JSON list; SQLite has no JSON containment, so match the quoted kind in its text.
        return queryset.annotate(kinds_text=Cast("kinds", TextField())).filter(
            kinds_text__contains=f'"{value}"'
        )


class ScoreRangeForm(forms.Form):
    def clean(self) -> dict:
        data = super().clean()
        low, high = data.get("score_min"), data.get("score_max")
        if low is not None and high is not None and low > high:
            self.add_error("score_max", f"score_max ({high}) is below score_min ({low}); swap them.")
        return data


class SurveyResponseFilterSet(filters.FilterSet):
    kind = StrictChoiceFilter(choices=Kind.choices)
    score_min = ScoreFilter(field_name="score", lookup_expr="gte", help_text="Score at least this.")
    score_max = ScoreFilter(field_name="score", lookup_expr="lte", help_text="Score at most this.")
    needs_review = StrictBooleanFilter(help_text="Emailed replies whose score could not be read.")
    poor = StrictBooleanFilter(field_name="is_poor", help_text="Poor answers (CSAT 1-2, CES 1-3, NPS 0-6).")
    team = IdFilter(field_name="invitation__team_id", help_text="Team id (when the ticket was solved).")
    ticket = IdFilter(field_name="invitation__ticket_id", help_text="Ticket id.")
    created = IsoDateTimeRangeFilter(field_name="created_at")

    class Meta:
        model = SurveyResponse
        fields = []
        form = ScoreRangeForm
