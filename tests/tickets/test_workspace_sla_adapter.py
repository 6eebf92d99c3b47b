"""The SLA adapter: badges and SLA queue views fed by real clocks, and the pure summary logic."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from sla import services as sla_services
from sla.models import Metric
from sla.selectors import SlaStatus
from surveys import services as survey_services
from tests import factories
from tickets import services
from tickets.adapters import sla as sla_adapter
from tickets.adapters import surveys as survey_adapter
from tickets.adapters.sla import summarize
from tickets.models import Priority, Status
from tickets.workspace import selectors as ws

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MINUTE = 60


def clock(metric="first_response", state="running", due_in=3600, warn_in=1800, breached_at=None):
    return SlaStatus(
        clock_id=1,
        metric=metric,
        sequence=1,
        state=state,
        target_seconds=3600,
        business_hours=False,
        due_at=None if due_in is None else NOW + timedelta(seconds=due_in),
        warn_at=None if warn_in is None else NOW + timedelta(seconds=warn_in),
        remaining_seconds=due_in or 0,
        breached_at=breached_at,
        paused=state == "paused",
        stopped_at=NOW if state in ("achieved", "cancelled") else None,
    )


@pytest.fixture
def policy(db):
    """First response within 60 minutes (warning at 80 %), resolution within 8 hours, around the clock."""
    return factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={
            (Priority.NORMAL, Metric.FIRST_RESPONSE): (60 * MINUTE, False),
            (Priority.NORMAL, Metric.RESOLUTION): (8 * 60 * MINUTE, False),
        },
        warn_percent=80,
    )


def summary_at(ticket, minutes):
    return sla_adapter.ticket_sla_summaries([ticket], NOW + timedelta(minutes=minutes))[ticket.pk]


@pytest.mark.django_db
def test_a_ticket_without_a_policy_has_no_clocks_and_no_badge(team):
    ticket = factories.ticket(team=team, now=NOW)
    summary = summary_at(ticket, 5)
    assert (summary.level, summary.clocks) == ("", ())


def test_a_running_clock_is_green_until_its_warning_instant(policy, team):
    ticket = factories.ticket(team=team, now=NOW)
    summary = summary_at(ticket, 47)
    assert (summary.level, summary.metric, summary.seconds_left) == ("ok", Metric.FIRST_RESPONSE, 13 * MINUTE)
    assert {c.metric for c in summary.clocks} == {Metric.FIRST_RESPONSE, Metric.RESOLUTION}


def test_a_running_clock_past_its_warning_instant_is_amber(policy, team):
    ticket = factories.ticket(team=team, now=NOW)
    assert summary_at(ticket, 48).level == "warning"
    assert summary_at(ticket, 60).level == "warning"  # due, not yet exceeded


def test_a_breached_clock_is_red_before_and_after_the_sweep_records_it(policy, team):
    ticket = factories.ticket(team=team, now=NOW)
    before_sweep = summary_at(ticket, 61)
    assert (before_sweep.level, before_sweep.seconds_left) == ("breached", -MINUTE)
    sla_services.sla_sweep(now=NOW + timedelta(minutes=61))
    after_sweep = summary_at(ticket, 90)
    assert (after_sweep.level, after_sweep.metric, after_sweep.seconds_left) == (
        "breached",
        Metric.FIRST_RESPONSE,
        -30 * MINUTE,
    )


def test_a_pending_ticket_shows_its_paused_resolution_clock(policy, team, agent_user):
    ticket = factories.ticket(team=team, now=NOW)
    services.message_add(
        ticket=ticket,
        author_role="agent",
        author_user=agent_user,
        body_text="Which printer?",
        new_status=Status.PENDING,
        now=NOW + timedelta(minutes=5),
    )
    summary = summary_at(ticket, 30)
    assert summary.level == "paused"
    levels = {c.metric: sla_adapter._level(c, NOW + timedelta(minutes=30)) for c in summary.clocks}
    assert levels == {Metric.FIRST_RESPONSE: "done", Metric.RESOLUTION: "paused"}


def test_the_sla_queue_views_list_the_right_tickets(policy, team, agent_user):
    now = timezone.now()
    factories.ticket(team=team, subject="On track", now=now - timedelta(minutes=10))
    factories.ticket(team=team, subject="Soon", now=now - timedelta(minutes=50))
    factories.ticket(team=team, subject="Overdue", now=now - timedelta(minutes=70))
    factories.ticket(team=team, subject="Swept", now=now - timedelta(minutes=120))
    sla_services.sla_sweep(now=now - timedelta(minutes=30))
    answered_late = factories.ticket(team=team, subject="Answered late", now=now - timedelta(minutes=200))
    sla_services.sla_sweep(now=now - timedelta(minutes=100))
    services.message_add(ticket=answered_late, author_role="agent", author_user=agent_user, body_text="Hi")

    def listed(view):
        return set(ws.queue_tickets(user=agent_user, view=view, now=now).values_list("subject", flat=True))

    assert listed("open") == {"On track", "Soon", "Overdue", "Swept", "Answered late"}
    assert listed("breaching") == {"Soon"}
    # Answered late still breaches its resolution clock after 8 hours only; its first response is done.
    assert listed("breached") == {"Overdue", "Swept"}
    counts = ws.queue_counts(user=agent_user, now=now)
    assert (counts["breaching"], counts["breached"]) == (1, 2)


def test_sla_badges_cost_one_query_whatever_the_number_of_tickets(
    policy, team, agent_user, django_assert_num_queries
):
    tickets = [factories.ticket(team=team, now=NOW + timedelta(minutes=n)) for n in range(12)]
    with django_assert_num_queries(1):
        summaries = sla_adapter.ticket_sla_summaries(tickets, NOW + timedelta(minutes=55))
    assert [summaries[tickets[n].pk].level for n in (0, 7, 8)] == ["warning", "warning", "ok"]


@pytest.mark.django_db
def test_a_ticket_without_survey_answers_has_no_results(ticket):
    assert survey_adapter.ticket_survey_results(ticket) == []


@pytest.mark.django_db
def test_survey_answers_show_with_their_scale_latest_first():
    invitation = factories.sent_survey()
    survey_services.survey_response_record(invitation=invitation, answers={"csat": 2}, comment="slow")
    [result] = survey_adapter.ticket_survey_results(invitation.ticket)
    assert (result.kind, result.score, result.scale_min, result.scale_max, result.comment) == (
        "csat",
        2,
        1,
        5,
        "slow",
    )


def test_a_running_clock_before_its_warning_is_green():
    summary = summarize([clock()], NOW)
    assert (summary.level, summary.seconds_left, summary.metric) == ("ok", 3600, "first_response")


def test_a_running_clock_at_its_warning_instant_is_amber():
    assert summarize([clock(warn_in=0)], NOW).level == "warning"


def test_a_running_clock_is_breached_only_after_its_due_instant_and_overdue_counts_negative():
    assert summarize([clock(due_in=0, warn_in=-60)], NOW).level == "warning"
    assert summarize([clock(due_in=-1)], NOW).level == "breached"
    assert summarize([clock(due_in=-90)], NOW).seconds_left == -90


def test_the_most_urgent_clock_is_the_headline():
    clocks = [
        clock("resolution", due_in=600, warn_in=-1),
        clock("first_response", state="breached", due_in=-5),
    ]
    summary = summarize(clocks, NOW)
    assert (summary.level, summary.metric) == ("breached", "first_response")
    soonest = summarize([clock("resolution", due_in=7200), clock("next_response", due_in=900)], NOW)
    assert soonest.metric == "next_response"


def test_paused_achieved_and_cancelled_clocks():
    assert summarize([clock(state="paused", due_in=None)], NOW).level == "paused"
    assert summarize([clock(state="achieved")], NOW).level == "done"
    cancelled = summarize([clock(state="cancelled")], NOW)
    assert cancelled.level == "" and cancelled.clocks == ()


def test_unknown_sla_view_is_an_error():
    with pytest.raises(ValueError, match="Unknown SLA view"):
        sla_adapter.sla_state_q("soonish", NOW)
