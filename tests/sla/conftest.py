import pytest

from sla import tasks


@pytest.fixture(autouse=True)
def email_queue(monkeypatch) -> list[int]:
    """Notification ids the SLA code enqueued for email, instead of sending them to a broker."""
    queued: list[int] = []
    monkeypatch.setattr(tasks.sla_send_notification_email, "delay", queued.append)
    return queued
