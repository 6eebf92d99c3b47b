import pytest


@pytest.fixture(autouse=True)
def _notification_emails_queued(email_queue) -> None:
    """SLA tests never reach a broker: notification emails land in `email_queue`."""
