"""tickets.reporting.metrics against a small data set whose numbers are worked out by hand below."""

from datetime import UTC, date, datetime, timedelta

import pytest

from sla import services as sla_services
from sla.models import SlaClock
from surveys.services import survey_response_record
from tests import factories
from tickets import services
from tickets.models import Message, Status, Ticket
from tickets.reporting.metrics import MetricsFilters, ticket_metrics

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

    Surveys (team A asks CSAT, NPS and CES at once; the agent is the assignee at solve time):
    T1 sent 03-02 11:00, answered 03-02 12:00: CSAT 5, NPS 10, CES 6   (u1, high)
    T2 sent 03-02 15:00, answered 03-03 07:00: CSAT 2, NPS 6,  CES 3   (u2, normal)
    T3 sent 03-03 12:00 (the second solve; the first survey was cancelled by the reopen), no answer
    B1 sent 03-02 11:10 (team B: project defaults, CSAT only), answered 03-02 12:00: CSAT 4

    Inbound calls (wait in seconds): T2 03-02 10:00 answered 30 by u2, T2 03-02 12:30 abandoned 90,
    T4 03-03 09:00 answered 60 by u1 (on u2's ticket), T5 03-04 06:00 abandoned 120; not counted:
    an outbound call on T1 (03-03 10:00) and B1's call (team B, 03-02 10:05, answered 500).
    """
    settings.TIME_ZONE = "UTC"
    team_a, team_b = factories.TeamFactory(name="A"), factories.TeamFactory(name="B")
    factories.SurveySettingsFactory(
        team=team_a, kinds=["csat", "nps", "ces"], delay_minutes=0, throttle_days=0
    )
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
    t5 = factories.ticket(team=team_a, priority="low", now=at(4, 10))
    b1 = factories.ticket(team=team_b, now=at(2, 10))
    solve(b1, at(2, 10, 10))

    answer(factories.sent_survey(ticket=t1, now=at(2, 11)), at(2, 12), csat=5, nps=10, ces=6)
    answer(factories.sent_survey(ticket=t2, now=at(2, 15)), at(3, 7), csat=2, nps=6, ces=3)
    factories.sent_survey(ticket=t3, now=at(3, 12))
    answer(factories.sent_survey(ticket=b1, now=at(2, 11, 10)), at(2, 12), csat=4)

    factories.phone_call(ticket=t2, started_at=at(2, 10), queue_wait_seconds=30, agent=u2)
    factories.phone_call(ticket=t2, started_at=at(2, 12, 30), outcome="abandoned", queue_wait_seconds=90)
    factories.phone_call(ticket=t4, started_at=at(3, 9), queue_wait_seconds=60, agent=u1)
    factories.phone_call(ticket=t5, started_at=at(4, 6), outcome="abandoned", queue_wait_seconds=120)
    factories.phone_call(ticket=t1, started_at=at(3, 10), direction="outbound")
    factories.phone_call(ticket=b1, started_at=at(2, 10, 5), queue_wait_seconds=500)
    return {"team_a": team_a, "team_b": team_b, "u1": u1, "u2": u2}


def answer(invitation, when, **scores):
    survey_response_record(invitation=invitation, answers=scores, now=when)


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


def test_without_sla_clocks_compliance_is_null_and_counts_are_zero(data):
    totals = run(data)["totals"]
    assert totals["sla_compliance_rate"] is None
    assert totals["sla"]["first_response"] == {"achieved": 0, "breached": 0, "compliance_rate": None}


def survey_measures(group):
    names = ("csat", "csat_responses", "nps", "nps_responses", "ces", "ces_percent_easy", "ces_responses")
    return tuple(group[name] for name in names)


def test_survey_scores_per_day_by_first_answer_time(data):
    days = by_key(run(data))
    # 03-02: T1 (5, 10, 6): all satisfied, NPS 100 - 0, CES 6 (easy). 03-03: T2 (2, 6, 3).
    assert survey_measures(days["2026-03-02"]) == (100.0, 1, 100.0, 1, 6.0, 100.0, 1)
    assert survey_measures(days["2026-03-03"]) == (0.0, 1, -100.0, 1, 3.0, 0.0, 1)
    assert survey_measures(days["2026-03-04"]) == (None, 0, None, 0, None, None, 0)


def test_survey_totals_combine_the_answers_not_the_daily_scores(data):
    totals = run(data)["totals"]
    # CSAT 5 and 2: one of two satisfied, 50 %. NPS 10 (promoter) and 6 (detractor): 50 - 50 = 0.
    # CES 6 and 3: mean 4.5, one of two easy (5-7), 50 %. B1 (team B) is filtered out.
    assert survey_measures(totals) == (50.0, 2, 0.0, 2, 4.5, 50.0, 2)


def test_survey_response_rate_by_send_time(data):
    result = run(data)
    days = by_key(result)
    # Sent 03-02: T1 and T2, both answered (T2 the next day); sent 03-03: T3, unanswered.
    rates = [
        (days[d]["surveys_sent"], days[d]["surveys_responded"], days[d]["survey_response_rate"]) for d in days
    ]
    assert rates == [(2, 2, 1.0), (1, 0, 0.0), (0, 0, None)]
    totals = result["totals"]
    assert (totals["surveys_sent"], totals["surveys_responded"], totals["survey_response_rate"]) == (
        3,
        2,
        0.6667,
    )


def test_survey_measures_by_agent_follow_who_solved_the_ticket(data):
    agents = {group["label"]: group for group in run(data, group_by="agent")["groups"]}
    assert (agents["u1"]["csat"], agents["u1"]["surveys_sent"], agents["u1"]["survey_response_rate"]) == (
        100.0,
        2,
        0.5,
    )
    assert (agents["u2"]["csat"], agents["u2"]["ces"], agents["u2"]["survey_response_rate"]) == (
        0.0,
        3.0,
        1.0,
    )
    assert agents["(unassigned)"]["csat_responses"] == 0


def test_survey_measures_by_team_priority_and_channel(data):
    result = ticket_metrics(
        tickets=Ticket.objects.all(), start=date(2026, 3, 2), end=date(2026, 3, 4), group_by="team"
    )
    teams = {g["label"]: g for g in result["groups"]}
    assert (teams["A"]["csat"], teams["B"]["csat"], teams["B"]["nps"]) == (50.0, 100.0, None)
    # Two of the three answers (5, 2, 4) are satisfied: 66.67 %.
    assert (result["totals"]["csat"], result["totals"]["csat_responses"]) == (66.67, 3)
    priorities = {g["key"]: g["csat"] for g in run(data, group_by="priority")["groups"]}
    assert (priorities["high"], priorities["normal"]) == (100.0, 0.0)
    channels = {g["key"]: g["surveys_sent"] for g in run(data, group_by="channel")["groups"]}
    assert (channels["email"], channels["phone"]) == (2, 1)


def phone_measures(group):
    names = ("phone_calls", "phone_calls_abandoned", "phone_abandonment_rate")
    return (*(group[name] for name in names), group["phone_average_speed_of_answer_seconds"])


def test_phone_abandonment_and_speed_of_answer_per_day(data):
    result = run(data)
    days = by_key(result)
    # 03-02: T2 answered after 30 s, abandoned after 90 s. 03-03: T4 answered after 60 s (the
    # outbound call on T1 is not counted). 03-04: T5 abandoned.
    assert [phone_measures(days[d]) for d in days] == [
        (2, 1, 0.5, 30.0),
        (1, 0, 0.0, 60.0),
        (1, 1, 1.0, None),
    ]
    # Average speed of answer over answered calls only: (30 + 60) / 2.
    assert phone_measures(result["totals"]) == (4, 2, 0.5, 45.0)


def test_phone_measures_follow_the_agent_who_answered_and_the_call_ticket(data):
    # u1 answered T4's call although u2 owns T4; abandoned calls were answered by nobody.
    agents = {g["label"]: phone_measures(g) for g in run(data, group_by="agent")["groups"]}
    assert agents["u1"] == (1, 0, 0.0, 60.0)
    assert agents["u2"] == (1, 0, 0.0, 30.0)
    assert agents["(unassigned)"] == (2, 2, 1.0, None)
    assert phone_measures(by_key(run(data, agent=data["u1"].pk))["2026-03-03"]) == (1, 0, 0.0, 60.0)
    assert run(data, agent="unassigned")["totals"]["phone_calls_abandoned"] == 2
    priorities = {g["key"]: g["phone_calls"] for g in run(data, group_by="priority")["groups"]}
    assert priorities == {"low": 1, "normal": 2, "high": 0, "urgent": 1}
    teams = ticket_metrics(
        tickets=Ticket.objects.all(), start=date(2026, 3, 2), end=date(2026, 3, 4), group_by="team"
    )["groups"]
    assert {g["label"]: phone_measures(g) for g in teams}["B"] == (1, 0, 0.0, 500.0)


def test_survey_and_phone_measures_only_cover_the_given_tickets(data):
    result = ticket_metrics(
        tickets=Ticket.objects.filter(team=data["team_b"]), start=date(2026, 3, 2), end=date(2026, 3, 4)
    )
    assert (result["totals"]["csat_responses"], result["totals"]["phone_calls"]) == (1, 1)


def test_group_by_agent_uses_assignee_and_who_solved(data):
    agents = {group["label"]: group for group in run(data, group_by="agent")["groups"]}
    assert list(agents) == ["u1", "u2", "(unassigned)"]
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
    # T2's answer (03-03 07:00 UTC) is 03-02 23:00 there, so both CSAT answers fall on 03-02; T5's
    # abandoned call (03-04 06:00 UTC) is 03-03 22:00 there.
    assert [days[d]["csat_responses"] for d in days] == [2, 0, 0]
    assert [days[d]["phone_calls"] for d in days] == [2, 2, 0]


def _make_tickets(team, count):
    agent = factories.AgentFactory(teams=[team]).user
    for i in range(count):
        ticket = factories.ticket(team=team, assignee=agent, now=at(2 + i % 3, 9))
        factories.phone_call(
            ticket=ticket, started_at=at(2 + i % 3, 9), outcome="abandoned" if i % 2 else "answered"
        )
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
        sent_at = at(2 + i % 3, 16)
        answer(factories.sent_survey(ticket=ticket, now=sent_at), sent_at, csat=1 + i % 5, nps=i % 11, ces=4)


def test_query_count_does_not_depend_on_the_number_of_tickets(django_assert_max_num_queries):
    team = factories.TeamFactory()
    factories.SurveySettingsFactory(team=team, kinds=["csat", "nps", "ces"], delay_minutes=0, throttle_days=0)
    # With a policy every ticket has SLA clocks (some achieved, some breached), so the SLA family counts.
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={("normal", "first_response"): (1800, False), ("normal", "resolution"): (7200, False)},
    )

    def count_queries(group_by):
        # 17 on PostgreSQL with surveys and phone calls (two per duration column there), plus one for
        # the SLA outcomes.
        with django_assert_max_num_queries(18) as captured:
            ticket_metrics(
                tickets=Ticket.objects.all(), start=date(2026, 3, 1), end=date(2026, 3, 31), group_by=group_by
            )
        return len(captured.captured_queries)

    _make_tickets(team, 10)
    assert SlaClock.objects.filter(state="achieved").exists()
    assert SlaClock.objects.filter(state="breached").exists()
    few = {group_by: count_queries(group_by) for group_by in ("day", "agent", "team")}
    _make_tickets(team, 190)
    many = {group_by: count_queries(group_by) for group_by in ("day", "agent", "team")}
    assert many == few
    totals = ticket_metrics(tickets=Ticket.objects.all(), start=date(2026, 3, 1), end=date(2026, 3, 31))[
        "totals"
    ]
    # Every ticket has a call; every fourth of each batch (3 of 10, 48 of 190) was solved and surveyed.
    assert (totals["phone_calls"], totals["csat_responses"], totals["surveys_sent"]) == (200, 51, 51)


def test_unknown_group_by_and_reversed_range_are_refused():
    with pytest.raises(ValueError, match="group_by"):
        ticket_metrics(
            tickets=Ticket.objects.all(), start=date(2026, 1, 1), end=date(2026, 1, 2), group_by="x"
        )
    with pytest.raises(ValueError, match="before the start"):
        ticket_metrics(tickets=Ticket.objects.all(), start=date(2026, 1, 2), end=date(2026, 1, 1))
