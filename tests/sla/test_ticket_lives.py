"""Tickets walked through realistic lives, every clock checked to the second.

The calendar is Copenhagen office hours (Mon-Fri 09:00-17:00, UTC+1 in January) with Friday
2026-01-09 as a holiday, so a weekend and a holiday lie in the path.
"""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from sla import services as sla_services
from sla.models import ClockState, Metric, SlaClock, SlaEvent
from tests import factories
from tickets import hooks, services
from tickets.models import Message, Priority, Status

pytestmark = pytest.mark.django_db

CPH = ZoneInfo("Europe/Copenhagen")
HOUR = 3600


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A January 2026 instant in Copenhagen (2026-01-05 is a Monday)."""
    return datetime(2026, 1, day, hour, minute, tzinfo=CPH)


def clock(ticket, metric, sequence=1) -> SlaClock:
    return SlaClock.objects.get(ticket=ticket, metric=metric, sequence=sequence)


def customer_says(ticket, now, text="More details"):
    return services.message_add(
        ticket=ticket, author_role=Message.AuthorRole.CUSTOMER, body_text=text, now=now
    )


def agent_says(ticket, agent, now, **kwargs):
    return services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent,
        body_text="On it",
        now=now,
        **kwargs,
    )


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
            (Priority.HIGH, Metric.PERIODIC_UPDATE): (24 * HOUR, False),
            (Priority.HIGH, Metric.RESOLUTION): 8 * HOUR,
        },
    )


def test_a_ticket_life_across_a_holiday_weekend_reply_pending_reopen_priority_change_and_solve(
    policy, customer, team, agent_user
):
    # Thursday 15:00: two business hours left this week; Friday is a holiday, then the weekend.
    ticket = factories.ticket(customer=customer, team=team, now=at(8, 15))
    first = clock(ticket, Metric.FIRST_RESPONSE)
    resolution = clock(ticket, Metric.RESOLUTION)
    assert first.due_at == at(12, 11)  # 2 h Thursday + 2 h Monday morning
    assert resolution.due_at == at(13, 15)  # 2 h Thu + 8 h Mon + 6 h Tue
    assert not SlaClock.objects.filter(metric=Metric.NEXT_RESPONSE).exists()

    # Monday 10:00 the agent answers and sets the ticket pending: first response met, resolution pauses.
    agent_says(ticket, agent_user, at(12, 10), new_status=Status.PENDING)
    first.refresh_from_db()
    assert (first.state, first.stopped_at) == (ClockState.ACHIEVED, at(12, 10))
    assert (first.final_business_seconds, first.final_calendar_seconds) == (3 * HOUR, 91 * HOUR)
    resolution.refresh_from_db()
    assert (resolution.state, resolution.paused_at, resolution.due_at) == (
        ClockState.PAUSED,
        at(12, 10),
        None,
    )
    assert resolution.elapsed_business_seconds == 3 * HOUR
    update = clock(ticket, Metric.PERIODIC_UPDATE)
    assert (update.started_at, update.due_at) == (at(12, 10), at(13, 10))  # 24 calendar hours

    # Monday 14:00 the customer answers: the ticket reopens, resolution resumes with 3 h kept.
    customer_says(ticket, at(12, 14))
    resolution.refresh_from_db()
    assert resolution.state == ClockState.RUNNING
    assert resolution.due_at == at(14, 11)  # 13 h left: Mon 3 h, Tue 8 h, Wed 2 h
    next_response = clock(ticket, Metric.NEXT_RESPONSE)
    assert (next_response.started_at, next_response.due_at) == (at(12, 14), at(12, 16))

    # Monday 15:00 priority goes up: tighter targets apply to the time measured so far.
    services.ticket_change_priority(ticket=ticket, priority=Priority.HIGH, now=at(12, 15))
    resolution.refresh_from_db()
    # 3 h before the pause plus the segment running since 14:00 are kept.
    assert (resolution.target_seconds, resolution.elapsed_business_seconds) == (8 * HOUR, 3 * HOUR)
    assert resolution.running_since == at(12, 14)
    assert resolution.due_at == at(13, 11)  # 4 h left: Mon 15-17, Tue 09-11
    next_response.refresh_from_db()
    assert next_response.due_at == at(12, 15, 30)
    assert SlaEvent.objects.filter(clock=resolution, kind=SlaEvent.Kind.RECOMPUTED).count() == 1

    # Nobody answers by 15:30: the sweep breaches next response at its due instant.
    assert sla_services.sla_sweep(now=at(12, 15, 31)).breached == 1
    next_response.refresh_from_db()
    assert (next_response.state, next_response.breached_at) == (ClockState.BREACHED, at(12, 15, 30))

    # Monday 16:00 the agent answers: next response stays breached, with its fulfilment recorded.
    agent_says(ticket, agent_user, at(12, 16))
    next_response.refresh_from_db()
    assert (next_response.state, next_response.stopped_at) == (ClockState.BREACHED, at(12, 16))
    assert next_response.final_business_seconds == 2 * HOUR
    assert clock(ticket, Metric.PERIODIC_UPDATE, 1).state == ClockState.ACHIEVED
    assert clock(ticket, Metric.PERIODIC_UPDATE, 2).due_at == at(13, 16)

    # Tuesday 10:00 solved: 7 business hours of resolution, within the 8 h target.
    services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=at(13, 10))
    resolution.refresh_from_db()
    assert (resolution.state, resolution.final_business_seconds) == (ClockState.ACHIEVED, 7 * HOUR)
    assert clock(ticket, Metric.PERIODIC_UPDATE, 2).stopped_at == at(13, 10)
    ticket.refresh_from_db()
    assert ticket.metrics.first_response_business_seconds == 3 * HOUR
    assert ticket.metrics.resolution_business_seconds == 11 * HOUR  # created -> solved, pending included

    # Wednesday 09:30 the customer writes again: resolution resumes from 7 h, not from zero.
    customer_says(ticket, at(14, 9, 30))
    resolution.refresh_from_db()
    assert (resolution.state, resolution.due_at) == (ClockState.RUNNING, at(14, 10, 30))
    assert clock(ticket, Metric.NEXT_RESPONSE, 2).due_at == at(14, 11)
    services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=at(14, 10))
    resolution.refresh_from_db()
    assert (resolution.state, resolution.final_business_seconds) == (ClockState.ACHIEVED, 7 * HOUR + 1800)
    assert clock(ticket, Metric.NEXT_RESPONSE, 2).state == ClockState.ACHIEVED
    assert not SlaClock.objects.filter(ticket=ticket, stopped_at__isnull=True).exists()
    kinds = list(resolution.events.values_list("kind", flat=True))
    assert kinds == ["applied", "paused", "resumed", "recomputed", "fulfilled", "resumed", "fulfilled"]


def test_first_response_of_an_agent_opened_ticket_starts_at_the_customers_first_message(
    policy, customer, team
):
    agent = factories.AgentFactory(teams=[team]).user
    ticket = services.ticket_create(
        subject="Called in",
        customer=customer,
        team=team,
        body_text="Logged by phone",
        opened_by=agent,
        now=at(5, 9),
    )
    assert not SlaClock.objects.filter(ticket=ticket, metric=Metric.FIRST_RESPONSE).exists()
    assert clock(ticket, Metric.RESOLUTION).started_at == at(5, 9)
    customer_says(ticket, at(5, 11))
    first = clock(ticket, Metric.FIRST_RESPONSE)
    assert (first.started_at, first.due_at) == (at(5, 11), at(5, 15))
    agent_says(ticket, agent, at(5, 12), visibility=Message.Visibility.INTERNAL)
    services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.SYSTEM,
        body_text="Got it",
        is_automatic=True,
        now=at(5, 12),
    )
    first.refresh_from_db()
    assert first.state == ClockState.RUNNING
    agent_says(ticket, agent, at(5, 13, 30))
    first.refresh_from_db()
    assert (first.state, first.final_business_seconds) == (ClockState.ACHIEVED, 2 * HOUR + 1800)
    ticket.refresh_from_db()
    # The SLA clock starts at the customer's first message; the first reply time metric (Zendesk's
    # definition) runs from creation (09:00) to the agent's next public comment.
    assert ticket.metrics.first_response_business_seconds == 4 * HOUR + 1800


def test_next_response_is_one_instance_per_exchange_starting_at_the_oldest_unanswered_message(
    policy, ticket, agent_user
):
    agent_says(ticket, agent_user, ticket.created_at)
    customer_says(ticket, at(6, 10))
    customer_says(ticket, at(6, 10, 20))
    agent_says(ticket, agent_user, at(6, 11))
    customer_says(ticket, at(6, 16))
    agent_says(ticket, agent_user, at(7, 10))
    instances = list(SlaClock.objects.filter(ticket=ticket, metric=Metric.NEXT_RESPONSE).order_by("sequence"))
    assert [(c.started_at, c.due_at, c.stopped_at, c.state) for c in instances] == [
        (at(6, 10), at(6, 12), at(6, 11), ClockState.ACHIEVED),
        (at(6, 16), at(7, 10), at(7, 10), ClockState.ACHIEVED),  # 1 h Tue + 1 h Wed: due exactly then
    ]


def test_periodic_update_starts_a_new_instance_at_each_public_reply_while_unsolved(
    policy, ticket, agent_user
):
    agent_says(ticket, agent_user, at(5, 10))
    agent_says(ticket, agent_user, at(6, 9))
    agent_says(ticket, agent_user, at(7, 12))  # 27 h after the previous update: the second instance is late
    services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=at(7, 13))
    instances = SlaClock.objects.filter(ticket=ticket, metric=Metric.PERIODIC_UPDATE).order_by("sequence")
    assert [(c.started_at, c.stopped_at, c.state) for c in instances] == [
        (at(5, 10), at(6, 9), ClockState.ACHIEVED),
        (at(6, 9), at(7, 12), ClockState.BREACHED),
        (at(7, 12), at(7, 13), ClockState.ACHIEVED),
    ]
    late = instances[1]
    assert late.breached_at == at(7, 9)
    assert late.events.filter(kind=SlaEvent.Kind.BREACHED).get().details["detected_by"] == "ticket change"


def test_on_hold_pauses_resolution_only_when_the_policy_says_so(office, customer, team):
    factories.sla_policy(
        calendar=office,
        targets={(Priority.NORMAL, Metric.RESOLUTION): 8 * HOUR},
        pause_when_pending=True,
        pause_when_on_hold=False,
    )
    ticket = factories.ticket(customer=customer, team=team, now=at(5, 9))
    services.ticket_change_status(ticket=ticket, status=Status.ON_HOLD, now=at(5, 10))
    resolution = clock(ticket, Metric.RESOLUTION)
    assert (resolution.state, resolution.due_at) == (ClockState.RUNNING, at(5, 17))
    services.ticket_change_status(ticket=ticket, status=Status.PENDING, now=at(5, 11))
    resolution.refresh_from_db()
    assert (resolution.state, resolution.elapsed_business_seconds) == (ClockState.PAUSED, 2 * HOUR)
    services.ticket_change_status(ticket=ticket, status=Status.OPEN, now=at(6, 9))
    resolution.refresh_from_db()
    assert (resolution.state, resolution.due_at) == (ClockState.RUNNING, at(6, 15))


def test_a_team_change_moves_clocks_to_the_matching_policy_keeping_elapsed_time(office, customer, team):
    vip_team = factories.TeamFactory(name="VIP")
    factories.sla_policy(
        name="VIP",
        calendar=office,
        teams=[vip_team],
        targets={(Priority.NORMAL, Metric.RESOLUTION): 4 * HOUR},
    )
    standard = factories.sla_policy(
        name="Standard",
        position=1,
        calendar=office,
        targets={(Priority.NORMAL, Metric.RESOLUTION): 16 * HOUR},
    )
    ticket = factories.ticket(customer=customer, team=team, now=at(5, 9))
    assert clock(ticket, Metric.RESOLUTION).policy == standard
    services.ticket_assign(ticket=ticket, team=vip_team, now=at(5, 12))
    resolution = clock(ticket, Metric.RESOLUTION)
    assert (resolution.policy.name, resolution.running_since) == ("VIP", at(5, 9))  # 3 h kept
    assert resolution.due_at == at(5, 13)
    # No policy matches once the only remaining one is switched off: the clock is cancelled.
    standard.is_active = False
    standard.save()
    services.ticket_assign(ticket=ticket, team=team, now=at(5, 12, 30))
    resolution.refresh_from_db()
    assert (resolution.state, resolution.stopped_at) == (ClockState.CANCELLED, at(5, 12, 30))


def test_a_pinned_due_time_survives_a_priority_change(policy, ticket):
    resolution = clock(ticket, Metric.RESOLUTION)
    pinned = resolution.started_at.replace(year=2030)
    sla_services.sla_clock_pin_due(clock=resolution, due_at=pinned, now=ticket.created_at)
    services.ticket_change_priority(ticket=ticket, priority=Priority.HIGH)
    resolution.refresh_from_db()
    assert (resolution.due_at, resolution.target_seconds) == (pinned, 8 * HOUR)
    assert resolution.events.filter(kind=SlaEvent.Kind.PINNED).exists()


def test_pinning_refuses_a_breached_clock_and_a_naive_time(policy, ticket):
    from tickets.exceptions import DomainError

    resolution = clock(ticket, Metric.RESOLUTION)
    with pytest.raises(DomainError, match="time zone"):
        sla_services.sla_clock_pin_due(clock=resolution, due_at=datetime(2030, 1, 1))
    sla_services.sla_sweep(now=resolution.due_at.replace(year=2031))
    with pytest.raises(DomainError, match="only a running or paused clock"):
        sla_services.sla_clock_pin_due(clock=resolution, due_at=datetime(2032, 1, 1, tzinfo=CPH))


def test_merging_cancels_the_source_tickets_clocks(policy, customer, team):
    source = factories.ticket(customer=customer, team=team, now=at(5, 9))
    target = factories.ticket(customer=customer, team=team, now=at(5, 9, 5))
    services.ticket_merge(source=source, target=target, now=at(5, 10))
    assert set(SlaClock.objects.filter(ticket=source).values_list("state", flat=True)) == {
        ClockState.CANCELLED
    }
    assert set(SlaClock.objects.filter(ticket=target).values_list("state", flat=True)) == {ClockState.RUNNING}


def test_tickets_no_policy_matches_get_no_clocks(office, customer, team):
    factories.sla_policy(
        calendar=office, channels=["chat"], targets={(Priority.NORMAL, Metric.RESOLUTION): 60}
    )
    ticket = factories.ticket(customer=customer, team=team)
    assert not ticket.sla_clocks.exists()


def test_moving_to_a_policy_on_another_calendar_keeps_the_business_time_measured_so_far(
    office, customer, team
):
    vip_team = factories.TeamFactory(name="Night shift")
    always = factories.sla_calendar(
        name="Always", weekly_hours={day: [(time(0), time(0))] for day in range(7)}
    )
    factories.sla_policy(
        name="Night",
        calendar=always,
        teams=[vip_team],
        targets={(Priority.NORMAL, Metric.RESOLUTION): 8 * HOUR},
    )
    factories.sla_policy(
        name="Office", position=1, calendar=office, targets={(Priority.NORMAL, Metric.RESOLUTION): 8 * HOUR}
    )
    ticket = factories.ticket(customer=customer, team=team, now=at(5, 13))
    assert clock(ticket, Metric.RESOLUTION).due_at == at(6, 13)
    services.ticket_assign(ticket=ticket, team=vip_team, now=at(5, 16))
    resolution = clock(ticket, Metric.RESOLUTION)
    assert (resolution.elapsed_business_seconds, resolution.running_since) == (3 * HOUR, at(5, 16))
    assert resolution.due_at == at(5, 21)  # 5 h left, counted round the clock from 16:00


def test_a_calendar_without_business_hours_never_falls_due_and_does_not_break_ticket_changes(customer, team):
    closed = factories.sla_calendar(name="Closed", weekly_hours={})
    factories.sla_policy(
        calendar=closed, targets={(Priority.NORMAL, Metric.RESOLUTION): HOUR}, warn_percent=50
    )
    ticket = factories.ticket(customer=customer, team=team, now=at(5, 9))
    resolution = clock(ticket, Metric.RESOLUTION)
    assert (resolution.state, resolution.due_at, resolution.warn_at) == (ClockState.RUNNING, None, None)
    services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=at(9, 9))
    resolution.refresh_from_db()
    assert (resolution.state, resolution.final_business_seconds) == (ClockState.ACHIEVED, 0)


def live(ticket, agent):
    agent_says(ticket, agent, at(12, 10), new_status=Status.PENDING)
    customer_says(ticket, at(12, 14))
    agent_says(ticket, agent, at(13, 9, 30))
    customer_says(ticket, at(13, 12))
    agent_says(ticket, agent, at(14, 16), new_status=Status.SOLVED)


def outcomes(ticket):
    return [
        (c.metric, c.sequence, c.state, c.started_at, c.due_at, c.stopped_at, c.final_business_seconds)
        for c in SlaClock.objects.filter(ticket=ticket).order_by("metric", "sequence")
    ]


def test_replaying_a_tickets_history_gives_the_clocks_live_processing_gave(
    policy, customer, team, agent_user
):
    measured_live = factories.ticket(customer=customer, team=team, now=at(8, 15))
    live(measured_live, agent_user)
    policy.is_active = False
    policy.save()
    replayed = factories.ticket(customer=customer, team=team, now=at(8, 15))
    live(replayed, agent_user)
    assert not replayed.sla_clocks.exists()
    policy.is_active = True
    policy.save()
    assert sla_services.sla_ticket_replay(ticket=replayed) == len(outcomes(measured_live)) == 6
    assert outcomes(replayed) == outcomes(measured_live)
    assert sla_services.sla_ticket_replay(ticket=replayed) == 6  # a second replay changes nothing
    assert outcomes(replayed) == outcomes(measured_live)


@pytest.mark.django_db
def test_an_assignee_change_does_not_recompute_the_clocks_but_a_team_change_does(team, monkeypatch):
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={("normal", "first_response"): (3600, False)},
    )
    agent = factories.AgentFactory(teams=[team]).user
    ticket = factories.ticket(team=team)
    calls = []
    monkeypatch.setattr(hooks, "_receivers", {**hooks._receivers, hooks.TICKET_CHANGED: []})
    hooks.connect(hooks.TICKET_CHANGED, lambda **kwargs: calls.append(kwargs))
    services.ticket_assign(ticket=ticket, assignee=agent)
    assert calls == []  # policies never match on the assignee
    services.ticket_assign(ticket=ticket, team=factories.TeamFactory())
    assert len(calls) == 1
