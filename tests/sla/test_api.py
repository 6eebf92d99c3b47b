"""The SLA API: calendars and policies, a ticket's clocks, ticket filters and ordering, pinning a due time."""

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine

from sla import services as sla_services
from sla.models import Calendar, Metric, Policy, SlaClock
from tests import factories
from tickets.models import Priority

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
MINUTE = 60
TICKETS = "/api/v1/tickets/"
CALENDARS = "/api/v1/sla-calendars/"
POLICIES = "/api/v1/sla-policies/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy(team):
    return factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={
            (Priority.NORMAL, Metric.FIRST_RESPONSE): (60 * MINUTE, False),
            (Priority.NORMAL, Metric.RESOLUTION): (8 * 60 * MINUTE, False),
        },
        warn_percent=80,
        teams=[team],
    )


@pytest.fixture
def lead(team):
    lead = factories.AgentFactory(teams=[team]).user
    team.lead = lead
    team.save()
    return lead


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- calendars and policies --------------------------------------------------------------------------


def test_agents_read_calendars_with_hours_and_holidays(as_user, agent_user):
    factories.sla_calendar(name="Office", holidays=(datetime(2026, 12, 25).date(),))
    [row] = as_user(agent_user).get(CALENDARS).json()["results"]
    assert (row["name"], row["time_zone"]) == ("Office", "Europe/Copenhagen")
    assert row["hours"][0] == {"weekday": 0, "start": "09:00:00", "end": "17:00:00"}
    assert len(row["hours"]) == 5
    assert row["holidays"] == [{"date": "2026-12-25", "name": "Holiday"}]


def test_agents_read_policies_with_targets_but_cannot_write(as_user, agent_user, policy):
    client = as_user(agent_user)
    [row] = client.get(POLICIES).json()["results"]
    assert row["teams"] == [policy.teams.get().pk]
    assert {(t["metric"], t["target_seconds"]) for t in row["targets"]} == {
        ("first_response", 3600),
        ("resolution", 28800),
    }
    assert client.post(CALENDARS, {}, format="json").status_code == 403
    assert client.post(POLICIES, {}, format="json").status_code == 403


def test_admin_creates_a_calendar_through_the_service(as_user, admin_user):
    response = as_user(admin_user).post(
        CALENDARS,
        {
            "name": "Support NY",
            "time_zone": "America/New_York",
            "hours": [{"weekday": day, "start": "08:00", "end": "18:00"} for day in range(5)],
            "holidays": [{"date": "2026-07-03", "name": "Independence Day (observed)"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    calendar = Calendar.objects.get(name="Support NY")
    assert calendar.intervals.count() == 5
    assert calendar.intervals.first().start == time(8)
    assert response.json()["holidays"] == [{"date": "2026-07-03", "name": "Independence Day (observed)"}]


def test_a_whole_day_calendar_is_written_and_read_with_midnight_as_00_00_00(as_user, admin_user):
    hours = [
        {"weekday": 0, "start": "00:00:00", "end": "00:00:00"},
        {"weekday": 1, "start": "00:00", "end": "12:30"},
    ]
    client = as_user(admin_user)

    response = client.post(CALENDARS, {"name": "All day", "time_zone": "UTC", "hours": hours}, format="json")

    assert response.status_code == 201, response.json()
    read = client.get(f"{CALENDARS}{response.json()['id']}/").json()
    assert read["hours"] == [
        {"weekday": 0, "start": "00:00:00", "end": "00:00:00"},
        {"weekday": 1, "start": "00:00:00", "end": "12:30:00"},
    ]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"hours": [{"weekday": 9, "start": "08:00", "end": "18:00"}]}, "hours"),
        ({"hours": [{"weekday": 0, "start": "late", "end": "18:00"}]}, "hours"),
        # Business hours are local wall-clock times: an offset would be silently dropped, so it is refused.
        ({"hours": [{"weekday": 0, "start": "08:00:00+01:00", "end": "18:00"}]}, "hours"),
        ({"hours": [{"weekday": 0, "start": "08:00", "end": "24:00"}]}, "hours"),
        ({"hours": "all day"}, "hours"),
        ({"holidays": [{"date": "2026-02-30"}]}, "holidays"),
        ({"holidays": [{"date": "2026-07-03"}, {"date": "2026-07-03"}]}, "holidays"),
        ({"name": ""}, "name"),
    ],
)
def test_malformed_calendars_are_refused_and_nothing_is_created(as_user, admin_user, payload, field):
    good = {"name": "Bad", "time_zone": "UTC", "hours": [{"weekday": 0, "start": "08:00", "end": "18:00"}]}
    response = as_user(admin_user).post(CALENDARS, {**good, **payload}, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Calendar.objects.exists()


def test_admin_creates_a_policy_with_targets(as_user, admin_user, team):
    calendar = factories.sla_calendar()
    response = as_user(admin_user).post(
        POLICIES,
        {
            "name": "Gold",
            "calendar": calendar.pk,
            "teams": [team.pk],
            "priorities": ["high", "urgent"],
            "warn_minutes_before": 15,
            "targets": [
                {"priority": "high", "metric": "first_response", "target_seconds": 1800},
                {
                    "priority": "urgent",
                    "metric": "resolution",
                    "target_seconds": 7200,
                    "business_hours": False,
                },
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    policy = Policy.objects.get(name="Gold")
    assert list(policy.teams.all()) == [team]
    assert policy.targets.get(priority="urgent").business_hours is False
    assert response.json()["targets"][0]["target_seconds"] in (1800, 7200)


@pytest.mark.parametrize(
    "payload, status_code",
    [
        ({"targets": []}, 400),
        ({"targets": [{"priority": "whenever", "metric": "resolution", "target_seconds": 60}]}, 400),
        ({"targets": [{"priority": "low", "metric": "resolution", "target_seconds": 0}]}, 400),
        (
            {
                "targets": [
                    {"priority": "low", "metric": "resolution", "target_seconds": 60},
                    {"priority": "low", "metric": "resolution", "target_seconds": 90},
                ]
            },
            400,
        ),
        ({"warn_percent": 50, "warn_minutes_before": 10}, 400),
        ({"escalate_reassign": "escalation_team"}, 400),
        ({"calendar": 999999}, 400),
    ],
)
def test_malformed_policies_are_refused_and_nothing_is_created(as_user, admin_user, payload, status_code):
    calendar = factories.sla_calendar()
    good = {
        "name": "Bad",
        "calendar": calendar.pk,
        "targets": [{"priority": "low", "metric": "resolution", "target_seconds": 60}],
    }
    response = as_user(admin_user).post(POLICIES, {**good, **payload}, format="json")
    assert response.status_code == status_code, response.json()
    assert response.json()["detail"]
    assert not Policy.objects.exists()


def test_calendar_and_policy_lists_take_a_constant_number_of_queries(
    as_user, agent_user, django_assert_max_num_queries
):
    client = as_user(agent_user)
    calendar = factories.sla_calendar(name="C0")
    factories.sla_policy(calendar=calendar, name="P0", targets={("low", "resolution"): 60})
    with django_assert_max_num_queries(20) as small:
        client.get(CALENDARS)
        client.get(POLICIES)
    for n in range(1, 6):
        calendar = factories.sla_calendar(name=f"C{n}")
        factories.sla_policy(calendar=calendar, name=f"P{n}", targets={("low", "resolution"): 60})
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(client.get(CALENDARS).json()["results"]) == 6
        assert len(client.get(POLICIES).json()["results"]) == 6


# --- a ticket's clocks --------------------------------------------------------------------------------


def test_a_tickets_sla_shows_each_metric_with_due_remaining_and_overdue(as_user, agent_user, team, policy):
    ticket = factories.ticket(team=team, now=T0)
    client = as_user(agent_user)
    with time_machine.travel(at(50), tick=False):
        body = client.get(f"{TICKETS}{ticket.pk}/sla/").json()
    first, resolution = body["metrics"]
    assert (first["metric"], first["state"], first["target_seconds"]) == ("first_response", "running", 3600)
    assert (first["due_at"], first["remaining_seconds"], first["overdue_seconds"]) == (
        "2026-03-02T09:00:00Z",
        600,
        None,
    )
    assert resolution["due_at"] == "2026-03-02T16:00:00Z"
    sla_services.sla_sweep(now=at(75))
    with time_machine.travel(at(75), tick=False):
        body = client.get(f"{TICKETS}{ticket.pk}/sla/").json()
    first = body["metrics"][0]
    assert (first["state"], first["breached_at"], first["remaining_seconds"], first["overdue_seconds"]) == (
        "breached",
        "2026-03-02T09:00:00Z",
        None,
        900,
    )
    kinds = [(event["metric"], event["kind"]) for event in body["events"]]
    assert ("first_response", "warned") in kinds and ("first_response", "breached") in kinds
    assert body["ticket"] == ticket.pk


def test_a_ticket_of_another_team_or_unknown_answers_404_for_its_sla(as_user, agent_user, policy):
    other = factories.ticket(team=factories.TeamFactory(name="Elsewhere"))
    client = as_user(agent_user)
    assert client.get(f"{TICKETS}{other.pk}/sla/").status_code == 404
    assert client.get(f"{TICKETS}999999/sla/").status_code == 404
    assert client.get(f"{TICKETS}abc/sla/").status_code == 404


def test_a_ticket_without_a_policy_has_no_sla_metrics(as_user, agent_user, ticket):
    assert as_user(agent_user).get(f"{TICKETS}{ticket.pk}/sla/").json() == {
        "ticket": ticket.pk,
        "metrics": [],
        "events": [],
    }


# --- ticket filters and ordering ---------------------------------------------------------------------


@pytest.fixture
def queue(team, policy):
    """Tickets created 70, 50 and 10 minutes before `at(100)`, and one no policy applies to."""
    tickets = {
        "overdue": factories.ticket(team=team, subject="overdue", now=at(30)),
        "soon": factories.ticket(team=team, subject="soon", now=at(50)),
        "fresh": factories.ticket(team=team, subject="fresh", now=at(90)),
        "low": factories.ticket(team=team, subject="low", priority=Priority.LOW, now=at(0)),
    }
    sla_services.sla_sweep(now=at(100))
    return tickets


def subjects(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["subject"] for row in response.json()["results"]]


def test_tickets_filter_by_sla_state_and_breaching_within(as_user, agent_user, queue):
    client = as_user(agent_user)
    with time_machine.travel(at(100), tick=False):
        assert subjects(client.get(TICKETS, {"sla_state": "breached"})) == ["overdue"]
        assert subjects(client.get(TICKETS, {"sla_state": "breaching_soon"})) == ["soon"]
        # overdue's first response is already breached (not running); its resolution is due in hours.
        assert subjects(client.get(TICKETS, {"breaching_within": 0, "ordering": "created"})) == []
        assert subjects(client.get(TICKETS, {"breaching_within": 10, "ordering": "created"})) == ["soon"]
        assert subjects(client.get(TICKETS, {"breaching_within": 60, "ordering": "created"})) == [
            "soon",
            "fresh",
        ]
    with time_machine.travel(at(115), tick=False):  # fresh is past due, not yet swept
        assert subjects(client.get(TICKETS, {"breaching_within": 0})) == ["soon"]


@pytest.mark.parametrize(
    "params",
    [
        {"sla_state": "late"},
        {"breaching_within": -1},
        {"breaching_within": "soon"},
        {"breaching_within": 10**9},
    ],
)
def test_malformed_sla_filters_answer_400(as_user, agent_user, params):
    response = as_user(agent_user).get(TICKETS, params)
    assert response.status_code == 400
    assert set(params) <= set(response.json()["errors"])


def test_ordering_by_next_sla_due_puts_breached_tickets_first_those_without_a_due_clock_last_and_pages(
    as_user, agent_user, queue
):
    client = as_user(agent_user)
    # overdue's first response is breached and not yet fulfilled: its due instant, the earliest, leads.
    expected = ["overdue", "soon", "fresh", "low"]
    assert subjects(client.get(TICKETS, {"ordering": "next_sla_due"})) == expected
    seen, url, params = [], TICKETS, {"ordering": "next_sla_due", "page_size": 1}
    while url:
        body = client.get(url, params).json()
        seen += [row["subject"] for row in body["results"]]
        url, params = body["next"], None
    assert seen == expected


def test_the_ticket_list_with_sla_filters_takes_a_constant_number_of_queries(
    as_user, agent_user, team, policy, django_assert_max_num_queries
):
    client = as_user(agent_user)
    params = {"breaching_within": 600, "ordering": "next_sla_due"}
    factories.ticket(team=team)
    with django_assert_max_num_queries(30) as small:
        assert len(client.get(TICKETS, params).json()["results"]) == 1
    for _ in range(8):
        factories.ticket(team=team)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(client.get(TICKETS, params).json()["results"]) == 9


# --- pinning ------------------------------------------------------------------------------------------


def test_the_teams_lead_pins_a_due_time_and_agents_may_not(as_user, agent_user, lead, team, policy):
    ticket = factories.ticket(team=team, now=at(0))
    clock = SlaClock.objects.get(ticket=ticket, metric=Metric.FIRST_RESPONSE)
    url = f"/api/v1/sla-clocks/{clock.pk}/pin/"
    refused = as_user(agent_user).post(url, {"due_at": "2026-03-02T12:00:00Z"}, format="json")
    assert refused.status_code == 403
    with time_machine.travel(at(10), tick=False):
        response = as_user(lead).post(url, {"due_at": "2026-03-02T12:00:00+01:00"}, format="json")
        assert response.status_code == 200, response.json()
        assert response.json()["due_at"] == "2026-03-02T11:00:00Z"
        clock.refresh_from_db()
        assert clock.pinned_due_at == datetime(2026, 3, 2, 11, tzinfo=UTC)
        unpinned = as_user(lead).post(url, {"due_at": None}, format="json").json()
    assert (unpinned["pinned_due_at"], unpinned["due_at"]) == (None, "2026-03-02T09:00:00Z")


def test_pinning_refuses_other_teams_bad_dates_and_breached_clocks(as_user, lead, admin_user, team, policy):
    elsewhere = factories.TeamFactory(name="Elsewhere")
    factories.sla_policy(
        calendar=policy.calendar, name="Elsewhere", position=1, targets={("normal", "resolution"): 60}
    )
    other_clock = SlaClock.objects.get(ticket=factories.ticket(team=elsewhere, now=at(0)))
    ticket = factories.ticket(team=team, now=at(0))
    clock = SlaClock.objects.get(ticket=ticket, metric=Metric.FIRST_RESPONSE)
    client = as_user(lead)
    assert client.post(f"/api/v1/sla-clocks/{other_clock.pk}/pin/", {"due_at": None}).status_code == 404
    assert client.post("/api/v1/sla-clocks/999999/pin/", {"due_at": None}, format="json").status_code == 404
    bad = client.post(f"/api/v1/sla-clocks/{clock.pk}/pin/", {"due_at": "tomorrow"}, format="json")
    assert bad.status_code == 400 and "due_at" in bad.json()["errors"]
    assert client.post(f"/api/v1/sla-clocks/{clock.pk}/pin/", {}, format="json").status_code == 400
    sla_services.sla_sweep(now=at(120))
    breached = as_user(admin_user).post(
        f"/api/v1/sla-clocks/{clock.pk}/pin/", {"due_at": "2026-03-03T12:00:00Z"}, format="json"
    )
    assert breached.status_code == 400
    assert "breached" in breached.json()["detail"]
