"""Password guessing is locked out (django-axes) on the desk, the admin and the API token endpoint.

Every limit is keyed on helpdesk.client_ip, so a client rotating X-Forwarded-For stays the same client
unless HELPDESK_TRUSTED_PROXY_COUNT says a proxy writes that header.
"""

import pytest
from rest_framework.throttling import ScopedRateThrottle

from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"  # tests.factories.UserFactory
LOGIN_FORMS = ["/desk/login/", "/admin/login/"]


@pytest.fixture
def staff_user(team):
    user = factories.AgentFactory(teams=[team]).user
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture(autouse=True)
def small_failure_limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def rotating(index: int) -> dict[str, str]:
    return {"HTTP_X_FORWARDED_FOR": f"198.51.100.{index}"}


@pytest.mark.parametrize("url", LOGIN_FORMS)
def test_the_right_password_is_refused_after_too_many_wrong_ones(client, staff_user, url):
    answers = [
        client.post(
            url, {"username": staff_user.username, "password": "guess"}, **rotating(index)
        ).status_code
        for index in range(3)
    ]
    assert answers == [200, 200, 429]  # the form again with its error, then the lockout

    response = client.post(url, {"username": staff_user.username, "password": PASSWORD}, **rotating(9))

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("url", LOGIN_FORMS)
def test_a_right_password_below_the_limit_logs_in(client, staff_user, url):
    client.post(url, {"username": staff_user.username, "password": "guess"})

    response = client.post(url, {"username": staff_user.username, "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff_user.pk)


def test_the_token_endpoint_locks_out_with_a_json_answer_despite_rotating_forwarded_for(
    api_client, agent_user
):
    answers = [
        api_client.post(
            "/api/v1/auth/token/", {"username": agent_user.username, "password": "guess"}, **rotating(index)
        ).status_code
        for index in range(3)
    ]
    assert answers == [400, 400, 429]

    response = api_client.post(
        "/api/v1/auth/token/", {"username": agent_user.username, "password": PASSWORD}, **rotating(7)
    )

    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"


def test_a_trusted_proxy_makes_the_forwarded_address_the_client_for_the_lockout(client, staff_user, settings):
    settings.HELPDESK_TRUSTED_PROXY_COUNT = 1
    for _attempt in range(3):
        client.post("/desk/login/", {"username": staff_user.username, "password": "guess"}, **rotating(1))

    # Another client behind the same proxy is not locked out by the first one's guesses.
    response = client.post(
        "/desk/login/", {"username": staff_user.username, "password": PASSWORD}, **rotating(2)
    )

    assert response.status_code == 302


@pytest.mark.parametrize(
    ("trusted_proxies", "answers"),
    [
        # No proxy is trusted: the header is the client's own words; every request is the same client.
        (0, [400, 400, 400, 429]),
        # One proxy writes the header: each forwarded address is its own client with its own budget.
        (1, [400, 400, 400, 400]),
    ],
)
def test_rotating_forwarded_for_resets_the_token_throttle_only_when_a_proxy_is_trusted(
    api_client, agent_user, settings, monkeypatch, trusted_proxies, answers
):
    settings.AXES_FAILURE_LIMIT = 100
    settings.HELPDESK_TRUSTED_PROXY_COUNT = trusted_proxies
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth-token": "3/minute"})
    credentials = {"username": agent_user.username, "password": "guess"}

    got = [
        api_client.post("/api/v1/auth/token/", credentials, **rotating(index)).status_code
        for index in range(4)
    ]

    assert got == answers
