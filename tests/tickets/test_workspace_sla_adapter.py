"""The SLA adapter: 'no SLA data' while the sla app has no clock model, and the pure summary logic."""

from datetime import UTC, datetime, timedelta

import pytest

from surveys import services as survey_services
from tests import factories
from tickets.models import Ticket
from tickets.workspace import sla_adapter, survey_adapter
from tickets.workspace.sla_adapter import SlaClock, summarize

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def clock(metric="first_response", state="running", due_in=3600, warn_in=1800, breached_at=None):
    return SlaClock(
        metric=metric,
        state=state,
        due_at=None if due_in is None else NOW + timedelta(seconds=due_in),
        warn_at=None if warn_in is None else NOW + timedelta(seconds=warn_in),
        breached_at=breached_at,
    )


@pytest.mark.django_db
def test_without_an_sla_model_everything_says_no_data(team):
    ticket = factories.ticket(team=team)
    assert sla_adapter.sla_available() is False
    assert sla_adapter.ticket_sla_summaries([ticket], NOW) == {ticket.pk: sla_adapter.NO_DATA}
    assert sla_adapter.sla_state_q(sla_adapter.BREACHED_VIEW, NOW) is None
    assert list(sla_adapter.sla_filter(Ticket.objects.all(), sla_adapter.BREACHING_SOON, NOW)) == []


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


def test_a_running_clock_at_its_due_instant_is_breached_and_overdue_counts_negative():
    assert summarize([clock(due_in=0)], NOW).level == "breached"
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
    assert cancelled.available and cancelled.level == "" and cancelled.clocks == ()


def test_unknown_sla_view_is_an_error(monkeypatch):
    monkeypatch.setattr(sla_adapter, "clock_model", lambda: Ticket)
    with pytest.raises(ValueError, match="Unknown SLA view"):
        sla_adapter.sla_state_q("soonish", NOW)
