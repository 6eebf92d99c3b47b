"""survey.answered: emitted with the answer, in the same transaction, for every recorded or changed answer."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from surveys import services as survey_services
from surveys.models import SurveySettings
from tests import factories
from tickets import services
from tickets.models import Status, WebhookDelivery, WebhookSubscription
from tickets.webhooks import services as webhooks

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def no_enqueue(monkeypatch):
    enqueued = []
    monkeypatch.setattr(webhooks, "_enqueue", enqueued.append)
    return enqueued


@pytest.fixture
def invitation(team, agent_user):
    SurveySettings.objects.create(team=team, kinds=["csat", "nps"], delay_minutes=0, throttle_days=0)
    ticket = factories.ticket(team=team, assignee=agent_user, now=T0 - timedelta(hours=2))
    services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=T0)
    return factories.sent_survey(ticket=ticket, now=T0)


def subscribe(**kwargs):
    return WebhookSubscription.objects.create(
        name="CRM", url="http://127.0.0.1:9/hook", secret="s3cret", events=["survey.answered"], **kwargs
    )


def answered_payloads():
    return [d.payload for d in WebhookDelivery.objects.filter(event="survey.answered").order_by("pk")]


def test_recording_answers_emits_one_event_per_answer(no_enqueue, invitation, team, agent_user):
    subscribe()
    survey_services.survey_response_record(
        invitation=invitation, answers={"csat": 2, "nps": 9}, comment="Slow", now=T0 + timedelta(hours=1)
    )
    payloads = answered_payloads()
    assert [p["response"]["kind"] for p in payloads] == ["csat", "nps"]
    first = payloads[0]
    assert first["survey"] == {
        "invitation": invitation.pk,
        "ticket": invitation.ticket_id,
        "ticket_reference": invitation.ticket.reference,
        "team": team.pk,
        "agent": agent_user.pk,
        "channel": "email",
        "priority": "normal",
    }
    assert {k: first["response"][k] for k in ("score", "comment", "source", "needs_review", "is_poor")} == {
        "score": 2,
        "comment": "Slow",
        "source": "web",
        "needs_review": False,
        "is_poor": True,
    }
    assert first["response"]["updated_at"].startswith("2026-03-02T10:00:00")


def test_a_changed_answer_emits_again_and_the_same_answer_does_not(no_enqueue, invitation):
    subscribe()
    for score in (3, 3, 5):
        survey_services.survey_response_record(
            invitation=invitation, answers={"csat": score}, now=T0 + timedelta(hours=score)
        )
    assert [p["response"]["score"] for p in answered_payloads()] == [3, 5]


def test_emailed_replies_and_their_review_emit(no_enqueue, invitation):
    subscribe()
    response = survey_services.survey_reply_receive(
        invitation_token_or_invitation=invitation, text="hmm, not sure", now=T0 + timedelta(hours=1)
    )
    survey_services.survey_response_mark_reviewed(response=response, now=T0 + timedelta(hours=2))
    payloads = answered_payloads()
    assert [(p["response"]["source"], p["response"]["needs_review"]) for p in payloads] == [
        ("email", True),
        ("email", False),
    ]


def test_team_scoped_subscriptions_only_get_their_team(no_enqueue, invitation, team):
    subscribe(team=factories.TeamFactory())
    mine = subscribe(team=team)
    survey_services.survey_response_record(invitation=invitation, answers={"csat": 5}, now=T0)
    assert list(WebhookDelivery.objects.values_list("subscription", flat=True)) == [mine.pk]


def test_no_event_survives_a_rolled_back_answer(no_enqueue, invitation):
    subscribe()
    with pytest.raises(RuntimeError), transaction.atomic():
        survey_services.survey_response_record(invitation=invitation, answers={"csat": 5}, now=T0)
        raise RuntimeError("the caller's transaction fails")
    assert not WebhookDelivery.objects.exists()
    assert no_enqueue == []


def test_delivery_is_enqueued_on_commit(no_enqueue, invitation, django_capture_on_commit_callbacks):
    subscribe()
    with django_capture_on_commit_callbacks(execute=True):
        survey_services.survey_response_record(invitation=invitation, answers={"csat": 4}, now=T0)
    assert no_enqueue == list(WebhookDelivery.objects.values_list("pk", flat=True))
