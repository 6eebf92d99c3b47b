"""Real Celery worker processes for the integration tests: started on the test database and a given broker,
stopped at once when the test is over."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import redis
from django.conf import settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def start_celery_worker(
    broker_url: str,
    tmp_path: Path,
    *,
    name: str = "worker",
    pool: tuple[str, ...] = ("--pool", "solo"),
    output: IO | int = subprocess.PIPE,
    **extra_env: str,
) -> subprocess.Popen:
    """A real worker process on `broker_url` and the test database; `extra_env` overrides settings.

    Its output goes to a pipe (read it with `.stdout.read()` when it died) unless `output` is a file.
    """
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        # pytest-django renamed the database to test_<name>; the worker must use the same one.
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "CELERY_BROKER_URL": broker_url,
        "HELPDESK_VAR_DIR": str(tmp_path),
        "HELPDESK_OUTBOUND_HTTP_ALLOWED_HOSTS": "127.0.0.1",  # the loopback webhook receiver
        **extra_env,
    }
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "helpdesk", "worker", *pool),
            *("--loglevel", "INFO", "--hostname", f"pytest-{name}-{os.getpid()}@%h"),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_worker(process: subprocess.Popen, broker_url: str | None = None) -> None:
    """Stop a worker whose test is over: a cold shutdown (SIGQUIT), since what it had to do is checked.

    A warm shutdown (SIGTERM) first waits for running work and hands prefetched tasks back, seconds per
    test. With `broker_url`, that broker database is emptied afterwards, so no task a test left behind
    runs in the next test's worker.
    """
    if process.poll() is None:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if broker_url:
        redis.Redis.from_url(broker_url).flushdb()


def wait_for(
    condition: Callable[[], bool], process: subprocess.Popen | None = None, *, what: str, seconds: float = 60
) -> None:
    """Poll `condition` until it holds; with `process`, fail at once with its output if the worker died."""
    deadline = time.monotonic() + seconds
    while not condition():
        if process is not None and process.poll() is not None:
            output = process.stdout.read() if process.stdout else "(see its log file)"
            raise AssertionError(f"the worker died while waiting for {what}:\n{output}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
