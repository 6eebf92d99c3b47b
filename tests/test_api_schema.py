"""The OpenAPI schema is valid and describes what the API really answers (fuzzed with schemathesis)."""

import pytest
import schemathesis
from django.core.cache import cache
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import factories
from tickets import services
from tickets.models import Message

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_schema_generation_is_valid_and_free_of_warnings(tmp_path):
    # --fail-on-warn turns any inference problem (an undocumented field type, a view spectacular
    # cannot read) into a failure; --validate checks the result against the OpenAPI 3 meta-schema.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    text = (tmp_path / "schema.yaml").read_text()
    for path in ("/api/v1/tickets/", "/api/v1/metrics/", "/api/v1/tickets/{ticket_pk}/messages/"):
        assert f"{path}:" in text


def test_schema_and_docs_are_served(client):
    assert client.get("/api/v1/schema/?format=json").json()["openapi"].startswith("3.")
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    # Assets come from the sidecar package: no CDN is needed at run time.
    assert b"cdn.jsdelivr" not in docs.content
    assert client.get("/api/v1/redoc/").status_code == 200


def test_a_browser_can_read_the_schema(client):
    page = client.get("/api/v1/schema/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert page["Content-Type"].startswith("text/html")
    assert b"Helpdesk API schema" in page.content and b"openapi: 3." in page.content
    assert client.get("/api/v1/schema/?format=json")["Content-Type"].startswith("application/json")
    # API clients negotiate as before.
    assert client.get("/api/v1/schema/", HTTP_ACCEPT="*/*")["Content-Type"].startswith(
        "application/vnd.oai.openapi"
    )


@pytest.fixture
def fuzz_data(team, admin_user):
    """Some real rows so generated requests also reach the success paths."""
    agent = factories.AgentFactory(teams=[team]).user
    team.lead = admin_user
    team.save()
    for i in range(3):
        ticket = factories.ticket(
            team=team, customer=factories.CustomerFactory(organization=factories.OrganizationFactory())
        )
        services.message_add(
            ticket=ticket,
            author_role=Message.AuthorRole.AGENT,
            author_user=agent,
            body_text=f"reply {i}",
            attachments=[services.AttachmentInput(filename="a.txt", content=b"x")],
        )
        services.notification_create(recipient=admin_user, kind="assignment", title="t", ticket=ticket)
    return {"admin": Token.objects.create(user=admin_user).key, "agent": Token.objects.create(user=agent).key}


@pytest.fixture
def api_schema(db):
    cache.clear()  # throttling counters live in the cache
    # The WSGI app runs in this thread on the test's connection, inside its transaction. Like
    # Django's test client, keep the request signals from closing that connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _fuzz(api_schema, token: str, methods: set[str], max_examples: int) -> int:
    ran = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() not in methods:
            continue

        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call(headers={"Authorization": f"Token {token}"})
            case.validate_response(response, checks=CHECKS)

        check()
        ran += 1
    return ran


def test_fuzzed_get_requests_never_fail_and_match_the_schema(api_schema, fuzz_data):
    assert _fuzz(api_schema, fuzz_data["admin"], {"GET"}, max_examples=10) >= 15


def test_fuzzed_writes_never_fail_and_match_the_schema(api_schema, fuzz_data):
    # As a plain agent: the object-level rules (404s, 403s) are exercised along with the writes.
    assert _fuzz(api_schema, fuzz_data["agent"], {"POST", "PATCH"}, max_examples=10) >= 8
