"""Closing the loop on poor answers: notifications once, then the team's action once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from surveys.models import PoorAnswerAction, SurveyInvitation
from surveys.services import survey_reply_receive, survey_response_record
from tests import factories
from tickets import services as ticket_services
from tickets.models import AuditEntry, Message, Notification, Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(team):
    user = factories.UserFactory(username="lead")
    team.lead = user
    team.save(update_fields=["lead"])
    return user


def surveyed(team, agent_user, action: str) -> SurveyInvitation:
    factories.SurveySettingsFactory(team=team, poor_answer_action=action)
    ticket = factories.ticket(team=team)
    ticket = ticket_services.ticket_assign(ticket=ticket, assignee=agent_user)
    ticket_services.ticket_change_status(
        ticket=ticket, status=Status.SOLVED, now=timezone.now() - timedelta(hours=2)
    )
    return factories.sent_survey(ticket=ticket)


def poor_notifications() -> list[tuple[str, str]]:
    return sorted(
        Notification.objects.filter(kind=Notification.Kind.POOR_SURVEY).values_list(
            "recipient__username", "title"
        )
    )


def test_a_poor_answer_notifies_the_team_lead_and_the_agent(team, agent_user, lead):
    invitation = surveyed(team, agent_user, PoorAnswerAction.NOTHING)
    survey_response_record(invitation=invitation, answers={"csat": 2}, comment="Slow")

    reference = invitation.ticket.reference
    assert poor_notifications() == sorted(
        [
            (agent_user.username, f"Poor CSAT answer (2) on {reference}"),
            ("lead", f"Poor CSAT answer (2) on {reference}"),
        ]
    )
    invitation.refresh_from_db()
    assert invitation.poor_follow_up_action == PoorAnswerAction.NOTHING
    invitation.ticket.refresh_from_db()
    assert invitation.ticket.status == Status.SOLVED


def test_a_good_answer_notifies_nobody(team, agent_user, lead):
    invitation = surveyed(team, agent_user, PoorAnswerAction.REOPEN)
    survey_response_record(invitation=invitation, answers={"csat": 3})

    assert poor_notifications() == []
    invitation.ticket.refresh_from_db()
    assert invitation.ticket.status == Status.SOLVED


def test_changing_a_poor_answer_does_not_notify_again(team, agent_user, lead):
    invitation = surveyed(team, agent_user, PoorAnswerAction.NOTHING)
    survey_response_record(invitation=invitation, answers={"csat": 2})
    survey_response_record(invitation=invitation, answers={"csat": 1}, comment="Even worse")
    survey_reply_receive(invitation_token_or_invitation=invitation, text="1 - nobody called back")

    assert len(poor_notifications()) == 2


def test_reopen_setting_reopens_the_ticket_once_with_a_note(team, agent_user, lead):
    invitation = surveyed(team, agent_user, PoorAnswerAction.REOPEN)
    survey_response_record(invitation=invitation, answers={"csat": 1}, comment="Not fixed at all")
    survey_response_record(invitation=invitation, answers={"csat": 2})

    ticket = Ticket.objects.get(pk=invitation.ticket_id)
    assert ticket.status == Status.OPEN
    assert ticket.reopen_count == 1
    note = Message.objects.get(ticket=ticket, visibility=Message.Visibility.INTERNAL)
    assert "Not fixed at all" in note.body_text
    assert AuditEntry.objects.filter(ticket=ticket, new_value="reopened after a poor answer").count() == 1
    invitation.refresh_from_db()
    assert invitation.poor_follow_up_action == PoorAnswerAction.REOPEN


def test_reopen_setting_on_a_closed_ticket_opens_a_follow_up_instead(team, agent_user, lead):
    invitation = surveyed(team, agent_user, PoorAnswerAction.REOPEN)
    ticket_services.ticket_change_status(ticket=invitation.ticket, status=Status.CLOSED)
    survey_response_record(invitation=invitation, answers={"csat": 1})

    follow_up = Ticket.objects.get(follow_up_of=invitation.ticket)
    invitation.refresh_from_db()
    assert invitation.follow_up_ticket == follow_up
    assert invitation.poor_follow_up_action == PoorAnswerAction.FOLLOW_UP


def test_follow_up_setting_opens_one_linked_ticket(team, agent_user, lead):
    invitation = surveyed(team, agent_user, PoorAnswerAction.FOLLOW_UP)
    survey_reply_receive(invitation_token_or_invitation=invitation, text="1, still broken")
    survey_response_record(invitation=invitation, answers={"csat": 2})

    follow_up = Ticket.objects.get(follow_up_of=invitation.ticket)
    assert follow_up.subject.startswith(f"Poor survey answer on {invitation.ticket.reference}")
    assert (follow_up.customer, follow_up.team, follow_up.status) == (
        invitation.ticket.customer,
        team,
        Status.NEW,
    )
    assert "still broken" in follow_up.messages.get().body_text
    original = Ticket.objects.get(pk=invitation.ticket_id)
    assert original.status == Status.SOLVED
    assert AuditEntry.objects.filter(ticket=original, action=AuditEntry.Action.FOLLOW_UP_CREATED).count() == 1


def test_nothing_setting_only_notifies(team, agent_user, lead):
    invitation = surveyed(team, agent_user, PoorAnswerAction.NOTHING)
    tickets_before = Ticket.objects.count()
    survey_response_record(invitation=invitation, answers={"csat": 1})

    assert Ticket.objects.count() == tickets_before
    assert Ticket.objects.get(pk=invitation.ticket_id).status == Status.SOLVED
    assert len(poor_notifications()) == 2


def test_an_ambiguous_reply_is_not_a_poor_answer(team, agent_user, lead):
    invitation = surveyed(team, agent_user, PoorAnswerAction.REOPEN)
    survey_reply_receive(invitation_token_or_invitation=invitation, text="terrible")

    assert poor_notifications() == []
    assert Ticket.objects.get(pk=invitation.ticket_id).status == Status.SOLVED


def test_the_poor_threshold_follows_each_kind(team, agent_user, lead):
    factories.SurveySettingsFactory(team=team, kinds=["nps", "ces"])
    ticket = ticket_services.ticket_assign(ticket=factories.ticket(team=team), assignee=agent_user)
    ticket_services.ticket_change_status(
        ticket=ticket, status=Status.SOLVED, now=timezone.now() - timedelta(hours=2)
    )
    invitation = factories.sent_survey(ticket=ticket)

    responses = survey_response_record(invitation=invitation, answers={"nps": 7, "ces": 3})
    assert {r.kind: r.is_poor for r in responses} == {"nps": False, "ces": True}
    assert len(poor_notifications()) == 2
