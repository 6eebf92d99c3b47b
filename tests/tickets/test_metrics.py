"""tickets.metrics against a small data set whose numbers are worked out by hand below."""

from datetime import UTC, date, datetime, timedelta

import pytest

from sla import services as sla_services
from sla.models import SlaClock
from tests import factories
from tickets import services
from tickets.metrics import MetricsFilters, ticket_metrics
from tickets.models import Message, Status, Ticket, TicketMetrics

pytestmark = pytest.mark.django_db

UTC = UTC
H = timedelta(hours=1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def agent_reply(ticket, user, when):
    services.message_add(
        ticket=ticket, author_role=Message.AuthorRole.AGENT, author_user=user, body_text="reply", now=when
    )


def customer_reply(ticket, when):
    services.message_add(ticket=ticket, author_role=Message.AuthorRole.CUSTOMER, body_text="again", now=when)


def solve(ticket, when):
    services.ticket_change_status(ticket=Ticket.objects.get(pk=ticket.pk), status=Status.SOLVED, now=when)


@pytest.fixture
def data(settings):
    """Team A, agents u1 and u2, March 2026 (UTC):

    T0 created 03-01 12:00, never answered                          (backlog before the range)
    T1 created 03-02 09:00 email high,   u1: reply +1h, solved +2h  FRT 3600  res 7200   FCR
    T2 created 03-02 10:00 phone normal, u2: reply +2h, customer, reply +3h, solved +5h
                                                                   FRT 7200  res 18000  2 replies
    T3 created 03-03 08:00 email normal, u1: reply +30m, solved +1h, customer reopens +2h,
                                          reply +3h, solved +4h    FRT 1800  res 14400  reopened
    T4 created 03-03 09:00 chat urgent,  u2: reply +4h, open        FRT 14400
    T5 created 03-04 10:00 email low,    unassigned, new
    B1 in team B created 03-02 10:00, solved +10 min                (outside team A)
    """
    settings.TIME_ZONE = "UTC"
    team_a, team_b = factories.TeamFactory(name="A"), factories.TeamFactory(name="B")
    u1 = factories.AgentFactory(teams=[team_a], user=factories.UserFactory(username="u1", first_name="")).user
    u2 = factories.AgentFactory(teams=[team_a], user=factories.UserFactory(username="u2", first_name="")).user

    factories.ticket(team=team_a, now=at(1, 12))
    t1 = factories.ticket(team=team_a, priority="high", assignee=u1, now=at(2, 9))
    agent_reply(t1, u1, at(2, 10))
    solve(t1, at(2, 11))
    t2 = factories.ticket(team=team_a, channel="phone", assignee=u2, now=at(2, 10))
    agent_reply(t2, u2, at(2, 12))
    customer_reply(t2, at(2, 12, 30))
    agent_reply(t2, u2, at(2, 13))
    solve(t2, at(2, 15))
    t3 = factories.ticket(team=team_a, assignee=u1, now=at(3, 8))
    agent_reply(t3, u1, at(3, 8, 30))
    solve(t3, at(3, 9))
    customer_reply(t3, at(3, 10))
    agent_reply(t3, u1, at(3, 11))
    solve(t3, at(3, 12))
    t4 = factories.ticket(team=team_a, channel="chat", priority="urgent", assignee=u2, now=at(3, 9))
    agent_reply(t4, u2, at(3, 13))
    factories.ticket(team=team_a, priority="low", now=at(4, 10))
    b1 = factories.ticket(team=team_b, now=at(2, 10))
    solve(b1, at(2, 10, 10))
    return {"team_a": team_a, "team_b": team_b, "u1": u1, "u2": u2}


def run(data, group_by="day", **filters):
    return ticket_metrics(
        tickets=Ticket.objects.all(),
        start=date(2026, 3, 2),
        end=date(2026, 3, 4),
        group_by=group_by,
        filters=MetricsFilters(team=data["team_a"].pk, **filters),
    )


def summary(count, mean, median, p90):
    return {"count": count, "mean": mean, "median": median, "p90": p90}


def by_key(result):
    return {group["key"]: group for group in result["groups"]}


def test_created_solved_and_backlog_per_day(data):
    days = by_key(run(data))
    assert list(days) == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert [days[d]["tickets_created"] for d in days] == [2, 2, 1]
    assert [days[d]["tickets_solved"] for d in days] == [2, 1, 0]
    # T0 is open from before the range: 1 + (2 created - 2 solved) = 1; then +2 -1 = 2; then +1 = 3.
    assert [days[d]["backlog"] for d in days] == [1, 2, 3]


def test_totals_over_the_range(data):
    totals = run(data)["totals"]
    assert (totals["tickets_created"], totals["tickets_solved"], totals["backlog"]) == (5, 3, 3)
    # First responses 1800, 3600, 7200, 14400 s: mean 6750 s, median 5400 s, p90 at rank 2.7:
    # 7200 + 0.7 * 7200 = 12240 s.
    assert totals["first_response_hours"] == {"count": 4, "mean": 1.875, "median": 1.5, "p90": 3.4}
    # Resolutions 7200, 14400, 18000 s: mean 13200 s, median 14400 s, p90 at rank 1.8: 17280 s.
    assert totals["resolution_hours"] == {"count": 3, "mean": 3.6667, "median": 4.0, "p90": 4.8}
    # Solved: T1 (one public reply, never reopened), T2 (two replies), T3 (reopened).
    assert totals["first_contact_resolution_rate"] == 0.3333
    assert totals["reopen_rate"] == 0.3333


def test_durations_per_day_follow_the_event_dates(data):
    days = by_key(run(data))
    # 03-02: first responses 3600 and 7200 s; p90 = 3600 + 0.9 * 3600 = 6840 s = 1.9 h.
    assert days["2026-03-02"]["first_response_hours"] == {"count": 2, "mean": 1.5, "median": 1.5, "p90": 1.9}
    # 03-03: 1800 and 14400 s; p90 = 1800 + 0.9 * 12600 = 13140 s = 3.65 h.
    assert days["2026-03-03"]["first_response_hours"] == {
        "count": 2,
        "mean": 2.25,
        "median": 2.25,
        "p90": 3.65,
    }
    # 03-02 resolutions 7200 and 18000 s: p90 = 7200 + 0.9 * 10800 = 16920 s = 4.7 h.
    assert days["2026-03-02"]["resolution_hours"] == {"count": 2, "mean": 3.5, "median": 3.5, "p90": 4.7}
    assert days["2026-03-02"]["first_contact_resolution_rate"] == 0.5
    assert days["2026-03-02"]["reopen_rate"] == 0.0
    assert days["2026-03-03"]["reopen_rate"] == 1.0
    assert days["2026-03-04"]["first_response_hours"] == {
        "count": 0,
        "mean": None,
        "median": None,
        "p90": None,
    }
    assert days["2026-03-04"]["first_contact_resolution_rate"] is None


def test_business_hour_columns_are_null_until_the_sla_engine_fills_them(data):
    totals = run(data)["totals"]
    assert totals["first_response_business_hours"]["mean"] is None
    assert totals["resolution_business_hours"]["count"] == 0


def test_business_hour_columns_are_reported_when_present(data):
    TicketMetrics.objects.filter(ticket__priority="high").update(resolution_business_seconds=1800)
    assert run(data)["totals"]["resolution_business_hours"] == {
        "count": 1,
        "mean": 0.5,
        "median": 0.5,
        "p90": 0.5,
    }


def test_pending_measures_are_present_and_null(data):
    group = run(data)["groups"][0]
    assert {key: group[key] for key in ("csat", "nps", "ces")} == dict.fromkeys(("csat", "nps", "ces"))


def test_without_sla_clocks_compliance_is_null_and_counts_are_zero(data):
    totals = run(data)["totals"]
    assert totals["sla_compliance_rate"] is None
    assert totals["sla"]["first_response"] == {"achieved": 0, "breached": 0, "compliance_rate": None}


def test_group_by_agent_uses_assignee_and_who_solved(data):
    agents = {group["label"]: group for group in run(data, group_by="agent")["groups"]}
    assert list(agents) == ["u1", "u2", "(none)"]
    assert [agents[a]["tickets_created"] for a in agents] == [2, 2, 1]
    assert [agents[a]["tickets_solved"] for a in agents] == [2, 1, 0]
    assert [agents[a]["backlog"] for a in agents] == [0, 1, 2]
    assert agents["u1"]["first_response_hours"]["mean"] == 0.75
    assert agents["u2"]["first_response_hours"]["mean"] == 3.0
    assert agents["u1"]["first_contact_resolution_rate"] == 0.5


def test_group_by_channel_and_priority(data):
    channels = {g["key"]: g["tickets_created"] for g in run(data, group_by="channel")["groups"]}
    assert channels == {"email": 3, "phone": 1, "chat": 1}
    priorities = run(data, group_by="priority")["groups"]
    assert [g["key"] for g in priorities] == ["low", "normal", "high", "urgent"]
    assert [g["tickets_created"] for g in priorities] == [1, 2, 1, 1]


def test_group_by_team_without_team_filter(data):
    result = ticket_metrics(
        tickets=Ticket.objects.all(), start=date(2026, 3, 2), end=date(2026, 3, 4), group_by="team"
    )
    teams = {g["label"]: g for g in result["groups"]}
    assert teams["A"]["tickets_created"] == 5
    assert teams["B"]["tickets_solved"] == 1
    assert teams["B"]["resolution_hours"]["mean"] == round(600 / 3600, 4)
    assert result["totals"]["tickets_created"] == 6


def test_group_by_week_and_month_bucket_by_period_start(data):
    weeks = run(data, group_by="week")["groups"]
    assert [(w["key"], w["tickets_created"]) for w in weeks] == [("2026-03-02", 5)]
    months = run(data, group_by="month")["groups"]
    assert [(m["key"], m["tickets_solved"], m["backlog"]) for m in months] == [("2026-03-01", 3, 3)]


def test_filters_by_agent_channel_and_priority(data):
    assert run(data, agent=data["u1"].pk)["totals"]["tickets_solved"] == 2
    assert run(data, channel="phone")["totals"]["tickets_created"] == 1
    assert run(data, priority="urgent")["totals"]["first_response_hours"]["mean"] == 4.0


def test_days_are_local_days_in_the_helpdesk_time_zone(data, settings):
    from zoneinfo import ZoneInfo

    result = ticket_metrics(
        tickets=Ticket.objects.filter(team=data["team_a"]),
        start=date(2026, 3, 2),
        end=date(2026, 3, 4),
        tz=ZoneInfo("America/Los_Angeles"),
    )
    days = by_key(result)
    # In Los Angeles (UTC-8) T1 and T2 fall on 03-02 01:00/02:00, T3 (03-03 00:00) and T4 on 03-03,
    # T5 on 03-04 02:00; and T0 (03-01 04:00) stays before the range.
    assert [days[d]["tickets_created"] for d in days] == [2, 2, 1]
    # B1 is outside the queryset; moving the day boundary moves T1..T4 nowhere else.
    assert result["time_zone"] == "America/Los_Angeles"


def _make_tickets(team, count):
    agent = factories.AgentFactory(teams=[team]).user
    for i in range(count):
        ticket = factories.ticket(team=team, assignee=agent, now=at(2 + i % 3, 9))
        if i % 4:
            continue  # a quarter answered and solved is enough to fill every family
        services.message_add(  # first response and solve in one reply
            ticket=ticket,
            author_role=Message.AuthorRole.AGENT,
            author_user=agent,
            body_text="fixed",
            new_status=Status.SOLVED,
            now=at(2 + i % 3, 10 + i % 5),
        )


def test_query_count_does_not_depend_on_the_number_of_tickets(django_assert_max_num_queries):
    team = factories.TeamFactory()
    # With a policy every ticket has SLA clocks (some achieved, some breached), so the SLA family counts.
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={("normal", "first_response"): (1800, False), ("normal", "resolution"): (7200, False)},
    )

    def count_queries(group_by):
        # 12 on PostgreSQL before SLA (two per duration column there), plus one for the SLA outcomes.
        with django_assert_max_num_queries(13) as captured:
            ticket_metrics(
                tickets=Ticket.objects.all(), start=date(2026, 3, 1), end=date(2026, 3, 31), group_by=group_by
            )
        return len(captured.captured_queries)

    _make_tickets(team, 10)
    assert SlaClock.objects.filter(state="achieved").exists()
    assert SlaClock.objects.filter(state="breached").exists()
    few = {group_by: count_queries(group_by) for group_by in ("day", "agent", "team")}
    _make_tickets(team, 190)
    assert {group_by: count_queries(group_by) for group_by in ("day", "agent", "team")} == few


def test_unknown_group_by_and_reversed_range_are_refused():
    with pytest.raises(ValueError, match="group_by"):
        ticket_metrics(
            tickets=Ticket.objects.all(), start=date(2026, 1, 1), end=date(2026, 1, 2), group_by="x"
        )
    with pytest.raises(ValueError, match="before the start"):
        ticket_metrics(tickets=Ticket.objects.all(), start=date(2026, 1, 2), end=date(2026, 1, 1))
