"""The requests of the performance issue: constant query counts, and on PostgreSQL the index each one needs.

EXPLAIN checks run with sequential scans disabled: the test tables are tiny, where a scan is cheapest,
so the question asked is whether an index *can* serve the query's filter and order (a missing or
mismatched index leaves only the sequential scan or an explicit sort).
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sla import services as sla_services
from sla.models import Metric
from tests import factories
from tests.conftest import _on_postgres
from tickets import services
from tickets.api.filtersets import TicketFilterSet
from tickets.models import Priority, Status, Ticket
from tickets.selectors import TICKET_ORDERINGS, ticket_list
from tickets.workspace import selectors as ws

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def api(as_user, agent_user):
    return as_user(agent_user)


@pytest.fixture
def policy(db):
    return factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={
            (Priority.NORMAL, Metric.FIRST_RESPONSE): 3600,
            (Priority.NORMAL, Metric.RESOLUTION): 4 * 3600,
            (Priority.HIGH, Metric.FIRST_RESPONSE): 1800,
        },
        warn_percent=50,
    )


def _make(team, agent_user, count, now=T0):
    for n in range(count):
        ticket = factories.ticket(team=team, now=now + timedelta(minutes=n), tags=["printer"])
        if n % 2:
            services.ticket_assign(ticket=ticket, assignee=agent_user, now=now + timedelta(minutes=n))
        if n % 3 == 0:
            services.ticket_change_status(ticket=ticket, status=Status.OPEN, now=now + timedelta(minutes=n))


def _queries(client, url, params=None) -> tuple[int, list[str], object]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content[:500]
    return len(captured.captured_queries), [q["sql"] for q in captured.captured_queries], response


API_REQUESTS = [
    {},
    {"status": "open", "team": "TEAM"},
    {"status": ["new", "open"]},
    {"ordering": "next_sla_due"},
    {"q": "printer"},
    {"sla_state": "breaching_soon"},
    {"breaching_within": "30"},
]


def _params(params: dict, team) -> dict:
    return {key: (str(team.pk) if value == "TEAM" else value) for key, value in params.items()}


@pytest.mark.parametrize("params", API_REQUESTS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()))
def test_api_ticket_lists_have_a_constant_query_count_and_no_distinct(
    api, team, agent_user, policy, params, django_assert_max_num_queries
):
    _make(team, agent_user, 3)
    few, _, _ = _queries(api, TICKETS, _params(params, team))
    _make(team, agent_user, 12, now=T0 + timedelta(hours=1))
    with django_assert_max_num_queries(few):
        many, statements, _ = _queries(api, TICKETS, _params(params, team))
    assert many == few <= 8
    assert not any("DISTINCT" in sql for sql in statements), statements


def test_api_cursor_pages_cost_what_the_first_page_costs(api, team, agent_user, policy):
    _make(team, agent_user, 30)
    first, _, response = _queries(api, TICKETS, {"page_size": 5})
    url = response.json()["next"]
    for _ in range(4):
        later, _, response = _queries(api, url)
        url = response.json()["next"]
    assert later == first


def test_next_sla_due_ordering_reads_the_stored_column_soonest_first(api, team, agent_user, policy):
    late = factories.ticket(team=team, now=T0)
    soon = factories.ticket(team=team, priority=Priority.HIGH, now=T0 + timedelta(minutes=10))
    unmeasured = factories.ticket(team=team, now=T0)
    services.ticket_change_status(ticket=unmeasured, status=Status.SOLVED, now=T0 + timedelta(minutes=1))
    ids = [row["id"] for row in api.get(TICKETS, {"ordering": "next_sla_due"}).json()["results"]]
    assert ids == [soon.pk, late.pk, unmeasured.pk]


DESK_VIEWS = ["mine", "unassigned", "breaching", "breached", "pending", "open"]


@pytest.mark.parametrize("view", DESK_VIEWS)
def test_desk_queue_views_have_a_constant_query_count(
    desk_client, team, agent_user, policy, view, django_assert_max_num_queries
):
    client = desk_client(agent_user)
    url = reverse("workspace:queue")
    _make(team, agent_user, 3)
    few, _, _ = _queries(client, url, {"view": view})
    _make(team, agent_user, 12, now=T0 + timedelta(hours=1))
    with django_assert_max_num_queries(few):
        _queries(client, url, {"view": view})


def test_queue_counts_equal_the_length_of_each_view(team, agent_user, policy):
    """Views marked unsolved_only are counted over unsolved tickets only: the mark must be true."""
    _make(team, agent_user, 12)
    services.ticket_change_status(ticket=Ticket.objects.first(), status=Status.SOLVED, now=T0)
    now = T0 + timedelta(minutes=45)
    counts = ws.queue_counts(user=agent_user, now=now)
    assert counts["breaching"] > 0
    for view in ws.queue_views(agent_user):
        assert counts[view.slug] == ws.queue_tickets(user=agent_user, view=view.slug, now=now).count(), view


def test_admin_ticket_list_and_search_have_a_constant_query_count(
    admin_client, team, agent_user, policy, django_assert_max_num_queries
):
    url = reverse("admin:tickets_ticket_changelist")
    _make(team, agent_user, 3)
    few, _, _ = _queries(admin_client, url)
    search, _, _ = _queries(admin_client, url, {"q": "printer"})
    _make(team, agent_user, 12, now=T0 + timedelta(hours=1))
    with django_assert_max_num_queries(few):
        _, statements, _ = _queries(admin_client, url)
    with django_assert_max_num_queries(search):
        _queries(admin_client, url, {"q": "printer"})
    assert not any("DISTINCT" in sql for sql in statements), statements  # no date_hierarchy


# --- PostgreSQL: each hot query has its index ------------------------------------------------------


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _api_queryset(user, params: dict):
    request = type("Request", (), {"user": user})()
    filterset = TicketFilterSet(params, queryset=ticket_list(user=user), request=request)
    assert filterset.is_valid(), filterset.errors
    ordering = params.get("ordering", "-created")
    return filterset.qs.order_by(*TICKET_ORDERINGS[ordering])[:26]


postgres_only = pytest.mark.skipif(not _on_postgres(), reason="EXPLAIN checks are for PostgreSQL")


@postgres_only
def test_next_sla_due_ordering_walks_its_index(admin_user, team, policy):
    factories.ticket(team=team)
    plan = _plan(_api_queryset(admin_user, {"ordering": "next_sla_due"}))
    assert "ticket_next_sla_due" in plan and "Sort" not in plan.split("->")[0], plan


@postgres_only
def test_status_and_team_filter_uses_the_composite_index(admin_user, team):
    factories.ticket(team=team)
    plan = _plan(_api_queryset(admin_user, {"status": ["open"], "team": str(team.pk)}))
    assert "ticket_team_status_created" in plan, plan


@postgres_only
def test_desk_views_and_counts_read_the_unsolved_partial_indexes(agent_user, team, policy):
    factories.ticket(team=team)
    now = T0
    assert "ticket_unsolved_assignee" in _plan(ws.queue_tickets(user=agent_user, view="mine", now=now))
    unassigned = _plan(ws.queue_tickets(user=agent_user, view="unassigned", now=now))
    assert "Seq Scan on tickets_ticket" not in unassigned, unassigned
    with CaptureQueriesContext(connection) as captured:
        ws.queue_counts(user=agent_user, now=now)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        unsolved_counts = next(q["sql"] for q in captured.captured_queries if 'AS "mine"' in q["sql"])
        cursor.execute("EXPLAIN " + unsolved_counts)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on tickets_ticket" not in plan and "ticket_unsolved" in plan, plan
    assert "sla_clock_running_warn_at" in plan, plan


@postgres_only
def test_search_and_sla_filters_never_scan_tickets(admin_user, team, policy):
    factories.ticket(team=team)
    for params in ({"q": "printer"}, {"sla_state": "breached"}, {"breaching_within": "30"}):
        plan = _plan(_api_queryset(admin_user, params))
        assert "Seq Scan on tickets_ticket" not in plan, (params, plan)


@postgres_only
def test_the_boards_unassigned_list_never_scans_tickets(admin_user, team, policy):
    """An index serves it: `ticket_next_sla_due` in SLA order, or the unassigned partial index by team
    (on a million tickets the planner walks `ticket_next_sla_due`: 0.3 ms for a page of 25)."""
    factories.ticket(team=team)
    plan = _plan(ws.board_unassigned(user=admin_user)[:25])
    assert "Seq Scan on tickets_ticket" not in plan, plan
