"""The public survey page: a GET only shows the form, a POST records; bad links get a clear 4xx page."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from surveys.models import SurveyInvitation, SurveyResponse, SurveyResponseChange
from surveys.tokens import invitation_token, survey_url
from tests import factories
from tickets.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation(customer, team):
    return factories.sent_survey(
        ticket=factories.solved_ticket(customer=customer, team=team, now=timezone.now() - timedelta(hours=1))
    )


def page_url(invitation: SurveyInvitation, score: int | None = None) -> str:
    url = reverse("surveys:answer", args=[invitation_token(invitation)])
    return url if score is None else f"{url}?score={score}"


def checked_scores(html: str) -> list[str]:
    return re.findall(r'<input type="radio" name="csat" value="(\d+)"[^>]*checked', html)


def test_opening_a_score_link_shows_the_question_with_that_score_selected(client, invitation):
    response = client.get(page_url(invitation, 2))

    assert response.status_code == 200
    html = response.content.decode()
    assert "How satisfied are you with the support you received?" in html
    assert checked_scores(html) == ["2"]
    assert 'name="csrfmiddlewaretoken"' in html
    assert "Very unsatisfied" in html and "Very satisfied" in html
    assert response["Cache-Control"] == "no-store"


def test_the_page_uses_the_shared_customer_shell_without_scripts(client, invitation):
    html = client.get(page_url(invitation, 4)).content.decode()
    assert "helpdesk/app.css" in html
    assert '<body class="public"' in html
    assert "<script" not in html
    assert '<meta name="robots" content="noindex, nofollow">' in html
    # The token must not leak to other sites, yet browsers must send an Origin for the CSRF check:
    # with "no-referrer" they post "Origin: null" and Django refuses the answer.
    assert '<meta name="referrer" content="same-origin">' in html
    assert "no-referrer" not in html


def test_the_score_scale_is_a_labelled_radio_group_with_its_ends_described(client, invitation):
    html = client.get(page_url(invitation)).content.decode()
    assert '<fieldset class="scale-group" aria-describedby="id_csat_ends">' in html
    assert "<legend>How satisfied are you with the support you received?</legend>" in html
    assert '<p class="scale-ends" id="id_csat_ends">' in html
    assert '<span class="visually-hidden">, Very unsatisfied</span>' in html


def test_errors_are_summarised_and_linked_to_their_fields(client, invitation):
    html = client.post(page_url(invitation), {"comment": "x" * 10_001}).content.decode()
    assert 'role="alert"' in html
    assert 'href="#id_csat_0">Choose a score to answer this question.</a>' in html
    assert 'aria-describedby="id_csat_ends id_csat_errors"' in html
    assert 'id="id_csat_errors"' in html
    assert 'aria-describedby="id_comment_errors"' in html and 'aria-invalid="true"' in html
    assert 'id="id_comment_errors"' in html


def test_opening_a_score_link_records_nothing(client, invitation):
    client.get(page_url(invitation, 5))

    assert SurveyResponse.objects.count() == 0
    invitation.refresh_from_db()
    assert invitation.responded_at is None


def test_a_link_scanner_fetching_every_link_records_nothing(invitation, mailoutbox):
    scanner = Client(HTTP_USER_AGENT="Mozilla/5.0 (compatible; SafeLinks scanner)")
    for score in range(1, 6):
        url = survey_url(invitation, score)
        path = url.split("://", 1)[1].split("/", 1)[1]
        for method in (scanner.head, scanner.get, scanner.options):
            assert method("/" + path).status_code in (200, 204)
    scanner.get(page_url(invitation))

    assert SurveyResponse.objects.count() == 0
    assert not AuditEntry.objects.filter(new_value__contains="answer").exists()


def test_posting_the_form_records_the_answer_and_thanks_the_customer(client, invitation):
    response = client.post(page_url(invitation), {"csat": "4", "comment": "Quick and friendly"}, follow=True)

    assert response.status_code == 200
    assert "Thank you for your feedback" in response.content.decode()
    answer = SurveyResponse.objects.get(invitation=invitation)
    assert (answer.kind, answer.score, answer.comment, answer.source) == (
        "csat",
        4,
        "Quick and friendly",
        "web",
    )
    assert not answer.is_poor and not answer.needs_review
    invitation.refresh_from_db()
    assert invitation.responded_at is not None
    assert AuditEntry.objects.filter(ticket=invitation.ticket, new_value="CSAT answer: 4").exists()


def test_the_form_is_csrf_protected(invitation):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(page_url(invitation), {"csat": "5"}).status_code == 403
    assert SurveyResponse.objects.count() == 0

    page = strict.get(page_url(invitation, 5))
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    assert strict.post(page_url(invitation), {"csat": "5", "csrfmiddlewaretoken": csrf}).status_code == 302
    assert SurveyResponse.objects.get().score == 5


def test_changing_an_answer_keeps_the_last_and_the_history(client, invitation):
    client.post(page_url(invitation), {"csat": "2", "comment": "Slow"})
    client.post(page_url(invitation), {"csat": "5", "comment": "Actually it was fixed"})

    answer = SurveyResponse.objects.get(invitation=invitation)
    assert (answer.score, answer.comment) == (5, "Actually it was fixed")
    history = list(SurveyResponseChange.objects.filter(response=answer).values_list("score", "comment"))
    assert history == [(2, "Slow"), (5, "Actually it was fixed")]


def test_posting_the_same_answer_twice_records_it_once(client, invitation):
    client.post(page_url(invitation), {"csat": "4"})
    client.post(page_url(invitation), {"csat": "4"})
    assert SurveyResponseChange.objects.count() == 1


def test_reopening_the_page_after_answering_shows_the_answer_and_offers_a_change(client, invitation):
    client.post(page_url(invitation), {"csat": "3", "comment": "ok"})

    html = client.get(page_url(invitation)).content.decode()
    assert checked_scores(html) == ["3"]
    assert "You answered <strong>3</strong> on" in html
    assert "You can change your answer" in html
    assert checked_scores(client.get(page_url(invitation, 5)).content.decode()) == ["5"]


def test_a_survey_with_several_questions_records_each_answered_one(client, customer, team):
    factories.SurveySettingsFactory(team=team, kinds=["csat", "nps"], delay_minutes=0)
    invitation = factories.sent_survey(
        ticket=factories.solved_ticket(
            customer=customer, team=team, now=timezone.now() - timedelta(minutes=2)
        )
    )
    html = client.get(page_url(invitation, 5)).content.decode()
    assert "How likely are you to recommend us" in html

    client.post(page_url(invitation), {"csat": "5", "nps": "9", "comment": "Great"})
    answers = dict(SurveyResponse.objects.values_list("kind", "score"))
    assert answers == {"csat": 5, "nps": 9}
    assert SurveyResponse.objects.get(kind="csat").comment == "Great"


def test_the_first_question_is_required_and_a_missing_score_is_explained(client, invitation):
    response = client.post(page_url(invitation), {"comment": "no score"})
    assert response.status_code == 400
    assert "Choose a score" in response.content.decode()
    assert SurveyResponse.objects.count() == 0


@pytest.mark.parametrize("posted", ["6", "0", "-1", "abc", "4.5", "٣"])
def test_a_posted_score_off_the_scale_is_refused_with_the_form(client, invitation, posted):
    response = client.post(page_url(invitation), {"csat": posted})
    assert response.status_code == 400
    assert SurveyResponse.objects.count() == 0


def test_auto_submit_is_off_by_default_and_opt_in(client, invitation, settings):
    assert "<script" not in client.get(page_url(invitation, 4)).content.decode()
    settings.HELPDESK_SURVEY_AUTO_SUBMIT = True
    html = client.get(page_url(invitation, 4)).content.decode()
    assert 'data-auto-submit="1"' in html and "form.submit()" in html
    assert SurveyResponse.objects.count() == 0


# --- tampering and expiry ------------------------------------------------------------------------


def assert_clear_error(response, status: int, title: str) -> None:
    assert response.status_code == status
    html = response.content.decode()
    assert title in html
    assert "Traceback" not in html
    assert "<form" not in html


def test_a_modified_token_gives_a_clear_not_valid_page(client, invitation):
    token = invitation_token(invitation)
    flipped = token[:-1] + ("a" if token[-1] != "a" else "b")
    for bad in (flipped, token[:-3], token + "x", "0-" + token.split("-")[1], "hello", "1-" + "a" * 32):
        response = client.get(f"/survey/{bad}/?score=5")
        assert_clear_error(response, 404, "This survey link is not valid")
        assert client.post(f"/survey/{bad}/", {"csat": "5"}).status_code == 404
    assert SurveyResponse.objects.count() == 0


def test_a_token_of_another_invitation_does_not_open_this_one(client, invitation):
    other = factories.sent_survey()
    token = invitation_token(invitation)
    other_token = invitation_token(other)
    swapped = f"{other.pk}-{token.split('-')[1]}"
    assert_clear_error(client.get(f"/survey/{swapped}/"), 404, "This survey link is not valid")
    assert client.get(f"/survey/{other_token}/").status_code == 200


def test_a_token_signed_with_another_secret_key_is_refused(client, invitation, settings):
    token = invitation_token(invitation)
    signing_key = settings.SECRET_KEY
    settings.SECRET_KEY = "another-key-" + "x" * 40
    assert client.get(f"/survey/{token}/").status_code == 404
    settings.SECRET_KEY_FALLBACKS = [signing_key]
    assert client.get(f"/survey/{token}/").status_code == 200


def test_an_upper_cased_token_still_works(client, invitation):
    assert client.get(f"/survey/{invitation_token(invitation).upper()}/").status_code == 200


@pytest.mark.parametrize("score", ["6", "0", "-1", "99999999999999999999", "five", "3.0", "%00", "٣"])
def test_a_score_outside_the_scale_in_the_url_gives_a_clear_400_page(client, invitation, score):
    response = client.get(page_url(invitation) + f"?score={score}")
    assert_clear_error(response, 400, "That answer is not on the scale")
    assert "between 1 and 5" in response.content.decode()


def test_a_survey_that_was_never_sent_has_no_page(client, ticket):
    factories.solved_ticket(now=timezone.now())
    scheduled = SurveyInvitation.objects.get(state=SurveyInvitation.State.SCHEDULED)
    assert_clear_error(client.get(page_url(scheduled, 5)), 404, "This survey link is not valid")


def test_an_expired_link_gives_a_clear_410_page_and_records_nothing(client, invitation):
    with time_machine.travel(invitation.expires_at - timedelta(seconds=1), tick=False):
        assert client.get(page_url(invitation, 4)).status_code == 200
    with time_machine.travel(invitation.expires_at, tick=False):
        assert_clear_error(client.get(page_url(invitation, 4)), 410, "This survey has closed")
        assert_clear_error(client.post(page_url(invitation), {"csat": "4"}), 410, "This survey has closed")
    assert SurveyResponse.objects.count() == 0


def test_an_answer_can_be_changed_until_expiry_but_not_after(client, invitation):
    client.post(page_url(invitation), {"csat": "2"})
    with time_machine.travel(invitation.expires_at - timedelta(minutes=1), tick=False):
        client.post(page_url(invitation), {"csat": "4"})
    with time_machine.travel(invitation.expires_at + timedelta(days=1), tick=False):
        assert client.post(page_url(invitation), {"csat": "1"}).status_code == 410
    assert SurveyResponse.objects.get().score == 4


def test_the_thanks_page_needs_a_valid_token(client, invitation):
    assert client.get(f"/survey/{invitation_token(invitation)}/thanks/").status_code == 200
    assert client.get("/survey/1-abc/thanks/").status_code == 404
    assert client.post(f"/survey/{invitation_token(invitation)}/thanks/").status_code == 405


def test_a_scanner_opening_every_link_of_the_real_email_records_nothing(customer, team, mailoutbox):
    ticket = factories.solved_ticket(customer=customer, team=team, now=timezone.now() - timedelta(hours=2))
    factories.deliver_survey(SurveyInvitation.objects.get(ticket=ticket).pk)
    message = mailoutbox[0]
    html = message.alternatives[0][0]
    urls = set(re.findall(r'href="([^"]+)"', html)) | set(re.findall(r"https?://\S+", message.body))
    assert len(urls) == 5

    scanner = Client(HTTP_USER_AGENT="Mozilla/5.0 (compatible; link-scanner)")
    for url in sorted(urls):
        assert scanner.head(url).status_code == 200
        assert scanner.get(url).status_code == 200
        assert scanner.get(url, follow=True).status_code == 200

    assert SurveyResponse.objects.count() == 0
    assert SurveyInvitation.objects.get(ticket=ticket).responded_at is None


def test_an_overlong_comment_is_refused_with_the_form(client, invitation):
    response = client.post(page_url(invitation), {"csat": "4", "comment": "x" * 10_001})
    assert response.status_code == 400
    assert SurveyResponse.objects.count() == 0
