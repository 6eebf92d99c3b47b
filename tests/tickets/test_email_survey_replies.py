"""Replies to survey emails arriving through email intake become survey answers, never tickets."""

from datetime import timedelta

import pytest

from surveys.models import SurveyResponse
from surveys.tokens import survey_message_id, survey_reply_address
from tests import factories
from tickets.email.inbound import inbound_message_process, inbound_message_store
from tickets.models import InboundMessage, Status, Ticket

pytestmark = pytest.mark.django_db

GMAIL_STYLE_REPLY = (
    "4 - quick and friendly, thanks!\n\n"
    "On Mon, Mar 2, 2026 at 9:30 AM Support <support@helpdesk.localhost> wrote:\n"
    "> How satisfied are you with the support you received?\n"
    "> 1 2 3 4 5\n"
)


def receive(raw: bytes, **kwargs) -> InboundMessage:
    stored = inbound_message_store(raw=raw, source=InboundMessage.Source.FILE, enqueue=False, **kwargs)
    return inbound_message_process(inbound=stored, now=kwargs.get("now"))


def customer_reply(invitation, **overrides) -> bytes:
    fields = {
        "from_": invitation.ticket.customer.email,
        "to": survey_reply_address(invitation),
        "subject": "Re: How did we do?",
        "body": GMAIL_STYLE_REPLY,
        "message_id": "<survey-reply-1@mail.example.com>",
    }
    fields.update(overrides)
    return factories.email_bytes(**fields)


def test_a_reply_to_the_survey_address_records_the_score_and_comment_without_a_ticket():
    invitation = factories.sent_survey()
    tickets_before = Ticket.objects.count()

    inbound = receive(customer_reply(invitation))

    assert inbound.state == InboundMessage.State.PROCESSED
    assert not inbound.created_ticket
    assert "survey reply" in inbound.reason
    response = SurveyResponse.objects.get(invitation=invitation)
    assert (response.score, response.source) == (4, SurveyResponse.Source.EMAIL)
    assert "quick and friendly" in response.comment
    assert "wrote:" not in response.comment
    assert Ticket.objects.count() == tickets_before
    invitation.ticket.refresh_from_db()
    assert invitation.ticket.status == Status.SOLVED


def test_a_reply_whose_client_dropped_the_address_threads_by_the_survey_message_id():
    invitation = factories.sent_survey()
    raw = customer_reply(
        invitation, to="support@helpdesk.localhost", in_reply_to=survey_message_id(invitation)
    )

    receive(raw)

    assert SurveyResponse.objects.get(invitation=invitation).score == 4


def test_the_same_survey_reply_delivered_twice_is_recorded_once():
    invitation = factories.sent_survey()
    receive(customer_reply(invitation))
    second = receive(customer_reply(invitation))

    assert second.state == InboundMessage.State.DUPLICATE
    assert SurveyResponse.objects.get(invitation=invitation).changes.count() == 1


def test_an_ambiguous_survey_reply_is_kept_for_review():
    invitation = factories.sent_survey()

    receive(customer_reply(invitation, body="Somewhere between 3 and 4, the first answer was slow."))

    response = SurveyResponse.objects.get(invitation=invitation)
    assert response.score is None
    assert response.needs_review


def test_a_reply_to_an_expired_survey_is_handled_as_ordinary_mail():
    invitation = factories.sent_survey()
    late = invitation.expires_at + timedelta(days=1)

    inbound = receive(customer_reply(invitation), now=late)

    assert not SurveyResponse.objects.filter(invitation=invitation).exists()
    assert inbound.state == InboundMessage.State.PROCESSED
    assert inbound.ticket is not None
