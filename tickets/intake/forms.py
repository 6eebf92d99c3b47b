import secrets

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.urls import reverse_lazy

from tickets.models import WebFormTopic
from tickets.uploads import MultipleFileField, MultipleFileInput


class SupportRequestForm(forms.Form):
    name = forms.CharField(
        max_length=200, label="Your name", widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        max_length=254, label="Your email address", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    topic = forms.ModelChoiceField(
        queryset=WebFormTopic.objects.none(),
        required=False,
        label="What is it about? (optional)",
        empty_label="Something else",
        widget=forms.Select(attrs={"aria-describedby": "id_topic_help"}),
    )
    # With JavaScript, htmx asks for published answers like the subject while it is typed (debounced);
    # without it nothing is shown and the form works as before.
    subject = forms.CharField(
        max_length=250,
        widget=forms.TextInput(
            attrs={
                "hx-get": reverse_lazy("support:answers"),
                "hx-trigger": "input changed delay:400ms",
                "hx-target": "#suggested-answers",
                "hx-include": "#id_form_token",
                "hx-sync": "this:replace",
                "autocomplete": "off",
            }
        ),
    )
    message = forms.CharField(max_length=50_000, widget=forms.Textarea(attrs={"rows": 8}))
    attachments = MultipleFileField(
        required=False,
        label="Attachments (optional)",
        widget=MultipleFileInput(attrs={"aria-describedby": "id_attachments_help"}),
    )
    # One anonymous token per form shown: answer views are counted per form (deflection, not a person).
    form_token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    # The honeypot: hidden from people by CSS and from screen readers by aria-hidden; bots fill it.
    website = forms.CharField(required=False, label="Leave this field empty")

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("initial", {}).setdefault("form_token", secrets.token_urlsafe(16))
        super().__init__(*args, **kwargs)
        self.fields["topic"].queryset = WebFormTopic.objects.filter(is_active=True)

    @property
    def has_topics(self) -> bool:
        return self.fields["topic"].queryset.exists()

    def full_clean(self) -> None:
        super().full_clean()
        # Screen readers announce a field's errors with it (the lists are rendered as <id>_errors).
        for name in self.errors:
            if name in self.fields:
                widget_attrs = self.fields[name].widget.attrs
                described_by = [widget_attrs.get("aria-describedby", ""), f"id_{name}_errors"]
                widget_attrs["aria-describedby"] = " ".join(part for part in described_by if part)
                widget_attrs["aria-invalid"] = "true"

    def clean_attachments(self) -> list:
        files = self.cleaned_data.get("attachments") or []
        max_count = settings.HELPDESK_WEB_FORM_MAX_ATTACHMENTS
        max_bytes = settings.HELPDESK_WEB_FORM_MAX_ATTACHMENT_BYTES
        if len(files) > max_count:
            raise forms.ValidationError(
                f"You attached {len(files)} files; the limit is {max_count}. Remove some and send again."
            )
        too_big = [f for f in files if f.size > max_bytes]
        if too_big:
            names = ", ".join(f"{f.name} ({filesizeformat(f.size)})" for f in too_big)
            raise forms.ValidationError(
                f"{names}: each file can be at most {filesizeformat(max_bytes)}. "
                "Attach a smaller file or send it compressed."
            )
        return files

    @property
    def is_honeypot_filled(self) -> bool:
        return bool(self.data.get("website", "").strip())
