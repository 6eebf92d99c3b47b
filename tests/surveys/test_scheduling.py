"""When a survey is scheduled, cancelled or skipped, and why (recorded on the invitation and the ticket)."""

from datetime import UTC, datetime, timedelta

import pytest

from surveys import services
from surveys.models import SurveyInvitation
from tests import factories
from tickets import services as ticket_services
from tickets.models import AuditEntry, Channel, Message, Status, Ticket

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
State = SurveyInvitation.State
Skip = SurveyInvitation.SkipReason


def survey_audit(ticket: Ticket) -> list[str]:
    return list(
        AuditEntry.objects.filter(ticket=ticket, action=AuditEntry.Action.SURVEY)
        .order_by("created_at", "pk")
        .values_list("new_value", flat=True)
    )


def test_solving_a_ticket_schedules_a_survey_after_the_default_delay(ticket, agent_user):
    ticket = ticket_services.ticket_assign(ticket=ticket, assignee=agent_user, now=NOW)
    ticket_services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=NOW)

    invitation = SurveyInvitation.objects.get(ticket=ticket)
    assert invitation.state == State.SCHEDULED
    assert invitation.send_at == NOW + timedelta(hours=1)
    assert invitation.kinds == ["csat"]
    assert invitation.agent == agent_user
    assert invitation.team == ticket.team
    assert (invitation.channel, invitation.priority) == (ticket.channel, ticket.priority)
    assert survey_audit(ticket) == [f"scheduled for {invitation.send_at.isoformat()}"]


def test_solving_with_a_reply_also_schedules_the_survey(ticket, agent_user):
    ticket_services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="Fixed it.",
        new_status=Status.SOLVED,
        now=NOW,
    )
    assert SurveyInvitation.objects.get(ticket=ticket).state == State.SCHEDULED


def test_team_settings_choose_kinds_wording_and_delay(team):
    factories.SurveySettingsFactory(
        team=team, kinds=["nps", "csat"], nps_question="Would you recommend Acme?", delay_minutes=24 * 60
    )
    ticket = factories.solved_ticket(team=team, now=NOW)

    invitation = SurveyInvitation.objects.get(ticket=ticket)
    assert invitation.kinds == ["nps", "csat"]
    assert invitation.send_at == NOW + timedelta(hours=24)
    assert invitation.question("nps") == "Would you recommend Acme?"
    assert invitation.question("csat") == "How satisfied are you with the support you received?"


def test_a_channel_row_overrides_the_team_row_for_that_channel_only(team):
    factories.SurveySettingsFactory(team=team, delay_minutes=10)
    factories.SurveySettingsFactory(team=team, channel=Channel.CHAT, delay_minutes=0, kinds=["ces"])

    chat = factories.solved_ticket(team=team, channel=Channel.CHAT, now=NOW)
    email = factories.solved_ticket(team=team, channel=Channel.EMAIL, now=NOW)

    chat_invitation = SurveyInvitation.objects.get(ticket=chat)
    email_invitation = SurveyInvitation.objects.get(ticket=email)
    assert (chat_invitation.kinds, chat_invitation.send_at) == (["ces"], NOW)
    assert (email_invitation.kinds, email_invitation.send_at) == (["csat"], NOW + timedelta(minutes=10))


def test_project_settings_are_the_default_without_a_team_row(settings, customer):
    settings.HELPDESK_SURVEY_KINDS = ["ces", "nps"]
    settings.HELPDESK_SURVEY_DELAY_MINUTES = 5
    ticket = factories.solved_ticket(customer=customer, now=NOW)

    invitation = SurveyInvitation.objects.get(ticket=ticket)
    assert (invitation.kinds, invitation.send_at) == (["ces", "nps"], NOW + timedelta(minutes=5))


def test_reopening_before_the_send_time_cancels_the_survey_with_its_reason(ticket):
    ticket = ticket_services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=NOW)
    ticket_services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.CUSTOMER,
        body_text="Still broken!",
        now=NOW + timedelta(minutes=30),
    )

    invitation = SurveyInvitation.objects.get(ticket=ticket)
    assert invitation.state == State.CANCELLED
    assert invitation.skip_reason == Skip.REOPENED
    assert invitation.finished_at == NOW + timedelta(minutes=30)
    assert survey_audit(ticket)[-1] == "cancelled: ticket reopened"
    assert services.survey_invitation_claim(invitation_id=invitation.pk, now=NOW + timedelta(hours=2)) is None


def test_solving_again_after_a_reopen_schedules_a_new_survey(ticket):
    ticket = ticket_services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=NOW)
    ticket = ticket_services.ticket_change_status(ticket=ticket, status=Status.OPEN, now=NOW)
    ticket_services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=NOW + timedelta(hours=1))

    states = list(
        SurveyInvitation.objects.filter(ticket=ticket).order_by("pk").values_list("state", flat=True)
    )
    assert states == [State.CANCELLED, State.SCHEDULED]


def test_a_ticket_never_has_two_surveys_in_flight(ticket):
    ticket = ticket_services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=NOW)
    assert services.survey_on_ticket_solved(ticket=ticket, now=NOW) is None
    assert SurveyInvitation.objects.filter(ticket=ticket).count() == 1


def test_closing_a_solved_ticket_keeps_its_scheduled_survey(ticket):
    ticket = ticket_services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=NOW)
    ticket_services.ticket_change_status(ticket=ticket, status=Status.CLOSED, now=NOW + timedelta(minutes=1))

    claimed = services.survey_invitation_claim(
        invitation_id=SurveyInvitation.objects.get(ticket=ticket).pk, now=NOW + timedelta(hours=1)
    )
    assert claimed is not None


# --- skip reasons --------------------------------------------------------------------------------


def assert_skipped(ticket: Ticket, reason: str) -> None:
    invitation = SurveyInvitation.objects.get(ticket=ticket)
    assert invitation.state == State.SKIPPED
    assert invitation.skip_reason == reason
    assert survey_audit(ticket)[-1] == f"not sent: {Skip(reason).label}"


def test_a_customer_without_email_is_not_surveyed(team):
    customer = factories.CustomerFactory(email=None, phone="+4512345678")
    ticket = factories.solved_ticket(customer=customer, team=team, now=NOW)
    assert_skipped(ticket, Skip.NO_EMAIL)


def test_tickets_from_auto_generated_mail_are_not_surveyed(team):
    ticket = factories.solved_ticket(team=team, is_auto_generated=True, now=NOW)
    assert_skipped(ticket, Skip.AUTO_GENERATED)


def test_a_team_with_surveys_disabled_records_why_nothing_was_sent(team):
    factories.SurveySettingsFactory(team=team, enabled=False)
    ticket = factories.solved_ticket(team=team, now=NOW)
    assert_skipped(ticket, Skip.DISABLED)


def test_a_ticket_merged_after_solving_is_skipped_at_send_time(customer, team):
    solved = factories.solved_ticket(customer=customer, team=team, now=NOW)
    target = factories.ticket(customer=customer, team=team, now=NOW)
    ticket_services.ticket_merge(source=solved, target=target, now=NOW + timedelta(minutes=5))

    invitation = SurveyInvitation.objects.get(ticket=solved)
    assert services.survey_invitation_claim(invitation_id=invitation.pk, now=NOW + timedelta(hours=1)) is None
    assert_skipped(solved, Skip.MERGED)


def test_email_removed_before_the_send_time_is_skipped_at_send_time(customer, team):
    ticket = factories.solved_ticket(customer=customer, team=team, now=NOW)
    type(customer).objects.filter(pk=customer.pk).update(email=None, phone="+4512345678")

    invitation = SurveyInvitation.objects.get(ticket=ticket)
    assert services.survey_invitation_claim(invitation_id=invitation.pk, now=NOW + timedelta(hours=1)) is None
    assert_skipped(ticket, Skip.NO_EMAIL)


def test_a_customer_surveyed_within_the_throttle_window_is_skipped(customer, team):
    factories.SurveySettingsFactory(team=team, throttle_days=30, delay_minutes=0)
    factories.sent_survey(ticket=factories.solved_ticket(customer=customer, team=team, now=NOW), now=NOW)

    second = factories.solved_ticket(customer=customer, team=team, now=NOW + timedelta(days=29, hours=23))
    invitation = SurveyInvitation.objects.get(ticket=second)
    assert services.survey_invitation_claim(invitation_id=invitation.pk, now=invitation.send_at) is None
    assert_skipped(second, Skip.THROTTLED)


def test_the_throttle_window_ends_exactly_after_its_days(customer, team):
    factories.SurveySettingsFactory(team=team, throttle_days=30, delay_minutes=0)
    factories.sent_survey(ticket=factories.solved_ticket(customer=customer, team=team, now=NOW), now=NOW)

    later = factories.solved_ticket(customer=customer, team=team, now=NOW + timedelta(days=30, seconds=1))
    invitation = SurveyInvitation.objects.get(ticket=later)
    assert services.survey_invitation_claim(invitation_id=invitation.pk, now=invitation.send_at) is not None


def test_throttle_zero_surveys_every_solve(customer, team):
    factories.SurveySettingsFactory(team=team, throttle_days=0, delay_minutes=0)
    factories.sent_survey(ticket=factories.solved_ticket(customer=customer, team=team, now=NOW), now=NOW)

    again = factories.solved_ticket(customer=customer, team=team, now=NOW + timedelta(minutes=1))
    invitation = SurveyInvitation.objects.get(ticket=again)
    assert services.survey_invitation_claim(invitation_id=invitation.pk, now=invitation.send_at) is not None


def test_two_surveys_of_one_customer_due_together_send_only_one(customer, team):
    first = factories.solved_ticket(customer=customer, team=team, now=NOW)
    second = factories.solved_ticket(customer=customer, team=team, now=NOW)
    due = NOW + timedelta(hours=1)

    claims = [
        services.survey_invitation_claim(invitation_id=SurveyInvitation.objects.get(ticket=t).pk, now=due)
        for t in (first, second)
    ]
    assert claims[0] is not None and claims[1] is None
    assert_skipped(second, Skip.THROTTLED)


def test_an_invitation_is_not_claimed_before_its_send_time(ticket):
    ticket = ticket_services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=NOW)
    invitation = SurveyInvitation.objects.get(ticket=ticket)
    assert (
        services.survey_invitation_claim(
            invitation_id=invitation.pk, now=invitation.send_at - timedelta(seconds=1)
        )
        is None
    )
    assert services.survey_invitation_claim(invitation_id=invitation.pk, now=invitation.send_at) is not None


def test_claiming_an_unknown_invitation_does_nothing(db):
    assert services.survey_invitation_claim(invitation_id=987654, now=NOW) is None
