import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from tests import factories
from tickets.config_cache import config_clear

POSTGRES_REASON = "needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
REDIS_REASON = "needs Redis: run with REDIS_URL=redis://127.0.0.1:6379/0"
DOVECOT = "/usr/sbin/dovecot"
IMAP_REASON = f"needs Dovecot at {DOVECOT}: apt-get install -y dovecot-imapd"


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _redis_url() -> str:
    return os.environ.get("REDIS_URL", "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # CI sets HELPDESK_REQUIRE_SERVICES=1: a missing service is then an error, not a quiet skip.
    require = os.environ.get("HELPDESK_REQUIRE_SERVICES") == "1"
    missing = []
    if not _on_postgres():
        missing.append(("postgres", POSTGRES_REASON))
    if not _redis_url():
        missing.append(("redis", REDIS_REASON))
    if not Path(DOVECOT).exists():
        missing.append(("imap", IMAP_REASON))
    if not Path(CHROMIUM_PATH).exists():
        missing.append(("e2e", f"needs Chromium at {CHROMIUM_PATH}: apt-get install -y chromium"))
    for marker, reason in missing:
        marked = [item for item in items if item.get_closest_marker(marker)]
        if marked and require:
            raise pytest.UsageError(f"HELPDESK_REQUIRE_SERVICES=1 but {len(marked)} tests {reason}")
        for item in marked:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", autouse=True)
def _flush_by_delete():
    """Empty the tables after a transactional test with DELETE, not TRUNCATE, on PostgreSQL.

    Tests that need real commits (workers, browsers, concurrency) leave a few dozen rows in some of ~70
    tables; TRUNCATE pays a fixed cost per table (a new file each), about 2 s a flush here, DELETE about
    0.2 s. Django's foreign keys are deferrable, so the order of the DELETEs does not matter inside the
    flush's transaction. Sequences are not reset either way, unless a test asks (then TRUNCATE runs).
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        deletes = [f"DELETE FROM {self.quote_name(table)}" for table in tables]
        return ["SET CONSTRAINTS ALL DEFERRED", *deletes]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = truncate


@pytest.fixture(autouse=True)
def _fast_and_isolated_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Raw inbound mail goes to a storage of its own per test (the retention tests delete files).
    settings.STORAGES = {
        **settings.STORAGES,
        "inbound_raw": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "raw-mail")},
        },
    }
    # Real hashing is deliberately slow; tests only need a hasher that works.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Webhook tests deliver to a loopback receiver (tests/http_receiver.py), which SSRF protection refuses
    # unless allowed; tests of that protection clear this list.
    settings.HELPDESK_OUTBOUND_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    # Each test starts with an empty per-process configuration cache: rows a rolled-back test wrote
    # without signals (bulk_create, update) must not be served to the next one.
    config_clear()


@pytest.fixture
def email_queue(monkeypatch) -> list[int]:
    """Ids of the notifications whose email was handed to the broker (nothing reaches a broker)."""
    from tickets import enqueue
    from tickets.models import OutboundDelivery
    from tickets.outbox import services as outbox

    queued: list[int] = []

    def send_task(name, args, countdown):
        delivery = (
            OutboundDelivery.objects.filter(pk=args[0]).first() if name == outbox.DELIVER_TASK else None
        )
        if delivery is not None and delivery.kind == OutboundDelivery.Kind.NOTIFICATION:
            queued.append(delivery.source_id)

    monkeypatch.setattr(enqueue.current_app, "send_task", send_task)
    return queued


@pytest.fixture
def redis_url() -> str:
    return _redis_url()


@pytest.fixture
def team(db):
    return factories.TeamFactory()


@pytest.fixture
def agent_user(team):
    return factories.AgentFactory(teams=[team]).user


@pytest.fixture
def customer(db):
    return factories.CustomerFactory()


@pytest.fixture
def ticket(customer, team):
    return factories.ticket(customer=customer, team=team)


@pytest.fixture
def api_client():
    from django.core.cache import cache
    from rest_framework.test import APIClient

    cache.clear()  # throttling counters live in the cache
    return APIClient()


@pytest.fixture
def as_user(api_client):
    """Log the API client in as the given user (force_authenticate) and return it."""

    def login(user):
        api_client.force_authenticate(user=user)
        return api_client

    return login


# --- agent workspace (web UI) ----------------------------------------------------------------------

# Playwright runs its own event loop in the test thread; Django's ORM calls from there are safe here
# because each test owns its database connection.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# pytest-django's live_server binds here (the same as passing --liveserver 127.0.0.1).
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    # Stops Chromium's start-up look-ups of outside hosts; only the live server is reachable.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright with Debian's Chromium: never `playwright install`."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM_PATH, "args": CHROMIUM_ARGS}


@pytest.fixture
def desk_client(client):
    """The Django test client logged in as the given user."""

    def login(user):
        client.force_login(user)
        return client

    return login


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def receiver():
    """Start real loopback HTTP receivers (tests/http_receiver.py): `receiver(codes=[500])`."""
    from tests.http_receiver import Receiver

    receivers = []

    def start(codes=()):
        receivers.append(Receiver(codes))
        return receivers[-1]

    yield start
    for r in receivers:
        r.close()


@dataclass
class SmtpSink:
    host: str
    port: int
    messages: list[bytes] = field(default_factory=list)
    envelope_recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(envelope.content)
        self.envelope_recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on loopback; Django's SMTP backend is pointed at it."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink(host="127.0.0.1", port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    # pytest-django swaps in the locmem backend; name the SMTP backend explicitly.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = sink.host
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    controller.stop()


@dataclass
class DovecotServer:
    host: str
    port: int
    username: str
    password: str


@pytest.fixture
def dovecot():
    """A throw-away Dovecot 2.3 IMAP server on loopback, from a private config in a fresh directory."""
    base = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
    base.chmod(0o755)  # Dovecot's helpers run as other users and must traverse the directory
    port = free_port()
    username, password = "support@example.test", "secret"
    mail_home = base / "mail" / username
    mail_home.mkdir(parents=True)
    for sub in ("run", "state"):
        (base / sub).mkdir()
    # Dovecot refuses UID 0 for mail users; "nobody" (65534) owns the mail store.
    (base / "users").write_text(f"{username}:{{PLAIN}}{password}:65534:65534::{mail_home}::\n")
    shutil.chown(base / "mail", 65534, 65534)
    shutil.chown(mail_home, 65534, 65534)
    (base / "dovecot.conf").write_text(
        f"""instance_name = helpdesk-test-{port}
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# A failed login answers at once (the default waits 2 s to slow guessing; a test has nobody to slow).
auth_failure_delay = 0
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {base}/users
}}
userdb {{
  driver = passwd-file
  args = {base}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
}}
"""
    )
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(base / "dovecot.conf")])
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                log = (base / "dovecot.log").read_text() if (base / "dovecot.log").exists() else ""
                pytest.fail(f"Dovecot did not start on port {port}:\n{log}")
            time.sleep(0.05)
    yield DovecotServer(host="127.0.0.1", port=port, username=username, password=password)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(base, ignore_errors=True)
