"""Raw inbound mail in Django storage, content-addressed, read back to process it, deleted after retention."""

import hashlib
import io
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.files.storage import storages
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests import factories
from tickets.email.inbound import inbound_message_process, inbound_message_retry, inbound_message_store
from tickets.email.raw_mail import RawMailUnavailable, inbound_raw_purge, raw_mail_key, raw_mail_read
from tickets.models import InboundMessage
from tickets.tasks import tickets_purge_raw_mail

pytestmark = pytest.mark.django_db

State = InboundMessage.State


def store(raw: bytes, **kwargs) -> InboundMessage:
    return inbound_message_store(raw=raw, source=InboundMessage.Source.FILE, enqueue=False, **kwargs)


def aged(inbound: InboundMessage, days: int) -> InboundMessage:
    InboundMessage.objects.filter(pk=inbound.pk).update(received_at=timezone.now() - timedelta(days=days))
    inbound.refresh_from_db()
    return inbound


def test_the_raw_bytes_go_to_storage_under_their_hash_and_the_row_keeps_the_pointer(tmp_path):
    raw = factories.email_bytes()
    path = tmp_path / "m.eml"
    path.write_bytes(raw)

    call_command("ingest_mail", str(path), stdout=io.StringIO())

    inbound = InboundMessage.objects.get()
    digest = hashlib.sha256(raw).hexdigest()
    assert inbound.raw_key == f"{digest[:2]}/{digest[2:4]}/{digest}.eml"
    assert (tmp_path / "raw-mail" / inbound.raw_key).read_bytes() == raw
    assert raw_mail_read(inbound) == raw
    assert inbound.state == State.PROCESSED
    # The database holds no copy of the message.
    assert "raw" not in {field.name for field in InboundMessage._meta.fields}


def test_the_same_bytes_received_twice_are_stored_once(tmp_path):
    first, second = store(factories.email_bytes()), store(factories.email_bytes())

    assert first.raw_key == second.raw_key
    files = [path for path in (tmp_path / "raw-mail").rglob("*") if path.is_file()]
    assert files == [tmp_path / "raw-mail" / first.raw_key]


def test_processing_reads_the_bytes_from_storage():
    inbound = inbound_message_process(inbound=store(factories.email_bytes(subject="From storage")))

    assert inbound.state == State.PROCESSED
    assert inbound.ticket.subject == "From storage"


def test_a_message_whose_bytes_are_missing_from_storage_is_quarantined_not_lost():
    inbound = store(factories.email_bytes())
    storages["inbound_raw"].delete(inbound.raw_key)

    inbound = inbound_message_process(inbound=inbound)

    assert inbound.state == State.QUARANTINED
    assert "missing from storage" in inbound.reason


def test_retention_deletes_the_bytes_of_finished_mail_and_keeps_what_may_be_needed(settings):
    settings.HELPDESK_RAW_MAIL_RETENTION_DAYS = 30
    old_ticket = aged(inbound_message_process(inbound=store(factories.email_bytes(message_id="<a@x>"))), 31)
    old_quarantined = aged(inbound_message_process(inbound=store(b"not an email at all\n")), 31)
    recent = aged(inbound_message_process(inbound=store(factories.email_bytes(message_id="<b@x>"))), 29)
    assert old_quarantined.state == State.QUARANTINED

    assert inbound_raw_purge(now=timezone.now()) == 1

    storage = storages["inbound_raw"]
    for inbound in (old_ticket, old_quarantined, recent):
        inbound.refresh_from_db()
    assert old_ticket.raw_deleted_at is not None and not storage.exists(old_ticket.raw_key)
    with pytest.raises(RawMailUnavailable, match="deleted after the retention period"):
        raw_mail_read(old_ticket)
    assert old_ticket.ticket is not None  # the ticket and its messages stay
    assert old_quarantined.raw_deleted_at is None and raw_mail_read(old_quarantined)  # kept for a retry
    assert recent.raw_deleted_at is None and raw_mail_read(recent)
    assert inbound_raw_purge(now=timezone.now()) == 0  # nothing left to do: running again changes nothing


def test_a_file_shared_with_a_message_still_kept_is_not_deleted(settings):
    settings.HELPDESK_RAW_MAIL_RETENTION_DAYS = 30
    raw = factories.email_bytes()
    old = aged(inbound_message_process(inbound=store(raw)), 40)
    again = inbound_message_process(inbound=store(raw))  # a duplicate received today: same bytes, same file
    assert again.state == State.DUPLICATE and again.raw_key == old.raw_key

    assert inbound_raw_purge(now=timezone.now()) == 1

    assert raw_mail_read(again) == raw
    aged(again, 40)
    assert inbound_raw_purge(now=timezone.now()) == 1
    assert not storages["inbound_raw"].exists(old.raw_key)


def test_a_retried_quarantined_message_still_has_its_bytes(settings):
    settings.HELPDESK_RAW_MAIL_RETENTION_DAYS = 1
    inbound = aged(inbound_message_process(inbound=store(b"not an email at all\n")), 5)
    inbound_raw_purge(now=timezone.now())

    inbound_message_retry(inbound=inbound)

    assert raw_mail_read(inbound) == b"not an email at all\n"


def test_the_command_and_the_beat_task_purge_with_the_configured_retention(settings):
    settings.HELPDESK_RAW_MAIL_RETENTION_DAYS = 10
    first = aged(inbound_message_process(inbound=store(factories.email_bytes(message_id="<1@x>"))), 11)
    second = aged(inbound_message_process(inbound=store(factories.email_bytes(message_id="<2@x>"))), 6)

    assert tickets_purge_raw_mail() == 1
    out = io.StringIO()
    call_command("purge_raw_mail", "--days", "5", stdout=out)

    assert out.getvalue().strip() == "Deleted the raw bytes of 1 inbound message(s) older than 5 day(s)."
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.raw_deleted_at and second.raw_deleted_at


def test_zero_days_keeps_raw_mail_forever(settings):
    settings.HELPDESK_RAW_MAIL_RETENTION_DAYS = 0
    aged(inbound_message_process(inbound=store(factories.email_bytes())), 4000)

    assert tickets_purge_raw_mail() == 0
    out = io.StringIO()
    call_command("purge_raw_mail", stdout=out)
    assert "kept forever" in out.getvalue()


def test_the_beat_schedule_runs_the_purge_with_an_expiry(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["tickets-purge-raw-mail"]
    assert entry["task"] == "tickets.tasks.tickets_purge_raw_mail"
    assert entry["options"]["expires"] < entry["schedule"].total_seconds()


def test_content_address_is_the_sha256_of_the_exact_bytes():
    assert raw_mail_key(b"x") != raw_mail_key(b"x\r\n")
    assert raw_mail_key(b"abc").endswith(hashlib.sha256(b"abc").hexdigest() + ".eml")


@pytest.mark.postgres
def test_the_migration_moves_existing_rows_bytes_out_of_the_database_into_storage():
    # PostgreSQL runs DDL in the test's transaction, so the rollback at the end restores the schema too
    # (SQLite cannot alter tables inside it: the test needs PostgreSQL).
    before = ("tickets", "0006_email_bounces_and_undeliverable_addresses")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    OldInbound = executor.loader.project_state([before]).apps.get_model("tickets", "InboundMessage")
    row = OldInbound.objects.create(
        raw=b"Subject: kept\r\n\r\nbody\r\n", source="file", received_at=timezone.now(), content_hash="h"
    )
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending trigger events before ALTER TABLE

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    moved = InboundMessage.objects.get(pk=row.pk)
    assert moved.raw_key == raw_mail_key(b"Subject: kept\r\n\r\nbody\r\n")
    assert raw_mail_read(moved) == b"Subject: kept\r\n\r\nbody\r\n"


def test_s3_storage_is_configured_from_the_environment():
    # Settings are read at start-up, so load them in a fresh interpreter with the S3 variables set.
    code = (
        "import django; django.setup()\n"
        "from django.core.files.storage import storages\n"
        "s = storages['inbound_raw']\n"
        "print(type(s).__module__, s.bucket_name, s.location, s.endpoint_url)\n"
        "print(s.default_acl, s.file_overwrite)\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        "HELPDESK_RAW_MAIL_STORAGE": "s3",
        "HELPDESK_RAW_MAIL_S3_BUCKET": "helpdesk-raw",
        "HELPDESK_RAW_MAIL_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
    }
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.split() == [
        "storages.backends.s3",
        "helpdesk-raw",
        "raw-mail",
        "http://127.0.0.1:9000",
        "private",
        "True",
    ]
