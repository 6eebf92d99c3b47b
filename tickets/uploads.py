"""Uploaded files on their way to becoming ticket attachments, for every form and API that takes them."""

from collections.abc import Iterable

from django import forms
from django.core.files.uploadedfile import UploadedFile

from tickets.services import AttachmentInput


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that takes several files and cleans each one; its value is a list."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list:
        clean_one = super().clean
        if isinstance(data, list | tuple):
            return [clean_one(item, initial) for item in data]
        return [clean_one(data, initial)] if data else []


def attachment_inputs(uploads: Iterable[UploadedFile]) -> list[AttachmentInput]:
    return [
        AttachmentInput(
            filename=upload.name or "attachment.bin",
            content=upload.read(),
            content_type=upload.content_type or "application/octet-stream",
        )
        for upload in uploads
    ]
