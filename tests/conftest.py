import os

import pytest
from django.conf import settings

from tests import factories

POSTGRES_REASON = "needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
REDIS_REASON = "needs Redis: run with REDIS_URL=redis://127.0.0.1:6379/0"


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
    for marker, reason in missing:
        marked = [item for item in items if item.get_closest_marker(marker)]
        if marked and require:
            raise pytest.UsageError(f"HELPDESK_REQUIRE_SERVICES=1 but {len(marked)} tests {reason}")
        for item in marked:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _fast_and_isolated_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Real hashing is deliberately slow; tests only need a hasher that works.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
