"""The requests of the performance issue: constant query counts, and on PostgreSQL the index each one needs.

EXPLAIN checks run with sequential scans disabled: the test tables are tiny, where a scan is cheapest,
so the question asked is whether an index *can* serve the query's filter and order (a missing or
mismatched index leaves only the sequential scan or an explicit sort).
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from helpdesk.pagination import CappedCountPaginator
from sla import services as sla_services
from sla.models import OPEN_RUNNING_DUE_AT, Metric, SlaClock
from tests import factories
from tests.conftest import _on_postgres
from tickets import services
from tickets.api.filtersets import TicketFilterSet
from tickets.models import Notification, Priority, Status, Ticket
from tickets.selectors import TICKET_ORDERINGS, ticket_list, ticket_visibility_q
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
    {"sla_state": "breached"},
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


DESK_VIEWS = ["mine", "unassigned", "breaching", "breached", "pending", "open", "all"]


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


def test_the_desk_queue_page_looks_the_users_teams_up_once(desk_client, team, agent_user, policy):
    """The visibility rule, the views, the counts, the saved views, the filter form and the top bar share
    one query for teams (it was five), and the bell's number and latest notifications are one query."""
    _make(team, agent_user, 3)
    for n in range(7):  # more than the bell lists: its number counts every unread one
        services.notification_create(recipient=agent_user, kind="assignment", title=f"Yours {n}")
    unread = Notification.objects.filter(recipient=agent_user, read_at__isnull=True).count()
    assert unread > 6
    for view in DESK_VIEWS:
        count, statements, response = _queries(
            desk_client(agent_user), reverse("workspace:queue"), {"view": view}
        )
        teams = [sql for sql in statements if 'FROM "tickets_team"' in sql]
        notifications = [sql for sql in statements if 'FROM "tickets_notification"' in sql]
        assert (len(teams), len(notifications)) == (1, 1), statements
        # Without Redis (make test on a laptop) sessions are read from the database: not the page's work.
        sessions = [sql for sql in statements if 'FROM "django_session"' in sql]
        assert count - len(sessions) <= 11, (view, statements)
        assert f'class="bell-count">{unread}<' in response.content.decode()


def test_the_visibility_rule_names_only_the_arms_that_can_match(team, agent_user):
    """An agent who leads no team is never shown team-less tickets, so their rule has no such arm (nor an
    EXISTS on led teams in every statement); a lead's has it; an agent's own tickets stay visible."""
    other = factories.TeamFactory()
    mine = factories.ticket(team=team)
    moved = factories.ticket(team=other)
    Ticket.objects.filter(pk=moved.pk).update(assignee=agent_user)  # then moved to a team not theirs
    lost = factories.ticket(team=None)
    factories.ticket(team=other)

    def visible(user):
        tickets = Ticket.objects.filter(ticket_visibility_q(user))
        return set(tickets.values_list("pk", flat=True)), str(tickets.query)

    pks, sql = visible(agent_user)
    assert pks == {mine.pk, moved.pk}
    assert "IS NULL" not in sql and "EXISTS" not in sql, sql
    team.lead = agent_user
    team.save()
    assert visible(agent_user)[0] == {mine.pk, moved.pk, lost.pk}
    loner = factories.AgentFactory(teams=[]).user
    Ticket.objects.filter(pk=mine.pk).update(assignee=loner)
    assert visible(loner)[0] == {mine.pk}


def test_queue_counts_equal_the_length_of_each_view(team, agent_user, policy):
    """Below the cap, each view's count is exact: the count's query and the view's list agree."""
    _make(team, agent_user, 12)
    services.ticket_change_status(ticket=Ticket.objects.first(), status=Status.SOLVED, now=T0)
    now = T0 + timedelta(minutes=45)
    counts = ws.queue_counts(user=agent_user, now=now)
    assert counts["breaching"] > 0
    for view in ws.queue_views(agent_user):
        assert counts[view.slug] == ws.queue_tickets(user=agent_user, view=view.slug, now=now).count(), view


def test_the_desk_queue_counts_in_one_query_that_stops_at_the_cap(desk_client, team, agent_user, policy):
    """Each count reads at most the cap's rows (LIMIT), so none grows with a year of history."""
    _make(team, agent_user, 3)
    for params in ({"view": "mine"}, {"view": "all"}, {"view": "open", "priority": "normal"}):
        _, statements, _ = _queries(desk_client(agent_user), reverse("workspace:queue"), params)
        counts = [sql for sql in statements if "COUNT(" in sql and 'FROM "tickets_ticket"' in sql]
        filtered = "priority" in params  # the page's own count, besides the views'
        assert len(counts) == 1 + filtered, counts
        # Every read of tickets in a count stops at the cap (an SLA view's count adds up disjoint arms).
        limited = (
            sql.count(f"LIMIT {ws.COUNT_CAP + 1})") == sql.count('FROM "tickets_ticket"') for sql in counts
        )
        assert all(limited), counts


def test_queue_counts_past_the_cap_read_as_at_least(desk_client, team, agent_user, policy, monkeypatch):
    _make(team, agent_user, 5)
    for ticket in Ticket.objects.all()[:3]:
        services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=T0 + timedelta(hours=1))
    monkeypatch.setattr(ws, "COUNT_CAP", 2)
    counts = ws.queue_counts(user=agent_user, now=T0 + timedelta(hours=1))
    assert (counts["all"], str(counts["all"])) == (2, "2+")
    assert (counts["solved"], str(counts["solved"])) == (2, "2+")
    assert (counts["closed"], str(counts["closed"])) == (0, "0")
    assert (counts["open"], str(counts["open"])) == (2, "2")

    monkeypatch.setattr(CappedCountPaginator, "CAP", 2)
    page = desk_client(agent_user).get(reverse("workspace:queue"), {"view": "all"}).content.decode()
    assert '<span class="muted count-inline">2+</span>' in page
    filtered = desk_client(agent_user).get(reverse("workspace:queue"), {"view": "open", "team": team.pk})
    assert '<span class="muted count-inline">2</span>' in filtered.content.decode()


def test_a_capped_paginator_numbers_its_pages_as_at_least(team, agent_user):
    _make(team, agent_user, 5)
    paginator = CappedCountPaginator(Ticket.objects.order_by("pk"), 2)
    paginator.CAP = 3
    assert (str(paginator.count), str(paginator.num_pages)) == ("3+", "2+")
    assert len(paginator.get_page(2).object_list) == 1  # the first CAP rows' pages
    exact = CappedCountPaginator(Ticket.objects.order_by("pk"), 2)
    assert (str(exact.count), str(exact.num_pages)) == ("5", "3")


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


def test_admin_ticket_search_runs_the_search_once_per_page(admin_client, team, agent_user, policy):
    """The matches are read once and the page's count and rows look them up by id (as a subquery the
    search ran for each)."""
    _make(team, agent_user, 3)
    url = reverse("admin:tickets_ticket_changelist")
    _, statements, response = _queries(admin_client, url, {"q": "printer"})
    searches = [sql for sql in statements if ("search_vector" in sql or "LIKE" in sql)]
    assert len(searches) == 1, searches
    assert response.content.decode().count('class="action-select"') == 3


def test_admin_ticket_list_shows_times_to_the_minute_in_the_active_time_zone(admin_client, team, settings):
    settings.TIME_ZONE = "Asia/Kolkata"
    factories.ticket(team=team, now=datetime(2026, 3, 2, 8, 0, 40, tzinfo=UTC))
    _, _, response = _queries(admin_client, reverse("admin:tickets_ticket_changelist"))
    assert '<td class="field-created">2026-03-02 13:30</td>' in response.content.decode()


def test_admin_ticket_list_reads_breached_clocks_for_the_page_only(admin_client, team, agent_user, policy):
    """The badge's breached flag is looked up by the page's ticket ids, not joined into the list's query,
    where PostgreSQL read every open breached clock to annotate a page."""
    for _ in range(2):
        factories.ticket(team=team)  # due within the hour
    breached = factories.ticket(team=team, now=timezone.now() - timedelta(days=10))
    sla_services.sla_sweep()
    _, statements, response = _queries(admin_client, reverse("admin:tickets_ticket_changelist"))
    clocks = [sql for sql in statements if "sla_slaclock" in sql]
    assert len(clocks) == 1 and '"ticket_id" IN (' in clocks[0], clocks
    assert not any("tickets_ticket" in sql for sql in clocks), clocks
    page = response.content.decode()
    assert page.count(">breached</span>") == 1
    checkbox = f'name="_selected_action" value="{breached.pk}" class="action-select"'
    assert checkbox in page  # the list's own checkbox, as the admin's actions script expects it


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
def test_status_and_team_filter_is_served_by_a_ticket_index(admin_user, team):
    factories.desk_for_the_planner(teams=[team, *factories.TeamFactory.create_batch(7)])
    plan = _plan(_api_queryset(admin_user, {"status": ["open"], "team": str(team.pk)}))
    # The composite (team, status, created) index, or a walk of an unsolved partial index in the page's
    # order filtered by team, whichever the run's statistics favour: both stop at the page; naming the
    # composite index failed once the partial ones existed.
    assert TICKET_INDEX_SCAN.search(plan), plan
    assert "Seq Scan on tickets_ticket" not in plan, plan


def _page_plan(user, view: str, now) -> str:
    """The plan of a desk view's first page, as the queue page asks for it."""
    return _plan(ws.queue_tickets(user=user, view=view, now=now).order_by(*TICKET_ORDERINGS["-created"])[:50])


def _counts_plan(user, now) -> str:
    with CaptureQueriesContext(connection) as captured:
        ws.queue_counts(user=user, now=now)
    counts = next(q["sql"] for q in captured.captured_queries if "AS capped" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + counts)
        return "\n".join(row[0] for row in cursor.fetchall())


TICKET_INDEX_SCAN = re.compile(r"(Scan (Backward )?using|Bitmap Index Scan on) (ticket_|tickets_ticket_)")


@postgres_only
def test_desk_views_and_counts_read_the_unsolved_partial_indexes(agent_user, team, policy):
    others = factories.AgentFactory.create_batch(4, teams=[team])
    factories.desk_for_the_planner(
        teams=[team, *factories.TeamFactory.create_batch(7)],
        assignees=[agent_user, *(a.user for a in others)],
    )
    factories.ticket(team=team)
    now = T0
    # Each view's first page is an index scan of tickets, never a sequential one. Which index (an unsolved
    # partial one or the (status, team, assignee) one) moves with the run's statistics on a test-sized
    # table: naming one failed in CI runs for "mine" and "pending".
    for view in ("mine", "unassigned", "open", "pending"):
        page = _page_plan(agent_user, view, now)
        assert TICKET_INDEX_SCAN.search(page), (view, page)
        assert "Seq Scan on tickets_ticket" not in page, (view, page)
    plan = _counts_plan(agent_user, now)
    assert "Seq Scan on tickets_ticket" not in plan and "ticket_unsolved" in plan, plan


@postgres_only
def test_the_sla_views_read_the_state_stored_on_the_ticket_not_the_clocks(agent_user, team, policy):
    """Breaching soon and Breached, their counts and `?sla_state=` filter on the ticket's stored SLA state
    through its indexes; the clocks are consulted per ticket only where warning windows leave gaps, never
    searched as a set (16,600 running clocks past warning and 281,000 breached ones at a million)."""
    factories.desk_for_the_planner(
        teams=[team, *factories.TeamFactory.create_batch(7)], assignees=[agent_user]
    )
    factories.ticket(team=team)
    now = T0
    clock_sets = ("sla_clock_open_running_due", "sla_clock_open_breached")
    breaching = _page_plan(agent_user, "breaching", now)
    assert "ticket_sla_warning" in breaching and not any(i in breaching for i in clock_sets), breaching
    breached = _page_plan(agent_user, "breached", now)
    assert "Seq Scan" not in breached and not any(i in breached for i in clock_sets), breached
    counts = _counts_plan(agent_user, now)
    assert "ticket_sla_warning" in counts and not any(i in counts for i in clock_sets), counts
    soon = _plan(_api_queryset(agent_user, {"sla_state": "breaching_soon"}))
    assert "ticket_sla_warning" in soon and not any(i in soon for i in clock_sets), soon
    late = _plan(_api_queryset(agent_user, {"sla_state": "breached"}))
    assert "Seq Scan" not in late and not any(i in late for i in clock_sets), late


@postgres_only
def test_running_clocks_are_found_through_the_expression_index(team, policy):
    """The SLA filters' `running_due` is the expression of `sla_clock_open_running_due`, which gives the
    planner statistics of the running clocks' due instants; it must match for the index to serve."""
    factories.ticket(team=team)
    clocks = SlaClock.objects.alias(running_due=OPEN_RUNNING_DUE_AT)
    for condition in (Q(running_due__lte=T0), Q(running_due__gte=T0, warn_at__lte=T0)):
        plan = _plan(clocks.filter(condition).order_by().values("ticket_id"))
        assert "sla_clock_open_running_due" in plan, (condition, plan)


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
