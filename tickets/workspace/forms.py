"""Input parsing for the workspace's forms; the services do the checking that needs the domain."""

from django import forms

from tickets.models import Message, Status
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
