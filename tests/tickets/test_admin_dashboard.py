from datetime import timedelta

import pytest
from django.utils import timezone

from sla import services as sla_services
from tests import factories
from tickets import services
from tickets.models import Message, Ticket
from tickets.reporting.metrics import ticket_volume_by_channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def activity(team):
    agent = factories.AgentFactory(
        teams=[team], user=factories.UserFactory(username="alice", first_name="Alice")
    )
    now = timezone.now() - timedelta(days=2)
    for channel in ("email", "email", "chat"):
        ticket = factories.ticket(team=team, channel=channel, assignee=agent.user, now=now)
        services.message_add(
            ticket=ticket,
            author_role=Message.AuthorRole.AGENT,
            author_user=agent.user,
            body_text="hi",
            new_status="solved",
            now=now + timedelta(hours=1),
        )
    return agent


def test_admin_index_links_to_the_dashboard(admin_client):
    response = admin_client.get("/admin/")
    assert b'href="/admin/metrics/"' in response.content


def test_dashboard_draws_volume_trend_charts_and_the_leaderboard(admin_client, activity):
    response = admin_client.get("/admin/metrics/")
    assert response.status_code == 200
    html = response.content.decode()
    # volume by channel, created/solved/backlog, first response, resolution, status times (no SLA outcome)
    assert html.count('role="img"') == 5
    assert "Tickets created per day, by channel" in html
    assert "Email" in html and "Chat" in html
    alice = next(row for row in response.context["leaderboard"] if row["label"] == "Alice")
    # Alice solved 3; the count links to those tickets in the desk queue.
    assert f'<td>Alice</td><td><a href="{alice["links"]["solved"]}">3</a></td>'.replace("&", "&amp;") in html
    assert "view=all" in alice["links"]["solved"] and f"assignee={alice['key']}" in alice["links"]["solved"]


def test_dashboard_shows_sla_compliance_and_the_tickets_breaching_now(admin_client, team, agent_user):
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={("normal", "first_response"): (3600, False)},
    )
    now = timezone.now()
    answered = factories.ticket(team=team, subject="Answered in time", now=now - timedelta(hours=3))
    services.message_add(
        ticket=answered,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="On it",
        now=now - timedelta(hours=2, minutes=30),
    )
    factories.ticket(team=team, subject="Nobody answered", now=now - timedelta(hours=3))
    sla_services.sla_sweep(now=now)
    response = admin_client.get("/admin/metrics/")
    html = response.content.decode()
    assert "SLA compliance (%)" in html
    assert "SLA compliance over the range: 50%" in html
    assert "breaches: first response 1," in html
    assert response.context["sla_live"].count == 1
    assert "Breaching now: 1 unsolved ticket<" in html
    assert "Nobody answered" in html.split('id="sla-live-breaches"')[1]
    assert "Answered in time" not in html.split('id="sla-live-breaches"')[1]


def test_dashboard_refuses_bad_dates_with_a_message(admin_client):
    response = admin_client.get("/admin/metrics/?start=2026-05-01&end=2026-04-01")
    assert response.status_code == 400
    assert "must not be before" in response.content.decode()
    assert 'role="img"' not in response.content.decode()


def test_dashboard_is_for_team_leads_and_admins(client, team, activity):
    staff_agent = factories.UserFactory(is_staff=True)
    client.force_login(staff_agent)
    assert client.get("/admin/metrics/").status_code == 403
    team.lead = staff_agent
    team.save()
    assert client.get("/admin/metrics/").status_code == 200


def test_lead_cannot_pick_a_team_they_do_not_lead(client, team):
    other = factories.TeamFactory()
    lead = factories.UserFactory(is_staff=True)
    team.lead = lead
    team.save()
    client.force_login(lead)
    response = client.get(f"/admin/metrics/?team={other.pk}")
    assert "Select a valid choice" in response.content.decode()


def test_volume_by_channel_counts_per_day_and_channel(activity):
    today = timezone.localdate()
    volume = ticket_volume_by_channel(
        tickets=Ticket.objects.all(), start=today - timedelta(days=3), end=today
    )
    assert len(volume["periods"]) == 4
    assert volume["channels"] == {"email": [0, 2, 0, 0], "chat": [0, 1, 0, 0]}


@pytest.fixture
def surveyed_and_called(team):
    from surveys.models import SurveySettings
    from surveys.services import survey_response_record

    SurveySettings.objects.create(team=team, kinds=["csat", "nps", "ces"], delay_minutes=0, throttle_days=0)
    solved_at = timezone.now() - timedelta(days=2)
    answers = [{"csat": 5, "nps": 10, "ces": 7}, {"csat": 2, "nps": 3, "ces": 2}]
    for scores in answers:
        ticket = factories.ticket(team=team, now=solved_at - timedelta(hours=1))
        services.ticket_change_status(ticket=ticket, status="solved", now=solved_at)
        invitation = factories.sent_survey(ticket=ticket, now=solved_at)
        survey_response_record(invitation=invitation, answers=scores, now=solved_at + timedelta(hours=1))
    phone_ticket = factories.ticket(team=team, channel="phone", now=solved_at)
    factories.phone_call(ticket=phone_ticket, started_at=solved_at, queue_wait_seconds=40)
    factories.phone_call(
        ticket=phone_ticket, started_at=solved_at, outcome="abandoned", queue_wait_seconds=70
    )


def test_dashboard_draws_survey_trends_and_the_phone_table(admin_client, surveyed_and_called):
    html = admin_client.get("/admin/metrics/").content.decode()
    # volume, backlog, first response, resolution, status times, three survey charts, phone service level
    assert html.count('role="img"') == 9
    assert "Phone service level against its target (%)" in html
    for title in ("CSAT, CES easy and survey response rate (%)", "Net Promoter Score", "Customer effort"):
        assert title in html
    # CSAT 5 and 2: 50 % satisfied; NPS 10 and 3: 50 - 50 = 0; CES 7 and 2: mean 4.5, 50 % easy.
    assert "2 sent, 2 answered (100.0%)" in html
    assert "CSAT 50.0% satisfied (2 answers)" in html
    assert "NPS 0.0 (2)" in html and "CES 4.5 mean, 50.0% easy (2)" in html
    # Phone: two inbound calls, one abandoned; answered after 40 s.
    assert "<th>Total</th><th>2</th><th>1</th>" in html
    assert "<th>50%</th><th>40.0</th>" in html  # whole percents
    assert "No surveys sent" not in html and "No inbound phone calls" not in html


def test_dashboard_says_when_there_are_no_surveys_or_calls(admin_client, activity):
    html = admin_client.get("/admin/metrics/").content.decode()
    assert "No surveys sent or answered in this range." in html
    assert "No inbound phone calls in this range." in html
    assert "Net Promoter Score" not in html
