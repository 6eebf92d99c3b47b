# Raw inbound mail moves from the database (InboundMessage.raw) to the "inbound_raw" storage.

import hashlib

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import migrations, models

BATCH = 200


def _key(raw: bytes) -> str:
    # The content address of tickets.email.raw_mail.raw_mail_key, frozen here as migrations must be.
    digest = hashlib.sha256(raw).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}.eml"


def move_raw_bytes_to_storage(apps, schema_editor):
    InboundMessage = apps.get_model("tickets", "InboundMessage")
    storage = storages["inbound_raw"]
    # Only ids first, then each row's bytes one batch at a time: millions of rows never sit in memory.
    pks = list(InboundMessage.objects.filter(raw_key="").order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), BATCH):
        for pk, raw in InboundMessage.objects.filter(pk__in=pks[start : start + BATCH]).values_list(
            "pk", "raw"
        ):
            raw = bytes(raw or b"")
            key = _key(raw)
            if not storage.exists(key):
                storage.save(key, ContentFile(raw))
            InboundMessage.objects.filter(pk=pk).update(raw_key=key)


def move_raw_bytes_back(apps, schema_editor):
    InboundMessage = apps.get_model("tickets", "InboundMessage")
    storage = storages["inbound_raw"]
    for pk, key in InboundMessage.objects.exclude(raw_key="").values_list("pk", "raw_key").iterator():
        if storage.exists(key):
            with storage.open(key, "rb") as handle:
                InboundMessage.objects.filter(pk=pk).update(raw=handle.read())


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0006_email_bounces_and_undeliverable_addresses"),
    ]

    operations = [
        migrations.AddField(
            model_name="inboundmessage",
            name="raw_deleted_at",
            field=models.DateTimeField(
                blank=True, help_text="When the retention policy deleted the raw bytes.", null=True
            ),
        ),
        migrations.AddField(
            model_name="inboundmessage",
            name="raw_key",
            field=models.CharField(
                blank=True,
                db_index=True,
                help_text="Key of the raw bytes in the inbound_raw storage (content address: their SHA-256).",
                max_length=100,
            ),
        ),
        # Reversing re-adds the column empty (the default) before the bytes are copied back into it.
        migrations.AlterField(model_name="inboundmessage", name="raw", field=models.BinaryField(default=b"")),
        migrations.RunPython(move_raw_bytes_to_storage, move_raw_bytes_back, elidable=False),
        migrations.RemoveField(model_name="inboundmessage", name="raw"),
    ]
