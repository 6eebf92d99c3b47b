"""The OpenAPI schema is valid and describes what the API really answers (fuzzed with schemathesis)."""

import re
from datetime import timedelta

import pytest
import schemathesis
from django.core.cache import cache
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from sla import services as sla_services
from sla.models import Calendar, Metric, Policy, SlaClock
from surveys.models import SurveyInvitation, SurveyResponse
from tests import factories
from tickets import services
from tickets.models import (
    Agent,
    Attachment,
    Customer,
    Message,
    Notification,
    Organization,
    PhoneCall,
    Team,
    Ticket,
)
from tickets.reporting.metrics import EARLIEST_DATE, LATEST_DATE

pytestmark = pytest.mark.django_db

# negative_data_rejection: a request the schema forbids (generated in negative mode) answers a 4xx.
# positive_data_acceptance is off: an id the schema allows may name no row, and such a request answers 400.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


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
    factories.phone_call(ticket=ticket, started_at=timezone.now())
    factories.sent_survey(team=team)
    # An all-day calendar (hours 00:00:00-00:00:00) and a ticket whose SLA clock has warned and breached.
    always = sla_services.calendar_create_always_open()
    factories.sla_policy(
        calendar=always,
        targets={("normal", Metric.FIRST_RESPONSE): (60, False)},
        warn_percent=50,
        teams=[team],
    )
    factories.ticket(team=team, subject="Late", now=timezone.now() - timedelta(hours=2))
    sla_services.sla_sweep(now=timezone.now())
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


POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE


def _fuzz(
    api_schema, token: str, methods: set[str], max_examples: int, mode: GenerationMode = POSITIVE
) -> int:
    ran = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() not in methods:
            continue
        raw = operation.definition.raw
        if mode is NEGATIVE and not raw.get("parameters") and "requestBody" not in raw:
            continue  # nothing in the request can be made invalid

        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            response = case.call(headers={"Authorization": f"Token {token}"})
            case.validate_response(response, checks=CHECKS)

        check()
        ran += 1
    return ran


def test_fuzzed_get_requests_never_fail_and_match_the_schema(api_schema, fuzz_data):
    assert _fuzz(api_schema, fuzz_data["admin"], {"GET"}, max_examples=10) >= 15
    # Negative mode: each request breaks the schema (a wrong type, an id below 1, a score above 10, a
    # page_size of 0, `?team=`); negative_data_rejection wants a 4xx for every one.
    assert _fuzz(api_schema, fuzz_data["admin"], {"GET"}, max_examples=3, mode=NEGATIVE) >= 15


def test_fuzzed_writes_never_fail_and_match_the_schema(api_schema, fuzz_data):
    # As a plain agent: the object-level rules (404s, 403s) are exercised along with the writes.
    assert _fuzz(api_schema, fuzz_data["agent"], {"POST", "PATCH"}, max_examples=10) >= 8
    # Invalid writes as an admin, so they reach the validation rather than stopping at a 403.
    assert _fuzz(api_schema, fuzz_data["admin"], {"POST", "PATCH"}, max_examples=3, mode=NEGATIVE) >= 8


# The row each `{id}` of a GET path reads: the first one, which an admin may see.
MODELS_BY_COLLECTION = {
    "agents": Agent,
    "attachments": Attachment,
    "customers": Customer,
    "notifications": Notification,
    "organizations": Organization,
    "phone-calls": PhoneCall,
    "sla-calendars": Calendar,
    "sla-clocks": SlaClock,
    "sla-policies": Policy,
    "survey-invitations": SurveyInvitation,
    "survey-responses": SurveyResponse,
    "teams": Team,
    "tickets": Ticket,
}


# Query parameters an operation requires, with valid values.
REQUIRED_QUERY = {"/api/v1/metrics/": {"start": "2026-01-01", "end": "2026-01-31"}}


def _real_case(operation, **query):
    """A request to `operation` for real rows: its ids name existing rows, its required parameters are set."""
    path = operation.path
    parameters = {}
    if "{ticket_pk}" in path:
        parameters["ticket_pk"] = SlaClock.objects.order_by("pk").first().ticket_id  # it has SLA events
    if "{team_pk}" in path:
        parameters["team_pk"] = Team.objects.order_by("pk").first().pk
    if "{id}" in path:
        model = MODELS_BY_COLLECTION[path.split("/")[3]]
        parameters["id"] = model.objects.order_by("pk").values_list("pk", flat=True).first() or 1
    return operation.Case(path_parameters=parameters, query={**REQUIRED_QUERY.get(path, {}), **query})


def _get_operations(api_schema):
    operations = (result.ok() for result in api_schema.get_all_operations())
    return [operation for operation in operations if operation.method.upper() == "GET"]


def test_every_read_of_real_rows_matches_the_schema(api_schema, fuzz_data):
    """Random ids rarely exist, so the fuzzing above seldom sees a success body: read every GET once
    with the ids of real rows (a calendar open 00:00:00-00:00:00, a ticket with SLA events)."""
    statuses = {}
    for operation in _get_operations(api_schema):
        case = _real_case(operation)
        response = case.call(headers={"Authorization": f"Token {fuzz_data['admin']}"})
        case.validate_response(response, checks=CHECKS)
        statuses[operation.path] = response.status_code
    assert len(statuses) >= 30
    # Every read found its row (no survey was answered, so there is no response to read).
    assert {path for path, status in statuses.items() if status != 200} == {"/api/v1/survey-responses/{id}/"}


def _enum_query_parameters(operation) -> list[str]:
    names = []
    for parameter in operation.definition.raw.get("parameters", []):
        schema = parameter.get("schema", {})
        enum = schema.get("enum") or schema.get("items", {}).get("enum")
        if parameter["in"] == "query" and enum and "" not in enum:
            names.append(parameter["name"])
    return names


def test_no_enum_query_parameter_accepts_an_empty_value(api_schema, fuzz_data):
    """`?name=` is not a value of an enum that does not list "": the API refuses it, rather than reading
    it as "left out" (as DRF and django-filter do for HTML forms)."""
    headers = {"Authorization": f"Token {fuzz_data['admin']}"}
    answers = {}
    for operation in _get_operations(api_schema):
        if names := _enum_query_parameters(operation):
            assert _real_case(operation).call(headers=headers).status_code == 200, operation.path
        for name in names:
            answers[f"{operation.path}?{name}="] = (
                _real_case(operation, **{name: ""}).call(headers=headers).status_code
            )
    assert len(answers) >= 15
    assert {request: status for request, status in answers.items() if status != 400} == {}


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/tickets/?page_size=abc", "page_size"),
        ("/api/v1/tickets/?page_size=", "page_size"),
        ("/api/v1/tickets/?page_size=0", "page_size"),
        ("/api/v1/tickets/?page_size=101", "page_size"),
        ("/api/v1/tickets/?page_size=5&page_size=6", "page_size"),
        ("/api/v1/customers/?is_vip=yes", "is_vip"),
        ("/api/v1/customers/?is_vip=", "is_vip"),
        ("/api/v1/agents/?is_available=null", "is_available"),
        ("/api/v1/notifications/?unread=maybe", "unread"),
        ("/api/v1/tickets/?team=", "team"),
        ("/api/v1/tickets/?team=0", "team"),
        ("/api/v1/tickets/?breaching_within=", "breaching_within"),
        ("/api/v1/survey-responses/?score_min=", "score_min"),
        ("/api/v1/survey-responses/?score_max=11", "score_max"),
        ("/api/v1/phone-calls/?started_after=", "started"),
        ("/api/v1/metrics/?start=2026-01-01&end=2026-01-31&team=", "team"),
        ("/api/v1/tickets/{ticket}/sla/explain/?clock=", "clock"),
    ],
)
def test_what_the_schema_forbids_answers_400_in_json(as_user, admin_user, ticket, url, field):
    response = as_user(admin_user).get(url.format(ticket=ticket.pk))
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert field in response.json()["errors"]


def test_the_schema_states_the_ranges_the_filters_enforce(client):
    operations = client.get("/api/v1/schema/?format=json").json()["paths"]

    def schema(path: str, name: str) -> dict:
        parameters = operations[path]["get"]["parameters"]
        return next(parameter["schema"] for parameter in parameters if parameter["name"] == name)

    assert schema("/api/v1/tickets/", "page_size") == {"type": "integer", "minimum": 1, "maximum": 100}
    assert schema("/api/v1/tickets/", "team") == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
    assert schema("/api/v1/tickets/", "survey_score_min") == {"type": "integer", "minimum": 0, "maximum": 10}
    assert schema("/api/v1/survey-responses/", "score_max") == {
        "type": "integer",
        "minimum": 0,
        "maximum": 10,
    }
    assert schema("/api/v1/customers/", "is_vip") == {"type": "boolean"}
    # The metrics report on 1900-01-01 to 9998-12-31: the pattern of `start` and `end` says so.
    start = schema("/api/v1/metrics/", "start")
    assert start["format"] == "date"
    for day, allowed in [
        (EARLIEST_DATE, True),
        (EARLIEST_DATE - timedelta(days=1), False),
        (LATEST_DATE, True),
        (LATEST_DATE + timedelta(days=1), False),
    ]:
        assert bool(re.match(start["pattern"], day.isoformat())) is allowed, day
