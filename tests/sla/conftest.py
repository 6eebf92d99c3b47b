import pytest

from tickets import tasks


@pytest.fixture(autouse=True)
def email_queue(monkeypatch) -> list[int]:
    """Notification ids enqueued for email, instead of sending them to a broker."""
    queued: list[int] = []
    monkeypatch.setattr(tasks.tickets_send_notification_email, "delay", queued.append)
    return queued
