"""Score aggregates in the database, checked against hand-computed figures."""

from datetime import UTC, date, datetime, timedelta

import pytest

from surveys import scoring, selectors
from surveys.selectors import HEADLINE, SurveyFilters
from surveys.services import survey_reply_receive, survey_response_record
from tests import factories
from tickets import services as ticket_services
from tickets.models import Channel, Priority, Status

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def team_a():
    team = factories.TeamFactory(name="Alpha")
    factories.SurveySettingsFactory(team=team, kinds=["csat", "nps", "ces"], delay_minutes=0, throttle_days=0)
    return team


@pytest.fixture
def team_b():
    team = factories.TeamFactory(name="Beta")
    factories.SurveySettingsFactory(team=team, kinds=["csat"], delay_minutes=0, throttle_days=0)
    return team


def survey(team, *, agent=None, channel=Channel.EMAIL, priority=Priority.NORMAL, sent_at=T0):
    ticket = factories.ticket(team=team, channel=channel, priority=priority, now=sent_at - timedelta(hours=3))
    if agent is not None:
        ticket = ticket_services.ticket_assign(
            ticket=ticket, assignee=agent, now=sent_at - timedelta(hours=2)
        )
    ticket_services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=sent_at)
    return factories.sent_survey(ticket=ticket, now=sent_at)


def answer(invitation, answered_at=None, **scores):
    survey_response_record(
        invitation=invitation, answers=scores, now=answered_at or invitation.sent_at + timedelta(hours=1)
    )


@pytest.fixture
def data(team_a, team_b):
    """CSAT: Alpha/ann/email 5, 4, 2; Alpha/bob/chat 3; Beta/cat/email 1, 5; one unanswered per team."""
    ann = factories.AgentFactory(teams=[team_a]).user
    bob = factories.AgentFactory(teams=[team_a]).user
    cat = factories.AgentFactory(teams=[team_b]).user
    answer(survey(team_a, agent=ann), csat=5, nps=10, ces=7)
    answer(survey(team_a, agent=ann, priority=Priority.HIGH), csat=4, nps=8, ces=5)
    answer(survey(team_a, agent=ann, sent_at=T0 + timedelta(days=8)), csat=2, nps=3, ces=2)
    answer(survey(team_a, agent=bob, channel=Channel.CHAT, sent_at=T0 + timedelta(days=1)), csat=3, nps=6)
    answer(survey(team_b, agent=cat, sent_at=T0 + timedelta(days=35)), csat=1)
    answer(survey(team_b, agent=cat, priority=Priority.HIGH), csat=5)
    survey(team_a, agent=ann)
    survey(team_b, agent=cat)
    return {"ann": ann, "bob": bob, "cat": cat}


def counts(kind, group_by=None, **filters):
    return selectors.survey_score_counts(
        kind=kind, group_by=group_by, filters=SurveyFilters(**filters) if filters else None
    )


def headline(kind, group_by=None, **filters):
    """{group: headline score}, the figures the metrics report (`HEADLINE` over the database counts)."""
    return {group: HEADLINE[kind](c) for group, c in counts(kind, group_by, **filters).items()}


def test_csat_overall_counts_and_percent(data):
    assert counts("csat") == {None: {1: 1, 2: 1, 3: 1, 4: 1, 5: 2}}
    assert headline("csat") == {None: pytest.approx(3 / 6 * 100)}  # 4, 5, 5 of six


def test_csat_by_team(data, team_a, team_b):
    assert counts("csat", "team") == {team_a.pk: {2: 1, 3: 1, 4: 1, 5: 1}, team_b.pk: {1: 1, 5: 1}}
    assert headline("csat", "team") == {team_a.pk: pytest.approx(50.0), team_b.pk: pytest.approx(50.0)}


def test_csat_by_agent_is_the_assignee_at_solve_time(data, team_a):
    # Reassigning after the solve does not move the answer.
    assert headline("csat", "agent") == {
        data["ann"].pk: pytest.approx(2 / 3 * 100),
        data["bob"].pk: pytest.approx(0.0),
        data["cat"].pk: pytest.approx(50.0),
    }


def test_scores_by_channel_and_priority(data):
    assert counts("csat", "channel") == {"chat": {3: 1}, "email": {1: 1, 2: 1, 4: 1, 5: 2}}
    assert counts("csat", "priority") == {"high": {4: 1, 5: 1}, "normal": {1: 1, 2: 1, 3: 1, 5: 1}}


def test_nps_and_ces_formulas_on_database_counts(data):
    # 10 promoter; 8 passive; 3 and 6 detractors: (1 - 2) / 4 = -25
    assert counts("nps") == {None: {3: 1, 6: 1, 8: 1, 10: 1}}
    assert headline("nps") == {None: pytest.approx(-25.0)}
    assert headline("ces") == {None: pytest.approx((7 + 5 + 2) / 3)}
    assert scoring.ces_percent_easy(counts("ces")[None]) == pytest.approx(2 / 3 * 100)


def test_scores_by_day_week_and_month(data):
    by_day = {group: sum(c.values()) for group, c in counts("csat", "day").items()}
    assert by_day == {date(2026, 3, 2): 3, date(2026, 3, 3): 1, date(2026, 3, 10): 1, date(2026, 4, 6): 1}
    by_week = {group: sum(c.values()) for group, c in counts("csat", "week").items()}
    assert by_week == {date(2026, 3, 2): 4, date(2026, 3, 9): 1, date(2026, 4, 6): 1}
    assert headline("csat", "month") == {
        date(2026, 3, 1): pytest.approx(3 / 5 * 100),
        date(2026, 4, 1): pytest.approx(0.0),
    }


def test_periods_follow_the_requested_time_zone(team_b):
    invitation = survey(team_b, sent_at=T0)
    answer(invitation, answered_at=datetime(2026, 3, 2, 23, 30, tzinfo=UTC), csat=5)

    assert list(counts("csat", "day", tz="UTC")) == [date(2026, 3, 2)]
    assert list(counts("csat", "day", tz="Europe/Copenhagen")) == [date(2026, 3, 3)]


def test_filters_narrow_every_aggregate(data, team_a):
    filters = SurveyFilters(team_id=team_a.pk, start=T0, end=T0 + timedelta(days=7))
    assert selectors.survey_score_counts(kind="csat", filters=filters) == {None: {3: 1, 4: 1, 5: 1}}
    [rate] = selectors.survey_response_rate(filters=filters)
    assert (rate.sent, rate.responded) == (4, 3)
    assert rate.rate == pytest.approx(75.0)
    assert counts("csat", channel="phone") == {}


def test_a_ticket_scope_limits_aggregates_to_those_tickets(data, team_b):
    from tickets.models import Ticket

    filters = SurveyFilters(tickets=Ticket.objects.filter(team=team_b))
    assert selectors.survey_score_counts(kind="csat", filters=filters) == {None: {1: 1, 5: 1}}
    [rate] = selectors.survey_response_rate(filters=filters)
    assert (rate.sent, rate.responded) == (3, 2)
    assert selectors.survey_score_counts(kind="nps", filters=filters) == {}


def test_response_rate_overall_and_by_team(data, team_a, team_b):
    [overall] = selectors.survey_response_rate()
    assert (overall.sent, overall.responded) == (8, 6)
    assert overall.rate == pytest.approx(75.0)
    rows = {r.group: (r.sent, r.responded) for r in selectors.survey_response_rate(group_by="team")}
    assert rows == {team_a.pk: (5, 4), team_b.pk: (3, 2)}


def test_an_unscored_email_reply_counts_as_responded_but_not_as_a_score(team_b):
    invitation = survey(team_b)
    survey_reply_receive(
        invitation_token_or_invitation=invitation, text="thanks!", now=T0 + timedelta(hours=1)
    )

    assert counts("csat") == {}
    [rate] = selectors.survey_response_rate()
    assert (rate.sent, rate.responded, rate.rate) == (1, 1, 100.0)


def test_no_data_gives_no_rows(db):
    assert counts("nps", "team") == {}
    assert selectors.survey_response_rate(group_by="month") == []


def test_aggregates_run_a_bounded_number_of_queries(data, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        counts("csat", "agent")
    with django_assert_max_num_queries(1):
        selectors.survey_response_rate(group_by="week")


@pytest.mark.parametrize(("kind", "group_by"), [("stars", None), ("csat", "customer"), ("csat", "hour")])
def test_unknown_kinds_and_groupings_are_refused_clearly(db, kind, group_by):
    with pytest.raises(ValueError, match="Unknown"):
        counts(kind, group_by)
