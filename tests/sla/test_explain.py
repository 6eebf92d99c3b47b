"""The SLA explainer: known answers by hand, and agreement with the engine on every generated clock."""

import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sla import selectors
from sla import services as sla_services
from sla.models import ClockState, Metric, SlaClock
from tests import factories
from tickets import services
from tickets.exceptions import DomainError
from tickets.models import Message, Priority, Status, Tag, Ticket

pytestmark = pytest.mark.django_db

CPH = ZoneInfo("Europe/Copenhagen")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A January 2026 instant in Copenhagen (2026-01-05 is a Monday)."""
    return datetime(2026, 1, day, hour, minute, tzinfo=CPH)


@pytest.fixture
def office():
    return factories.sla_calendar(holidays=(date(2026, 1, 9),))


@pytest.fixture
def policy(office):
    return factories.sla_policy(
        calendar=office,
        targets={
            (Priority.NORMAL, Metric.FIRST_RESPONSE): 4 * HOUR,
            (Priority.NORMAL, Metric.NEXT_RESPONSE): 2 * HOUR,
            (Priority.NORMAL, Metric.PERIODIC_UPDATE): (24 * HOUR, False),
            (Priority.NORMAL, Metric.RESOLUTION): 16 * HOUR,
            (Priority.HIGH, Metric.FIRST_RESPONSE): 2 * HOUR,
            (Priority.HIGH, Metric.NEXT_RESPONSE): 90 * 60,
            (Priority.HIGH, Metric.RESOLUTION): 8 * HOUR,
            (Priority.URGENT, Metric.FIRST_RESPONSE): (HOUR, False),
            (Priority.URGENT, Metric.RESOLUTION): 4 * HOUR,
        },
    )


def explain(ticket, tz=CPH, now=None):
    return selectors.ticket_sla_explanation(ticket, now or at(20, 12), tz)


def by_metric(explanation, metric, sequence=1):
    return next(c for c in explanation.clocks if c.explanation.metric == metric and c.sequence == sequence)


def test_due_instant_skips_the_evening_a_holiday_and_the_weekend(policy, customer, team):
    ticket = factories.ticket(customer=customer, team=team, now=at(8, 15))  # Thursday 15:00

    first = by_metric(explain(ticket), Metric.FIRST_RESPONSE).explanation

    assert first.due_at == at(12, 11)
    assert first.due_rule == "computed"
    assert first.holidays_skipped == [date(2026, 1, 9)]
    assert [(w.start, w.end, w.seconds, w.cumulative) for w in first.windows] == [
        (at(8, 15), at(8, 17), 2 * HOUR, 2 * HOUR),
        (at(12, 9), at(12, 11), 2 * HOUR, 4 * HOUR),
    ]
    # Thursday 17:00 to Monday 09:00 is closed: 88 hours of wall-clock time skipped.
    assert first.closed_seconds_skipped == 88 * HOUR
    assert first.steps[-1] == "Thu 08 Jan 15:00 + 4h00m of business time = due Mon 12 Jan 2026 11:00:00 CET."


def test_a_pause_and_resume_appear_with_their_cause_and_the_remaining_time(
    policy, customer, team, agent_user
):
    ticket = factories.ticket(customer=customer, team=team, now=at(5, 9))  # Monday 09:00
    services.ticket_change_status(ticket=ticket, status=Status.PENDING, actor=agent_user, now=at(5, 12))
    services.ticket_change_status(ticket=ticket, status=Status.OPEN, actor=agent_user, now=at(6, 10))

    resolution = by_metric(explain(ticket), Metric.RESOLUTION).explanation

    closed = resolution.segments[0]
    assert (closed.start, closed.end, closed.business_seconds) == (at(5, 9), at(5, 12), 3 * HOUR)
    assert closed.ended_by == "ticket pending"
    assert resolution.segments[1].start == at(6, 10)
    assert resolution.segments[1].started_by == "ticket open"
    assert resolution.elapsed_seconds == 3 * HOUR
    assert resolution.remaining_seconds == 13 * HOUR
    # 13 h from Tuesday 10:00: 7 h Tuesday, 6 h Wednesday.
    assert resolution.due_at == at(7, 15)
    assert resolution.due_at == SlaClock.objects.get(ticket=ticket, metric=Metric.RESOLUTION).due_at


def test_instants_are_shown_in_the_agents_time_zone(policy, customer, team):
    ticket = factories.ticket(customer=customer, team=team, now=at(8, 15))

    first = by_metric(explain(ticket, tz=NEW_YORK), Metric.FIRST_RESPONSE).explanation

    assert first.due_at.tzinfo == NEW_YORK
    assert first.due_at.hour == 5  # 11:00 in Copenhagen is 05:00 in New York
    assert first.windows[0].start.tzinfo == NEW_YORK


def test_the_matching_policy_is_explained_with_the_facts_and_the_skipped_policies(
    office, policy, customer, team
):
    policy.position = 2
    policy.save()
    vip = factories.sla_policy(
        calendar=office,
        name="VIP",
        position=1,
        vip=True,
        targets={(Priority.NORMAL, Metric.RESOLUTION): HOUR},
    )
    ticket = factories.ticket(customer=customer, team=team, now=at(8, 15))

    explanation = explain(ticket)

    assert [(p.name, p.matched) for p in explanation.policies] == [("VIP", False), ("Standard", True)]
    vip_check = next(c for c in explanation.policies[0].checks if c.name == "vip")
    assert (vip_check.required, vip_check.actual, vip_check.holds) == ("VIP", "not VIP", False)
    assert explanation.facts["priorities"] == "normal"
    assert explanation.policies[0].policy_id == vip.pk


def test_the_api_explains_each_clock_in_the_requested_zone_and_hides_other_teams_tickets(
    policy, customer, team, agent_user, as_user
):
    ticket = factories.ticket(customer=customer, team=team, now=at(8, 15))
    client = as_user(agent_user)

    response = client.get(f"/api/v1/tickets/{ticket.pk}/sla/explain/?tz=America/New_York")

    assert response.status_code == 200
    first = next(c for c in response.json()["clocks"] if c["explanation"]["metric"] == "first_response")
    assert first["explanation"]["due_at"] == "2026-01-12T05:00:00-05:00"
    assert first["calendar"]["holidays"] == [{"date": "2026-01-09", "name": "Holiday"}]
    assert client.get(f"/api/v1/tickets/{ticket.pk}/sla/explain/?tz=Mars/Olympus").status_code == 400
    other = factories.ticket(customer=customer, team=factories.TeamFactory(), now=at(8, 15))
    assert client.get(f"/api/v1/tickets/{other.pk}/sla/explain/").status_code == 404


# --- agreement with the engine on generated lives -------------------------------------------------


def _measure(clock: SlaClock, business: bool, final: bool = False) -> int | None:
    if final:
        return clock.final_business_seconds if business else clock.final_calendar_seconds
    return clock.elapsed_business_seconds if business else clock.elapsed_calendar_seconds


def _live_a_random_life(rng: random.Random, ticket: Ticket, agent, start: datetime) -> None:
    now = start
    for _ in range(rng.randint(3, 12)):
        now += timedelta(minutes=rng.choice([7, 45, 95, 240, 600, 1500, 3000]))
        ticket.refresh_from_db()
        action = rng.choice(
            [
                "customer",
                "reply",
                "pending",
                "hold",
                "open",
                "solve",
                "priority",
                "tag",
                "untag",
                "pin",
                "sweep",
            ]
        )
        try:
            if action == "customer":
                services.message_add(
                    ticket=ticket, author_role=Message.AuthorRole.CUSTOMER, body_text="And?", now=now
                )
            elif action == "reply":
                services.message_add(
                    ticket=ticket,
                    author_role=Message.AuthorRole.AGENT,
                    author_user=agent,
                    body_text="Looking",
                    now=now,
                )
            elif action in ("pending", "hold", "open", "solve"):
                status = {"pending": Status.PENDING, "hold": Status.ON_HOLD, "open": Status.OPEN}.get(
                    action, Status.SOLVED
                )
                services.ticket_change_status(ticket=ticket, status=status, actor=agent, now=now)
            elif action == "priority":
                priority = rng.choice([Priority.NORMAL, Priority.HIGH, Priority.URGENT, Priority.LOW])
                services.ticket_change_priority(ticket=ticket, priority=priority, actor=agent, now=now)
            elif action == "tag":
                services.ticket_add_tags(ticket=ticket, names=["gold"], actor=agent, now=now)
            elif action == "untag":
                services.ticket_remove_tags(ticket=ticket, names=["gold"], actor=agent, now=now)
            elif action == "pin":
                clock = SlaClock.objects.filter(ticket=ticket, stopped_at__isnull=True).first()
                if clock is not None:
                    due = now + timedelta(hours=rng.randint(1, 30)) if rng.random() < 0.7 else None
                    sla_services.sla_clock_pin_due(clock=clock, due_at=due, now=now)
            else:
                sla_services.sla_sweep(now=now)
        except DomainError:
            pass  # e.g. a closed ticket or a breached clock that cannot be pinned: the life goes on


def test_the_explanation_agrees_with_the_engine_on_every_generated_clock(policy, office, team, agent_user):
    # A second policy on another calendar (tagged tickets): moving between them folds the time measured.
    new_york = factories.sla_calendar(
        name="New York",
        time_zone="America/New_York",
        weekly_hours={d: [(time(8), time(20))] for d in range(6)},
    )
    gold = Tag.objects.create(name="gold")
    factories.sla_policy(
        calendar=new_york,
        name="Gold",
        position=0,
        tags=[gold],
        warn_percent=75,
        targets={
            (Priority.NORMAL, Metric.FIRST_RESPONSE): 3 * HOUR,
            (Priority.NORMAL, Metric.NEXT_RESPONSE): HOUR,
            (Priority.NORMAL, Metric.RESOLUTION): 10 * HOUR,
            (Priority.HIGH, Metric.FIRST_RESPONSE): (2 * HOUR, False),
            (Priority.HIGH, Metric.RESOLUTION): 6 * HOUR,
            (Priority.URGENT, Metric.RESOLUTION): (5 * HOUR, False),
        },
    )
    rng = random.Random(13)
    for index in range(40):
        start = at(5, 8) + timedelta(minutes=rng.randint(0, 60 * 24 * 6))
        ticket = factories.ticket(team=team, now=start, subject=f"Generated {index}")
        _live_a_random_life(rng, ticket, agent_user, start)

    checked = 0
    kinds = set()
    for ticket in Ticket.objects.all():
        explanation = selectors.ticket_sla_explanation(ticket, at(28, 12), CPH)
        for item in explanation.clocks:
            clock = SlaClock.objects.get(pk=item.clock_id)
            e = item.explanation
            business = clock.business_hours
            label = f"clock {clock.pk} ({clock.metric}, {clock.state})"
            assert e.elapsed_seconds == _measure(clock, business), label
            assert e.measuring_since == clock.running_since, label
            if clock.stopped_at is not None:
                assert e.final_seconds == _measure(clock, business, final=True), label
            elif clock.state in (ClockState.RUNNING, ClockState.BREACHED):
                assert e.due_at == clock.due_at, label
                if e.due_rule in ("computed", "breached") and e.windows and not e.windows_omitted:
                    assert e.windows[-1].cumulative == e.remaining_seconds, label
            kinds.update(entry.kind for entry in e.timeline)
            checked += 1
    assert checked > 100
    assert {"applied", "paused", "resumed", "fulfilled", "breached", "recomputed", "pinned"} <= kinds


def test_the_explain_endpoint_is_in_the_openapi_schema(client):
    paths = client.get("/api/v1/schema/?format=json").json()["paths"]
    assert "get" in paths["/api/v1/tickets/{ticket_pk}/sla/explain/"]
