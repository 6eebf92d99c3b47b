"""Answering by replying to the survey email: the intake contract, parsing and routing helpers."""

from datetime import timedelta

import pytest
import time_machine

from surveys import addressing
from surveys.exceptions import InvalidSurveyAnswer, InvalidSurveyToken, SurveyExpired
from surveys.models import SurveyResponse, SurveyResponseChange
from surveys.services import survey_reply_receive
from surveys.tokens import invitation_token, survey_message_id, survey_reply_address
from tests import factories
from tickets.models import Message, Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation(customer, team):
    return factories.sent_survey(ticket=factories.solved_ticket(customer=customer, team=team))


# Replies as common mail clients send them, after intake removed the quoted history; some leave
# a device footer, a signature or the quote header behind, which the parser drops.
CLIENT_REPLIES = [
    ("gmail", "5\r\n\r\nOn Mon, 2 Mar 2026 at 10:00, Support <support@helpdesk.localhost> wrote:\r\n", 5, ""),
    ("apple mail iphone", "4 - quick fix, thanks!\n\nSent from my iPhone", 4, "quick fix, thanks!"),
    (
        "outlook",
        "2\n\nIt took three emails to get an answer.\n\n-----Original Message-----\n",
        2,
        "It took three emails to get an answer.",
    ),
    (
        "outlook mobile",
        "Very satisfied, thanks for the quick fix\n\nGet Outlook for Android",
        5,
        "thanks for the quick fix",
    ),
    ("thunderbird signature", "I'd give it a 3.\n-- \nJane Doe\nAcme Corp\nTel: +1 555 123 4567", 3, ""),
    (
        "german webmail",
        "5 Sterne\n\nVon meinem iPhone gesendet\n\nAm 02.03.2026 um 10:00 schrieb Support:",
        5,
        "",
    ),
    ("leftover quote", "1\n> How satisfied are you with the support you received?\n> 1 2 3 4 5", 1, ""),
]


@pytest.mark.parametrize(
    ("client_name", "text", "score", "comment"), CLIENT_REPLIES, ids=[c[0] for c in CLIENT_REPLIES]
)
def test_replies_from_common_mail_clients_record_the_score(invitation, client_name, text, score, comment):
    response = survey_reply_receive(invitation_token_or_invitation=invitation_token(invitation), text=text)

    assert (response.score, response.comment, response.source) == (score, comment, "email")
    assert not response.needs_review


@pytest.mark.parametrize(
    "text",
    ["Thanks!", "3 or 4", "10/10", "👍", "not very easy", "", "   \n  ", "5 - very unsatisfied"],
)
def test_an_ambiguous_reply_is_kept_as_a_comment_for_review(invitation, text):
    response = survey_reply_receive(invitation_token_or_invitation=invitation, text=text)

    assert response.score is None
    assert response.needs_review
    assert response.comment == text.strip()
    invitation.refresh_from_db()
    assert invitation.responded_at is not None


def test_an_ambiguous_reply_after_a_click_keeps_the_clicked_score(invitation, client):
    client.post(f"/survey/{invitation_token(invitation)}/", {"csat": "4"})
    response = survey_reply_receive(invitation_token_or_invitation=invitation, text="see my other mail")

    assert (response.score, response.comment, response.needs_review) == (4, "see my other mail", True)


def test_a_clear_reply_after_an_ambiguous_one_clears_the_review_flag(invitation):
    survey_reply_receive(invitation_token_or_invitation=invitation, text="hmm")
    response = survey_reply_receive(invitation_token_or_invitation=invitation, text="4")

    assert (response.score, response.needs_review) == (4, False)
    assert SurveyResponseChange.objects.filter(response=response).count() == 2


def test_replies_use_the_scale_of_the_first_question(customer, team):
    factories.SurveySettingsFactory(team=team, kinds=["nps", "csat"])
    invitation = factories.sent_survey(ticket=factories.solved_ticket(customer=customer, team=team))

    response = survey_reply_receive(invitation_token_or_invitation=invitation, text="9, would recommend")
    assert (response.kind, response.score) == ("nps", 9)


def test_the_same_inbound_message_twice_is_recorded_once(invitation):
    first = survey_reply_receive(invitation_token_or_invitation=invitation, text="5", raw_message_id="<a@b>")
    again = survey_reply_receive(invitation_token_or_invitation=invitation, text="1", raw_message_id="<a@b>")

    assert again.pk == first.pk
    assert SurveyResponse.objects.get().score == 5
    assert SurveyResponseChange.objects.get().raw_message_id == "<a@b>"


def test_a_survey_reply_never_reopens_or_creates_a_ticket(invitation):
    tickets_before = Ticket.objects.count()
    survey_reply_receive(invitation_token_or_invitation=invitation, text="3 - it was fine")

    invitation.ticket.refresh_from_db()
    assert invitation.ticket.status == Status.SOLVED
    assert Ticket.objects.count() == tickets_before
    assert not Message.objects.filter(ticket=invitation.ticket, body_text__contains="fine").exists()


def test_a_reply_with_a_forged_token_is_refused(invitation):
    token = invitation_token(invitation)
    # Change the last character (a token that already ends in "2" would otherwise stay valid: flaky).
    tampered = token[:-1] + ("3" if token.endswith("2") else "2")
    for bad in (tampered, "12-" + "a" * 32, "garbage", "", None):
        with pytest.raises(InvalidSurveyToken):
            survey_reply_receive(invitation_token_or_invitation=bad, text="5")
    assert SurveyResponse.objects.count() == 0


def test_a_reply_after_expiry_is_refused(invitation):
    with time_machine.travel(invitation.expires_at + timedelta(seconds=1)), pytest.raises(SurveyExpired):
        survey_reply_receive(invitation_token_or_invitation=invitation, text="5")


def test_a_reply_text_that_is_not_a_string_is_refused(invitation):
    with pytest.raises(InvalidSurveyAnswer):
        survey_reply_receive(invitation_token_or_invitation=invitation, text=b"5")


def test_hostile_long_replies_are_stored_bounded(invitation):
    response = survey_reply_receive(invitation_token_or_invitation=invitation, text="x " * 100_000)
    assert response.needs_review
    assert len(response.comment) <= 10_000


# --- routing helpers for intake ------------------------------------------------------------------


def test_the_reply_address_and_message_id_lead_back_to_the_invitation(invitation, settings):
    settings.DEFAULT_FROM_EMAIL = "Support <help+eu@acme.example>"
    token = invitation_token(invitation)

    assert survey_reply_address(invitation) == f"help+survey-{token}@acme.example"
    assert survey_message_id(invitation) == f"<survey-{token}@acme.example>"
    assert addressing.invitation_token_from_address(f'"Acme" <{survey_reply_address(invitation)}>') == token
    references = f"<CAF123@mail.gmail.com> {survey_message_id(invitation)} <other@x>"
    assert addressing.invitation_token_from_message_id(references) == token


def test_a_dedicated_reply_mailbox_can_be_configured(invitation, settings):
    settings.HELPDESK_SURVEY_REPLY_MAILBOX = "surveys@replies.acme.example"
    assert survey_reply_address(invitation).startswith("surveys+survey-")
    assert survey_reply_address(invitation).endswith("@replies.acme.example")


@pytest.mark.parametrize(
    "value",
    [
        "support@example.com",
        "support+survey-@example.com",
        "support+survey-12-short@example.com",
        "support+other-12-" + "a" * 32 + "@example.com",
        "<12-" + "a" * 32 + "@example.com>",
        "",
        "@" * 50_000,
        None,
        12,
    ],
)
def test_matchers_return_none_for_anything_else(value):
    assert addressing.invitation_token_from_address(value) is None
    assert addressing.invitation_token_from_message_id(value) is None


def test_matchers_lower_case_tokens_mangled_by_mail_systems():
    token = "42-" + "abcdefghijklmnopqrstuvwxyz234567"
    assert addressing.invitation_token_from_address(f"SUPPORT+SURVEY-{token.upper()}@EXAMPLE.COM") == token
    assert addressing.invitation_token_from_message_id(f"<SURVEY-{token.upper()}@example.com>") == token


def test_a_reply_from_another_sender_is_recorded_unverified_and_not_scored(invitation):
    response = survey_reply_receive(
        invitation_token_or_invitation=invitation, text="1", sender="mallory@example.com"
    )

    assert response.score is None
    assert response.needs_review
    assert response.comment == "[unverified: sent by mallory@example.com] 1"


def test_a_reply_from_the_surveyed_customer_in_any_case_is_scored(invitation):
    sender = invitation.ticket.customer.email.upper()

    response = survey_reply_receive(invitation_token_or_invitation=invitation, text="5", sender=sender)

    assert (response.score, response.needs_review) == (5, False)
