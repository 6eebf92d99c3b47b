"""Raw inbound mail lives in Django storage, not in the database; the InboundMessage row keeps the pointer.

The storage is `STORAGES["inbound_raw"]` (local files by default, an S3-compatible bucket through
django-storages in production; see docs/email.md "Raw mail storage"). Files are content-addressed by the
SHA-256 of the exact bytes (`ab/cd/abcd….eml`), so a message delivered twice is stored once and a name
always holds the same bytes. After `HELPDESK_RAW_MAIL_RETENTION_DAYS` the raw bytes of processed, ignored
and duplicate messages are deleted by `inbound_raw_purge` (beat task and `purge_raw_mail` command);
quarantined and waiting messages keep theirs so they can be processed again.
"""

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

from tickets.models import InboundMessage

State = InboundMessage.State
# States whose raw bytes are no longer needed: the message is on a ticket, or was deliberately dropped.
DONE = (State.PROCESSED, State.IGNORED, State.DUPLICATE)


class RawMailUnavailable(Exception):
    """The raw bytes of an inbound message were deleted by the retention policy (or lost from storage)."""


def raw_storage() -> Storage:
    return storages["inbound_raw"]


def raw_mail_key(raw: bytes) -> str:
    digest = hashlib.sha256(raw).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}.eml"


def raw_mail_save(raw: bytes) -> str:
    """Store the bytes under their content address (once) and return that key."""
    key = raw_mail_key(raw)
    storage = raw_storage()
    if not storage.exists(key):
        name = storage.save(key, ContentFile(raw))
        if name != key:
            # A concurrent writer stored the same bytes first and the file storage picked another name for
            # ours: keep the content-addressed one.
            storage.delete(name)
    return key


def raw_mail_read(inbound: InboundMessage) -> bytes:
    """The raw bytes of an inbound message, from storage."""
    if inbound.raw_deleted_at is not None or not inbound.raw_key:
        raise RawMailUnavailable(
            f"The raw bytes of inbound message {inbound.pk} were deleted after the retention period."
        )
    try:
        with raw_storage().open(inbound.raw_key, "rb") as handle:
            return handle.read()
    except FileNotFoundError as error:
        raise RawMailUnavailable(
            f"The raw bytes of inbound message {inbound.pk} are missing from storage."
        ) from error


def inbound_raw_purge(*, now: datetime, retention_days: int | None = None, batch_size: int = 1000) -> int:
    """Delete the raw bytes of finished messages older than the retention period; returns how many rows.

    Bounded batches, oldest first; safe to run twice or concurrently (a row is marked once, a missing file
    is nothing to delete). A file shared by a row that still needs it (same bytes received again, or
    quarantined) is kept until that row is purged too.
    """
    days = settings.HELPDESK_RAW_MAIL_RETENTION_DAYS if retention_days is None else retention_days
    if days <= 0:
        return 0
    due = list(
        InboundMessage.objects.filter(
            state__in=DONE, received_at__lt=now - timedelta(days=days), raw_deleted_at__isnull=True
        )
        .exclude(raw_key="")
        .order_by("received_at", "pk")
        .values_list("pk", "raw_key")[:batch_size]
    )
    if not due:
        return 0
    pks = [pk for pk, _key in due]
    keys = {key for _pk, key in due}
    still_needed = set(
        InboundMessage.objects.filter(raw_key__in=keys, raw_deleted_at__isnull=True)
        .exclude(pk__in=pks)
        .values_list("raw_key", flat=True)
    )
    storage = raw_storage()
    for key in sorted(keys - still_needed):
        storage.delete(key)  # deleting a file that is already gone is not an error
    return InboundMessage.objects.filter(pk__in=pks, raw_deleted_at__isnull=True).update(raw_deleted_at=now)
