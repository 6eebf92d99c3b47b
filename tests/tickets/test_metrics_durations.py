"""Zendesk's duration set, replies, transfers and repeat contacts, on a scenario worked out by hand.

Calendar "Office": Monday to Friday 09:00-17:00 UTC, Monday 2026-03-09 a holiday; team A works it.
March 2026: Monday the 2nd, Friday the 6th, the weekend 7-8, the holiday Monday the 9th.

T1 email, team A, u1. Created Fri 03-06 16:00 by the customer; u1 replies Tue 03-10 10:00 (new -> open),
   solves 11:00. First reply 90 h calendar, 2 h business (Fri 16-17, Tue 9-10; the weekend and the
   holiday count nothing). New 90 h + open 1 h: agent work = requester wait = 91 h, 3 h business;
   first = full resolution 91 h, 3 h business. The customer writes again on a new ticket, T6,
   Fri 03-13 10:00: a repeat contact (within 7 days of the solve).
T2 agent-created by u1 on Mon 03-02 09:00 (public opening comment), team A, u1. The customer answers
   10:00, u1 replies 11:00, solves 11:30. The opening comment is no reply: first reply 2 h, one reply,
   first-contact resolution, one-touch.
T3 email, team A, u2. Created Tue 03-03 09:00; u2 replies 10:00 as pending; the customer answers 12:00
   (open); on hold 13:00-15:00; solved 16:00; the customer reopens Wed 03-04 10:00; u2 replies and solves
   11:00. New 1 h, pending 2 h, open 1 + 1 + 1 h, on hold 2 h: agent work 4 h, agent wait 2 h, on-hold
   2 h, requester wait 6 h (all inside business hours). First resolution 7 h; full resolution 26 h
   calendar, 10 h business (Tue 9-17, Wed 9-11). Two replies, one reopen.
T4 chat, team B (u3), created Wed 03-04 09:00; moved to team A and u1 at 10:00; u1 replies 10:30 and
   solves 11:00. Two team stations and two assignee stations: a transfer.
T5 web, team A, unassigned, created Thu 03-05 09:00; u2 replies 09:15 without taking it, solved 10:00
   unassigned: the "(unassigned)" agent group.
"""

from datetime import UTC, date, datetime, time

import pytest
import time_machine

from sla.models import Calendar, TeamCalendar
from tests import factories
from tickets import services
from tickets.models import Message, Status, Ticket
from tickets.reporting.metrics import MetricsFilters, ticket_metrics

pytestmark = pytest.mark.django_db

HOUR = 3600


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def agent_says(ticket, user, when, **kwargs):
    with time_machine.travel(when, tick=False):
        return services.message_add(
            ticket=ticket, author_role=Message.AuthorRole.AGENT, author_user=user, body_text="Hi", **kwargs
        ).ticket


def customer_says(ticket, when):
    with time_machine.travel(when, tick=False):
        return services.message_add(
            ticket=ticket, author_role=Message.AuthorRole.CUSTOMER, body_text="Hm"
        ).ticket


def set_status(ticket, status, when):
    with time_machine.travel(when, tick=False):
        return services.ticket_change_status(ticket=Ticket.objects.get(pk=ticket.pk), status=status)


def new_ticket(when, **kwargs):
    with time_machine.travel(when, tick=False):
        return factories.ticket(**kwargs)


@pytest.fixture
def scenario(settings):
    settings.TIME_ZONE = "UTC"
    office = factories.sla_calendar(name="Office", time_zone="UTC", holidays=(date(2026, 3, 9),))
    team_a, team_b = factories.TeamFactory(name="A"), factories.TeamFactory(name="B")
    TeamCalendar.objects.create(team=team_a, calendar=office)
    u1 = factories.AgentFactory(teams=[team_a], user=factories.UserFactory(username="u1", first_name="")).user
    u2 = factories.AgentFactory(teams=[team_a], user=factories.UserFactory(username="u2", first_name="")).user
    u3 = factories.AgentFactory(teams=[team_b], user=factories.UserFactory(username="u3", first_name="")).user

    c1 = factories.CustomerFactory()
    t1 = new_ticket(at(6, 16), team=team_a, assignee=u1, customer=c1)
    t1 = agent_says(t1, u1, at(10, 10))
    set_status(t1, Status.SOLVED, at(10, 11))
    new_ticket(at(13, 10), team=team_a, customer=c1)

    t2 = new_ticket(at(2, 9), team=team_a, assignee=u1, opened_by=u1)
    t2 = customer_says(t2, at(2, 10))
    t2 = agent_says(t2, u1, at(2, 11))
    set_status(t2, Status.SOLVED, at(2, 11, 30))

    t3 = new_ticket(at(3, 9), team=team_a, assignee=u2)
    t3 = agent_says(t3, u2, at(3, 10), new_status=Status.PENDING)
    t3 = customer_says(t3, at(3, 12))
    t3 = set_status(t3, Status.ON_HOLD, at(3, 13))
    t3 = set_status(t3, Status.OPEN, at(3, 15))
    t3 = set_status(t3, Status.SOLVED, at(3, 16))
    t3 = customer_says(t3, at(4, 10))
    agent_says(t3, u2, at(4, 11), new_status=Status.SOLVED)

    t4 = new_ticket(at(4, 9), team=team_b, assignee=u3, channel="chat")
    with time_machine.travel(at(4, 10), tick=False):
        t4 = services.ticket_assign(ticket=t4, team=team_a, assignee=u1)
    t4 = agent_says(t4, u1, at(4, 10, 30))
    set_status(t4, Status.SOLVED, at(4, 11))

    t5 = new_ticket(at(5, 9), team=team_a, channel="web")
    t5 = agent_says(t5, u2, at(5, 9, 15))
    set_status(t5, Status.SOLVED, at(5, 10))
    return {"team_a": team_a, "team_b": team_b, "u1": u1, "u2": u2, "tickets": (t1, t2, t3, t4, t5)}


def metrics_of(ticket):
    return Ticket.objects.get(pk=ticket.pk).metrics


def run(group_by="week", **filters):
    return ticket_metrics(
        tickets=Ticket.objects.all(),
        start=date(2026, 3, 2),
        end=date(2026, 3, 13),
        group_by=group_by,
        filters=MetricsFilters(**filters),
    )


def test_every_ticket_has_business_hours_on_its_teams_calendar_across_a_weekend_and_a_holiday(scenario):
    t1 = metrics_of(scenario["tickets"][0])
    assert (t1.first_response_seconds, t1.first_response_business_seconds) == (90 * HOUR, 2 * HOUR)
    assert (t1.first_resolution_seconds, t1.first_resolution_business_seconds) == (91 * HOUR, 3 * HOUR)
    assert (t1.resolution_seconds, t1.resolution_business_seconds) == (91 * HOUR, 3 * HOUR)
    assert (t1.agent_work_seconds, t1.agent_work_business_seconds) == (91 * HOUR, 3 * HOUR)
    assert (t1.requester_wait_seconds, t1.requester_wait_business_seconds) == (91 * HOUR, 3 * HOUR)
    assert (t1.agent_wait_seconds, t1.on_hold_seconds) == (0, 0)


def test_the_opening_comment_of_an_agent_created_ticket_is_no_reply(scenario):
    t2 = metrics_of(scenario["tickets"][1])
    assert (t2.first_response_seconds, t2.agent_public_replies) == (2 * HOUR, 1)


def test_pending_on_hold_and_a_reopen_split_the_status_times(scenario):
    t3 = metrics_of(scenario["tickets"][2])
    assert (t3.agent_work_seconds, t3.agent_work_business_seconds) == (4 * HOUR, 4 * HOUR)
    assert (t3.agent_wait_seconds, t3.agent_wait_business_seconds) == (2 * HOUR, 2 * HOUR)
    assert (t3.on_hold_seconds, t3.on_hold_business_seconds) == (2 * HOUR, 2 * HOUR)
    assert (t3.requester_wait_seconds, t3.requester_wait_business_seconds) == (6 * HOUR, 6 * HOUR)
    assert (t3.first_resolution_seconds, t3.first_resolution_business_seconds) == (7 * HOUR, 7 * HOUR)
    assert (t3.resolution_seconds, t3.resolution_business_seconds) == (26 * HOUR, 10 * HOUR)
    assert (t3.agent_public_replies, t3.reopens) == (2, 1)


def test_a_transfer_counts_team_and_assignee_stations(scenario):
    t4, t5 = metrics_of(scenario["tickets"][3]), metrics_of(scenario["tickets"][4])
    assert (t4.team_stations, t4.assignee_stations) == (2, 2)
    assert (t5.team_stations, t5.assignee_stations) == (1, 0)


def test_totals_aggregate_the_duration_set_and_the_counts(scenario):
    totals = run()["totals"]
    assert totals["tickets_solved"] == 5
    # First replies: T1 90 h, T2 2 h, T3 1 h, T4 1.5 h, T5 0.25 h -> sorted 0.25, 1, 1.5, 2, 90:
    # mean 94.75 / 5 = 18.95 h, median 1.5 h, p90 at rank 3.6: 2 + 0.6 * 88 = 54.8 h.
    assert totals["first_response_hours"] == {"count": 5, "mean": 18.95, "median": 1.5, "p90": 54.8}
    # Business: 2, 2, 1, 1.5, 0.25 h -> mean 6.75 / 5 = 1.35 h, median 1.5 h, p90 2 h.
    assert totals["first_response_business_hours"] == {"count": 5, "mean": 1.35, "median": 1.5, "p90": 2.0}
    # First resolution: T1 91, T2 2.5, T3 7, T4 2, T5 1 h -> sorted 1, 2, 2.5, 7, 91: mean 20.7.
    assert totals["first_resolution_hours"] == {"count": 5, "mean": 20.7, "median": 2.5, "p90": 57.4}
    # Full resolution differs only for the reopened T3: 26 h -> 1, 2, 2.5, 26, 91: mean 24.5.
    assert totals["resolution_hours"] == {"count": 5, "mean": 24.5, "median": 2.5, "p90": 65.0}
    # Agent wait: only T3 was pending (2 h); the other four count 0 s.
    assert totals["agent_wait_hours"] == {"count": 5, "mean": 0.4, "median": 0.0, "p90": 1.2}
    assert totals["on_hold_business_hours"]["mean"] == 0.4
    # Replies 1 + 1 + 2 + 1 + 1 = 6 over 5 tickets; one-touch: all but T3; FCR: the same four.
    assert totals["replies_per_ticket"] == 1.2
    assert (totals["one_touch_rate"], totals["two_touch_rate"]) == (0.8, 0.2)
    assert totals["first_contact_resolution_rate"] == 0.8
    assert (totals["reopens"], totals["reopen_rate"]) == (1, 0.2)
    # Only T4 was transferred; stations: teams 1 + 1 + 1 + 2 + 1, assignees 1 + 1 + 1 + 2 + 0.
    assert totals["solved_without_transfer_rate"] == 0.8
    assert (totals["team_stations_per_ticket"], totals["assignee_stations_per_ticket"]) == (1.2, 1.0)
    assert (totals["repeat_contacts"], totals["repeat_contact_rate"]) == (1, 0.2)


def test_agent_rows_and_the_unassigned_group_add_up_to_the_totals(scenario):
    result = run(group_by="agent")
    agents = {group["label"]: group for group in result["groups"]}
    assert list(agents) == ["u1", "u2", "(unassigned)"]
    assert [agents[name]["tickets_solved"] for name in agents] == [3, 1, 1]
    assert agents["(unassigned)"]["key"] is None
    assert sum(g["tickets_solved"] for g in agents.values()) == result["totals"]["tickets_solved"]
    assert agents["u1"]["repeat_contacts"] == 1
    assert agents["u1"]["solved_without_transfer_rate"] == 0.6667
    unassigned = run(group_by="week", agent="unassigned")["totals"]
    assert (unassigned["tickets_solved"], unassigned["first_contact_resolution_rate"]) == (1, 1.0)


def test_team_grouping_has_an_unassigned_group_for_tickets_without_a_team(scenario):
    new_ticket(at(5, 12))
    teams = {group["label"]: group["tickets_created"] for group in run(group_by="team")["groups"]}
    # Teams are the tickets' current ones: T4 moved to A.
    assert teams == {"A": 6, "(unassigned)": 1}


def test_the_sla_policys_calendar_comes_before_the_teams(settings):
    settings.TIME_ZONE = "UTC"
    team = factories.TeamFactory()
    TeamCalendar.objects.create(team=team, calendar=factories.sla_calendar(name="Office", time_zone="UTC"))
    always = factories.sla_calendar(
        name="Always", time_zone="UTC", weekly_hours={day: [(time(0), time(0))] for day in range(7)}
    )
    factories.sla_policy(calendar=always, targets={("urgent", "resolution"): 86400}, priorities=["urgent"])
    ticket = new_ticket(at(7, 10), team=team, priority="urgent")
    set_status(ticket, Status.SOLVED, at(7, 12))
    assert metrics_of(ticket).resolution_business_seconds == 2 * HOUR  # a Saturday, open all day


def test_without_policy_or_team_calendar_the_default_calendar_then_the_settings_hours_apply(settings):
    settings.TIME_ZONE = "UTC"
    settings.HELPDESK_DEFAULT_BUSINESS_DAYS = [0, 1, 2, 3, 4]
    settings.HELPDESK_DEFAULT_BUSINESS_HOURS = "10:00-12:00"
    ticket = new_ticket(at(2, 9), team=factories.TeamFactory())
    set_status(ticket, Status.SOLVED, at(2, 17))
    assert metrics_of(ticket).resolution_business_seconds == 2 * HOUR
    default = factories.sla_calendar(name="Default", time_zone="UTC")
    Calendar.objects.filter(pk=default.pk).update(is_default=True)
    ticket = new_ticket(at(2, 9), team=factories.TeamFactory())
    set_status(ticket, Status.SOLVED, at(2, 17))
    assert metrics_of(ticket).resolution_business_seconds == 8 * HOUR
