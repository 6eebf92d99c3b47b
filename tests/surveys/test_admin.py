import pytest
from django.urls import reverse

from surveys.models import SurveyResponse
from surveys.services import survey_reply_receive, survey_response_record
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("lead", "lead@helpdesk.test", "pass-word-123")
    client.force_login(user)
    return client


@pytest.fixture
def answered(customer, team):
    invitation = factories.sent_survey(ticket=factories.solved_ticket(customer=customer, team=team))
    survey_response_record(invitation=invitation, answers={"csat": 2}, comment="Too slow")
    return invitation


@pytest.mark.parametrize("model", ["surveyinvitation", "surveyresponse", "surveysettings"])
def test_every_survey_model_has_a_working_admin_list(admin_client, answered, model):
    assert admin_client.get(reverse(f"admin:surveys_{model}_changelist")).status_code == 200


def test_invitation_filters(admin_client, answered):
    url = reverse("admin:surveys_surveyinvitation_changelist")
    for query in (
        "?state__exact=sent",
        "?kind=csat",
        "?progress=responded",
        "?progress=sent",
        f"?team__id__exact={answered.team_id}",
        f"?q={answered.ticket.reference}",
    ):
        response = admin_client.get(url + query)
        assert response.status_code == 200, query
        assert answered.ticket.reference in response.content.decode(), query
    for query in (
        "?kind=nps",
        "?state__exact=skipped",
        "?progress=unanswered",
        "?skip_reason__exact=throttled",
    ):
        assert answered.ticket.reference not in admin_client.get(url + query).content.decode(), query


def test_response_filters_and_history(admin_client, answered):
    response_row = SurveyResponse.objects.get()
    url = reverse("admin:surveys_surveyresponse_changelist")
    for query in ("?kind__exact=csat", "?score__exact=2", "?is_poor__exact=1", "?needs_review__exact=0"):
        assert admin_client.get(url + query).status_code == 200, query
    page = admin_client.get(reverse("admin:surveys_surveyresponse_change", args=[response_row.pk]))
    assert "history of answers" in page.content.decode().lower()


def test_invitation_page_hides_the_secret(admin_client, answered):
    page = admin_client.get(reverse("admin:surveys_surveyinvitation_change", args=[answered.pk]))
    assert page.status_code == 200
    assert answered.secret not in page.content.decode()


def test_mark_reviewed_action_clears_the_flag(admin_client, answered):
    survey_reply_receive(invitation_token_or_invitation=answered, text="hmm")
    row = SurveyResponse.objects.get(needs_review=True)
    admin_client.post(
        reverse("admin:surveys_surveyresponse_changelist"),
        {"action": "action_mark_reviewed", "_selected_action": [row.pk]},
    )
    row.refresh_from_db()
    assert not row.needs_review


def test_the_ticket_page_shows_the_survey_result(admin_client, answered):
    page = admin_client.get(reverse("admin:tickets_ticket_change", args=[answered.ticket_id]))
    body = page.content.decode()
    assert "CSAT 2" in body
    assert "Too slow" in body


def test_the_ticket_page_says_why_no_survey_was_sent(admin_client, team):
    customer = factories.CustomerFactory(email=None, phone="+4512345678")
    ticket = factories.solved_ticket(customer=customer, team=team)
    body = admin_client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()
    assert "Customer has no email address" in body
