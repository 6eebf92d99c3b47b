"""Input parsing for the workspace's forms; the services do the checking that needs the domain."""

from zoneinfo import available_timezones

from django import forms
from django.conf import settings

from tickets.models import Channel, Message, Priority, Status, Team
from tickets.services import AttachmentInput
from tickets.uploads import MultipleFileField, attachment_inputs


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
        return attachment_inputs(self.cleaned_data["attachments"])


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


class PublicAnswerForm(forms.Form):
    """A solved ticket's answer rewritten for the public support form (tickets.deflection)."""

    title = forms.CharField(max_length=200, label="Public title")
    body = forms.CharField(max_length=5000, label="Public answer", widget=forms.Textarea(attrs={"rows": 6}))
    is_published = forms.BooleanField(required=False, initial=True, label="Show it on the support form")


class CustomerMergeForm(forms.Form):
    """The customer to merge into the one whose profile this is, and whether the merge is confirmed."""

    source = forms.CharField(
        label="Customer to merge into this one",
        max_length=254,
        help_text="Their customer number, email address or phone number.",
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class ProfileForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        required=False,
        help_text="Times on the desk (the audit trail, notifications, due times) are shown in this zone.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [
            ("", f"The installation's ({settings.TIME_ZONE})"),
            *((name, name.replace("_", " ")) for name in sorted(available_timezones())),
        ]
