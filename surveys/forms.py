from django import forms

from surveys import scoring
from surveys.models import SCALE_LABELS, SurveyInvitation
from surveys.services import MAX_COMMENT


class SurveyAnswerForm(forms.Form):
    """One radio group per question of the invitation (the first one required) and a comment."""

    comment = forms.CharField(
        label="Anything you would like to add? (optional)",
        required=False,
        max_length=MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, invitation: SurveyInvitation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.invitation = invitation
        questions = {}
        for index, kind in enumerate(invitation.kinds):
            low, high = scoring.SCALES[kind]
            labels = SCALE_LABELS[kind]
            questions[kind] = forms.TypedChoiceField(
                label=invitation.question(kind),
                choices=[(score, str(score)) for score in range(low, high + 1)],
                coerce=int,
                required=index == 0,
                empty_value=None,
                widget=forms.RadioSelect,
                error_messages={"required": "Choose a score to answer this question."},
            )
            questions[kind].scale_labels = (labels[low], labels[high])
        # Questions first, the comment last.
        self.fields = {**questions, "comment": self.fields["comment"]}

    def full_clean(self) -> None:
        super().full_clean()
        # The comment's error list is rendered as <id>_errors; screen readers announce it with the field.
        # (The score questions are radio groups: their fieldset points at the errors instead.)
        if "comment" in self.errors:
            self.fields["comment"].widget.attrs.update(
                {"aria-describedby": "id_comment_errors", "aria-invalid": "true"}
            )

    def answers(self) -> dict[str, int]:
        return {
            kind: self.cleaned_data[kind]
            for kind in self.invitation.kinds
            if self.cleaned_data.get(kind) is not None
        }
