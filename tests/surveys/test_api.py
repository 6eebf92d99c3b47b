"""The survey API: invitations, answers and team settings, limited to what the reader may see."""

from datetime import UTC, datetime, timedelta

import pytest

from surveys.models import SurveyInvitation, SurveySettings
from surveys.services import survey_response_record
from tests import factories
from tickets import services
from tickets.models import Status

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def other_team():
    return factories.TeamFactory(name="Other team")


@pytest.fixture
def lead(team):
    user = factories.UserFactory(username="lead")
    team.lead = user
    team.save()
    return user


def surveyed(team, *, sent_at=T0, **scores):
    """A solved ticket of `team` whose survey was sent at `sent_at` and answered an hour later."""
    SurveySettings.objects.get_or_create(
        team=team, channel="", defaults={"kinds": ["csat", "nps"], "delay_minutes": 0, "throttle_days": 0}
    )
    ticket = factories.ticket(team=team, now=sent_at - timedelta(hours=2))
    services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=sent_at)
    invitation = factories.sent_survey(ticket=ticket, now=sent_at)
    if scores:
        survey_response_record(invitation=invitation, answers=scores, now=sent_at + timedelta(hours=1))
    return invitation


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_agent_lists_invitations_of_their_teams_tickets_only(as_user, agent_user, team, other_team):
    mine = surveyed(team, csat=5, nps=9)
    theirs = surveyed(other_team, csat=1)
    client = as_user(agent_user)
    body = client.get("/api/v1/survey-invitations/").json()
    assert [row["id"] for row in body["results"]] == [mine.pk]
    row = body["results"][0]
    assert (row["ticket"], row["state"], row["kinds"], row["skip_reason"]) == (
        mine.ticket_id,
        "sent",
        ["csat", "nps"],
        "",
    )
    assert [(r["kind"], r["score"]) for r in row["responses"]] == [("csat", 5), ("nps", 9)]
    assert "secret" not in row
    assert client.get(f"/api/v1/survey-invitations/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/survey-invitations/{mine.pk}/").json()["id"] == mine.pk


def test_invitations_filter_by_state_kind_ticket_team_and_answered(as_user, admin_user, team, other_team):
    answered = surveyed(team, csat=4)
    unanswered = surveyed(team, sent_at=T0 + timedelta(days=1))
    skipped_ticket = factories.ticket(team=other_team, customer=factories.CustomerFactory(email=""))
    services.ticket_change_status(ticket=skipped_ticket, status=Status.SOLVED, now=T0)
    skipped = SurveyInvitation.objects.get(ticket=skipped_ticket)
    client = as_user(admin_user)
    assert ids(client.get("/api/v1/survey-invitations/?state=skipped")) == [skipped.pk]
    assert client.get(f"/api/v1/survey-invitations/{skipped.pk}/").json()["skip_reason"] == "no_email"
    assert ids(client.get("/api/v1/survey-invitations/?responded=true")) == [answered.pk]
    assert ids(client.get("/api/v1/survey-invitations/?responded=false&sent=true")) == [unanswered.pk]
    assert ids(client.get(f"/api/v1/survey-invitations/?ticket={answered.ticket_id}")) == [answered.pk]
    assert set(ids(client.get(f"/api/v1/survey-invitations/?team={team.pk}"))) == {answered.pk, unanswered.pk}
    assert set(ids(client.get("/api/v1/survey-invitations/?kind=nps"))) == {answered.pk, unanswered.pk}
    assert ids(client.get("/api/v1/survey-invitations/?kind=ces")) == []


@pytest.mark.parametrize(
    "query",
    ["state=exploded", "kind=stars", "ticket=abc", "ticket=0", "team=99999999999999999999", "sent=maybe"],
)
def test_malformed_invitation_filters_answer_400(as_user, admin_user, query):
    response = as_user(admin_user).get(f"/api/v1/survey-invitations/?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_responses_list_scores_and_filters(as_user, agent_user, team, other_team):
    happy = surveyed(team, csat=5, nps=10)
    poor = surveyed(team, sent_at=T0 + timedelta(days=1), csat=2)
    surveyed(other_team, csat=1)
    client = as_user(agent_user)
    rows = client.get("/api/v1/survey-responses/").json()["results"]
    assert {(r["ticket"], r["kind"], r["score"], r["is_poor"]) for r in rows} == {
        (happy.ticket_id, "csat", 5, False),
        (happy.ticket_id, "nps", 10, False),
        (poor.ticket_id, "csat", 2, True),
    }
    assert rows[0]["team"] == team.pk
    assert len(ids(client.get("/api/v1/survey-responses/?kind=csat"))) == 2
    assert len(ids(client.get("/api/v1/survey-responses/?poor=true"))) == 1
    assert len(ids(client.get("/api/v1/survey-responses/?kind=csat&score_min=3&score_max=5"))) == 1
    assert len(ids(client.get("/api/v1/survey-responses/?score_min=9"))) == 1  # NPS 10
    assert len(ids(client.get("/api/v1/survey-responses/?score_min=5"))) == 2  # CSAT 5, NPS 10
    assert ids(client.get(f"/api/v1/survey-responses/?team={other_team.pk}")) == []
    assert len(ids(client.get("/api/v1/survey-responses/?needs_review=false"))) == 3


def test_invisible_response_answers_404(as_user, agent_user, other_team):
    theirs = surveyed(other_team, csat=1).responses.get()
    assert as_user(agent_user).get(f"/api/v1/survey-responses/{theirs.pk}/").status_code == 404


@pytest.mark.parametrize("query", ["score_min=11", "score_max=-1", "score_min=5&score_max=2", "poor=perhaps"])
def test_malformed_response_filters_answer_400(as_user, admin_user, query):
    response = as_user(admin_user).get(f"/api/v1/survey-responses/?{query}")
    assert response.status_code == 400
    assert response.json()["errors"]


def test_survey_lists_run_a_constant_number_of_queries(
    as_user, admin_user, team, django_assert_max_num_queries
):
    client = as_user(admin_user)

    def count(path):
        with django_assert_max_num_queries(10) as captured:
            assert client.get(path).status_code == 200
        return len(captured.captured_queries)

    surveyed(team, csat=5, nps=9)
    few = (count("/api/v1/survey-invitations/"), count("/api/v1/survey-responses/"))
    for day in range(1, 8):
        surveyed(team, sent_at=T0 + timedelta(days=day), csat=1 + day % 5, nps=day)
    assert (count("/api/v1/survey-invitations/"), count("/api/v1/survey-responses/")) == few


def test_survey_lists_are_paginated_with_cursors(as_user, admin_user, team):
    for day in range(3):
        surveyed(team, sent_at=T0 + timedelta(days=day), csat=4)
    client = as_user(admin_user)
    first = client.get("/api/v1/survey-responses/?page_size=2").json()
    second = client.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 1
    assert second["next"] is None


def test_ticket_filter_by_survey_score_and_kind(as_user, admin_user, team):
    happy = surveyed(team, csat=5, nps=3).ticket_id
    unhappy = surveyed(team, sent_at=T0 + timedelta(days=1), csat=1, nps=10).ticket_id
    factories.ticket(team=team)  # never surveyed
    client = as_user(admin_user)
    assert ids(client.get("/api/v1/tickets/?survey_kind=csat&survey_score_max=2")) == [unhappy]
    assert ids(client.get("/api/v1/tickets/?survey_kind=csat&survey_score_min=4")) == [happy]
    # Without a kind any answer counts; min and max must hold for the same answer.
    assert set(ids(client.get("/api/v1/tickets/?survey_score_min=5"))) == {happy, unhappy}
    assert ids(client.get("/api/v1/tickets/?survey_score_min=2&survey_score_max=4")) == [happy]
    assert set(ids(client.get("/api/v1/tickets/?survey_kind=nps"))) == {happy, unhappy}
    for query in ("survey_score_min=99", "survey_kind=stars", "survey_score_min=4&survey_score_max=1"):
        assert client.get(f"/api/v1/tickets/?{query}").status_code == 400


def test_team_survey_settings_are_readable_by_its_agents_and_show_defaults(
    as_user, agent_user, team, other_team
):
    client = as_user(agent_user)
    body = client.get(f"/api/v1/teams/{team.pk}/survey-settings/").json()
    assert (body["customised"], body["kinds"]) == (False, ["csat"])
    assert client.get(f"/api/v1/teams/{other_team.pk}/survey-settings/").status_code == 404
    assert (
        client.patch(
            f"/api/v1/teams/{team.pk}/survey-settings/", {"enabled": False}, format="json"
        ).status_code
        == 403
    )
    assert not SurveySettings.objects.exists()


def test_lead_changes_team_survey_settings_through_the_service(as_user, lead, team):
    client = as_user(lead)
    response = client.patch(
        f"/api/v1/teams/{team.pk}/survey-settings/",
        {"kinds": ["nps", "csat"], "delay_minutes": 15, "poor_answer_action": "reopen"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (response.json()["customised"], response.json()["kinds"]) == (True, ["nps", "csat"])
    row = SurveySettings.objects.get(team=team, channel="")
    assert (row.kinds, row.delay_minutes, row.poor_answer_action, row.throttle_days) == (
        ["nps", "csat"],
        15,
        "reopen",
        30,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"kinds": ["stars"]},
        {"kinds": []},
        {"kinds": "csat"},
        {"kinds": ["csat", "csat"]},
        {"token_lifetime_days": 0},
        {"delay_minutes": -5},
        {"poor_answer_action": "explode"},
    ],
)
def test_bad_survey_settings_are_refused_and_nothing_changes(as_user, lead, team, body):
    response = as_user(lead).patch(f"/api/v1/teams/{team.pk}/survey-settings/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]
    assert not SurveySettings.objects.exists()


def test_phone_calls_are_listed_by_ticket_visibility(
    as_user, agent_user, team, other_team, django_assert_max_num_queries
):
    mine = factories.ticket(team=team, channel="phone")
    theirs = factories.ticket(team=other_team, channel="phone")
    answered = factories.phone_call(ticket=mine, started_at=T0, queue_wait_seconds=20, talk_seconds=300)
    abandoned = factories.phone_call(ticket=mine, started_at=T0 + timedelta(hours=1), outcome="abandoned")
    hidden = factories.phone_call(ticket=theirs, started_at=T0)
    client = as_user(agent_user)
    with django_assert_max_num_queries(6):
        rows = client.get("/api/v1/phone-calls/").json()["results"]
    assert [r["id"] for r in rows] == [abandoned.pk, answered.pk]
    assert (rows[1]["queue_wait_seconds"], rows[1]["talk_seconds"], rows[1]["ticket"]) == (20, 300, mine.pk)
    assert ids(client.get("/api/v1/phone-calls/?outcome=abandoned")) == [abandoned.pk]
    assert ids(client.get(f"/api/v1/phone-calls/?ticket={mine.pk}&direction=inbound")) == [
        abandoned.pk,
        answered.pk,
    ]
    assert client.get(f"/api/v1/phone-calls/{hidden.pk}/").status_code == 404
    assert client.get("/api/v1/phone-calls/?outcome=lost").status_code == 400
    assert client.post("/api/v1/phone-calls/", {}).status_code == 405


@pytest.mark.parametrize("team_id", ["abc", "-3", "99999999999999999999999"])
def test_malformed_team_ids_answer_a_json_404(as_user, admin_user, team_id):
    response = as_user(admin_user).get(f"/api/v1/teams/{team_id}/survey-settings/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
