"""Input parsing for the workspace's forms; the services do the checking that needs the domain."""

from datetime import date, timedelta

from django import forms
from django.utils import timezone

from tickets.models import Channel, Message, Priority, Status, Team
from tickets.reporting.metrics import date_range_error
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
        # The same limits as GET /api/v1/metrics/.
        if start and end and (error := date_range_error(start, end)):
            raise forms.ValidationError(error)
        return data


class NewTicketForm(forms.Form):
    """A ticket an agent opens for a customer; the customer is found (or created) by email or phone."""

    customer_email = forms.EmailField(label="Customer's email", required=False, max_length=254)
    customer_phone = forms.CharField(label="Customer's phone", required=False, max_length=32)
    customer_name = forms.CharField(label="Customer's name", required=False, max_length=200)
    channel = forms.ChoiceField(label="How they got in touch", choices=Channel.choices, initial=Channel.PHONE)
    team = forms.ModelChoiceField(label="Team", queryset=Team.objects.none(), empty_label=None)
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)
    subject = forms.CharField(max_length=250)
    message = forms.CharField(
        label="First message to the customer",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=100_000,
        help_text="Sent to the customer like any reply (by email when they have an address).",
    )

    def __init__(self, *args, teams, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("customer_email") and not data.get("customer_phone"):
            raise forms.ValidationError("Give the customer's email address or phone number.")
        return data
