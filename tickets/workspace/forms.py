"""Input parsing for the workspace's forms; the services do the checking that needs the domain."""

from datetime import date, timedelta

from django import forms
from django.utils import timezone

from tickets.models import Message, Status
from tickets.reporting.metrics import MAX_RANGE_DAYS
from tickets.services import AttachmentInput


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Message",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=100_000,
        strip=True,
        error_messages={"required": "Write a message before sending."},
    )
    visibility = forms.ChoiceField(
        choices=Message.Visibility.choices, initial=Message.Visibility.PUBLIC, widget=forms.RadioSelect
    )
    submit_as = forms.ChoiceField(
        choices=[("", "Submit"), (Status.PENDING, "Submit as pending"), (Status.SOLVED, "Submit as solved")],
        required=False,
    )
    macro = forms.IntegerField(required=False, min_value=1)
    attachments = MultipleFileField(required=False)

    def attachment_inputs(self) -> list[AttachmentInput]:
        return [
            AttachmentInput(
                filename=upload.name or "attachment.bin",
                content=upload.read(),
                content_type=upload.content_type or "application/octet-stream",
            )
            for upload in self.cleaned_data["attachments"]
        ]


class MetricsPeriodForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Team")

    def __init__(self, *args, teams=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "All my teams"), *((t.pk, t.name) for t in teams)]

    @staticmethod
    def default_period() -> dict:
        today = timezone.localdate()
        return {"start": today - timedelta(days=29), "end": today}

    def clean(self) -> dict:
        data = super().clean()
        start: date | None = data.get("start")
        end: date | None = data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError("The end date is before the start date.")
            # The same limit as GET /api/v1/metrics/.
            if (end - start).days >= MAX_RANGE_DAYS:
                raise forms.ValidationError(f"Choose a period of at most {MAX_RANGE_DAYS} days.")
        return data
