"""Sessions in the database, read through Redis (helpdesk/sessions.py)."""

import pytest
import redis
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk import sessions
from tests import factories
from tests.conftest import free_port

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"


def _use_redis(settings, url: str) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    settings.SESSION_ENGINE = "helpdesk.sessions"


def _session_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(TICKETS).status_code == 200
    return [query["sql"] for query in captured if "django_session" in query["sql"]]


@pytest.mark.redis
def test_a_logged_in_request_reads_its_session_from_redis_not_the_database(settings, redis_url, client, team):
    _use_redis(settings, redis_url)
    client.force_login(factories.AgentFactory(teams=[team]).user)

    assert _session_queries(client) == []
    assert Session.objects.filter(session_key=client.session.session_key).exists()


@pytest.mark.redis
def test_a_session_missing_from_redis_is_read_from_the_database_and_cached_again(
    settings, redis_url, client, team
):
    _use_redis(settings, redis_url)
    client.force_login(factories.AgentFactory(teams=[team]).user)
    from django.core.cache import cache

    cache.clear()  # a Redis restart: sessions survive in the database

    assert len(_session_queries(client)) == 1
    assert _session_queries(client) == []


@pytest.mark.redis
def test_a_cached_copy_lives_at_most_five_minutes_and_never_past_the_sessions_expiry(
    settings, redis_url, client, team
):
    _use_redis(settings, redis_url)
    from django.core.cache import cache

    store = sessions.SessionStore()
    store["kept"] = "yes"
    store.create()
    key = cache.make_key(store.cache_key)
    assert 0 < redis.Redis.from_url(redis_url).ttl(key) <= sessions.CACHED_SECONDS

    store.set_expiry(60)
    store.save()
    assert 0 < redis.Redis.from_url(redis_url).ttl(key) <= 60


@pytest.mark.redis
def test_logging_out_ends_the_session_in_redis_too(settings, redis_url, client, team):
    _use_redis(settings, redis_url)
    client.force_login(factories.AgentFactory(teams=[team]).user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get(TICKETS).status_code == 200

    client.logout()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie

    assert client.get(TICKETS).status_code == 401


def test_with_redis_unreachable_agents_log_in_work_and_log_out_through_the_database(
    settings, client, team, caplog
):
    _use_redis(settings, f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    agent = factories.AgentFactory(teams=[team]).user
    agent.set_password("pass-word-123")
    agent.save()

    login = client.post("/desk/login/", {"username": agent.username, "password": "pass-word-123"})
    assert login.status_code == 302
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert len(_session_queries(client)) == 1
    client.logout()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie

    assert client.get(TICKETS).status_code == 401
    assert "Session cache unavailable" in caplog.text
