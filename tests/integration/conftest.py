import pytest

from tests.integration.workers import start_celery_worker, stop_worker


@pytest.fixture
def celery_worker_process(redis_url, tmp_path):
    """A real worker on the test's Redis; the test's own tasks are sent there too."""
    from helpdesk.celery import app

    app.conf.broker_url = redis_url
    worker = start_celery_worker(redis_url, tmp_path)
    yield worker
    stop_worker(worker, redis_url)
