"""Deflection at the door: published answers on the support form, their views, and the measure."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests import factories
from tickets import enqueue, services
from tickets.deflection import selectors
from tickets.deflection import services as deflection
from tickets.exceptions import DomainError
from tickets.models import AnswerView, AuditEntry, Message, PublishedAnswer, Status

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
TOKEN = "abcdefghijklmnop1234"


@pytest.fixture(autouse=True)
def _local_cache(settings):
    # Rate-limit counters must not leak between tests (or into a shared Redis).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield
    cache.clear()


def solved_ticket(team, agent, subject="Charged twice for invoice 1234", reply="Hi Carla, I refunded it."):
    ticket = factories.ticket(team=team, subject=subject, body_text="Carla's card was charged twice.")
    services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent,
        body_text=reply,
        new_status=Status.SOLVED,
    )
    ticket.refresh_from_db()
    return ticket


def publish(team, agent, title, body, *, is_published=True, subject="Charged twice for invoice 1234"):
    return deflection.published_answer_save(
        ticket=solved_ticket(team, agent, subject=subject),
        title=title,
        body=body,
        is_published=is_published,
        actor=agent,
        now=NOW,
    )


@pytest.fixture
def answers(team, agent_user):
    return {
        "refund": publish(
            team,
            agent_user,
            "Charged twice? How refunds work",
            "Duplicate card charges are refunded in 5 days.",
        ),
        "vat": publish(team, agent_user, "Add your VAT number to an invoice", "Settings > Billing > VAT ID."),
        "draft": publish(
            team, agent_user, "Charged twice (internal draft)", "Not ready for customers.", is_published=False
        ),
    }


# --- services and selectors -----------------------------------------------------------------------


def test_an_agent_publishes_a_solved_tickets_answer_once_and_the_change_is_audited(team, agent_user):
    ticket = solved_ticket(team, agent_user)
    answer = deflection.published_answer_save(
        ticket=ticket,
        title=" Refunds ",
        body="Refunded in 5 days.",
        is_published=True,
        actor=agent_user,
        now=NOW,
    )
    again = deflection.published_answer_save(
        ticket=ticket, title="Refunds", body="Edited.", is_published=False, actor=agent_user, now=NOW
    )
    assert again.pk == answer.pk and (again.title, again.body, again.is_published) == (
        "Refunds",
        "Edited.",
        False,
    )
    changes = AuditEntry.objects.filter(ticket=ticket, field="published_answer").order_by("pk")
    assert [(a.old_value, a.new_value) for a in changes] == [("", "published"), ("published", "unpublished")]


def test_an_open_ticket_or_an_empty_answer_cannot_be_published(team, agent_user):
    with pytest.raises(DomainError, match="solved or closed"):
        deflection.published_answer_save(
            ticket=factories.ticket(team=team),
            title="T",
            body="B",
            is_published=True,
            actor=agent_user,
            now=NOW,
        )
    with pytest.raises(DomainError, match="title and an answer"):
        deflection.published_answer_save(
            ticket=solved_ticket(team, agent_user),
            title=" ",
            body="B",
            is_published=True,
            actor=agent_user,
            now=NOW,
        )


def test_suggestions_match_the_subject_and_never_show_unpublished_answers(answers):
    found = selectors.published_answer_suggestions(subject="I was charged twice")
    assert found[0] == answers["refund"]
    assert answers["draft"] not in found
    assert selectors.published_answer_suggestions(subject="VAT invoice")[0] == answers["vat"]
    assert selectors.published_answer_suggestions(subject="the and") == []  # no words to match
    assert len(selectors.published_answer_suggestions(subject="invoice charged twice refund vat")) <= 3


def test_the_public_answer_form_starts_from_the_solving_reply_never_the_customers_words(team, agent_user):
    ticket = solved_ticket(team, agent_user, reply="Refunded the duplicate charge.")
    draft = selectors.public_answer_draft(ticket=ticket)
    assert (draft.answer, draft.title, draft.body) == (None, "", "Refunded the duplicate charge.")
    assert "Carla" not in draft.body
    assert selectors.public_answer_draft(ticket=factories.ticket(team=team)) is None


def test_a_viewed_form_left_unsent_past_the_window_counts_as_deflected(answers):
    window = selectors.deflection_window()
    assert window == timedelta(hours=1)  # the default of HELPDESK_DEFLECTION_WINDOW_SECONDS
    record = deflection.answer_view_record
    record(answer=answers["refund"], form_token="a" * 22, now=NOW)  # left: deflected
    record(answer=answers["vat"], form_token="a" * 22, now=NOW + timedelta(minutes=1))
    record(answer=answers["refund"], form_token="b" * 22, now=NOW)  # sent afterwards
    assert deflection.deflection_form_submitted(form_token="b" * 22, now=NOW + timedelta(minutes=5)) == 1
    record(answer=answers["refund"], form_token="c" * 22, now=NOW + window)  # still inside its window
    assert record(answer=answers["draft"], form_token="d" * 22, now=NOW) is None  # unpublished
    assert record(answer=answers["refund"], form_token="bad token", now=NOW) is None
    measured = selectors.deflection_measures(
        start_at=NOW - timedelta(days=1),
        end_at=NOW + timedelta(days=1),
        now=NOW + window + timedelta(minutes=1),
    )
    assert measured == selectors.Deflection(
        answers_viewed=4,
        forms_with_views=3,
        forms_submitted_after_viewing=1,
        forms_abandoned_after_viewing=1,
        deflection_rate=0.5,
        window_minutes=60,
    )


def test_the_deflection_window_is_a_setting(answers, settings):
    deflection.answer_view_record(answer=answers["refund"], form_token="a" * 22, now=NOW)
    period = {"start_at": NOW - timedelta(days=1), "end_at": NOW + timedelta(days=1)}
    settings.HELPDESK_DEFLECTION_WINDOW_SECONDS = 10 * 60
    after_ten_minutes = selectors.deflection_measures(**period, now=NOW + timedelta(minutes=10))
    assert (after_ten_minutes.forms_abandoned_after_viewing, after_ten_minutes.window_minutes) == (1, 10)
    settings.HELPDESK_DEFLECTION_WINDOW_SECONDS = 24 * 3600
    next_day = selectors.deflection_measures(**period, now=NOW + timedelta(hours=23))
    assert (next_day.forms_abandoned_after_viewing, next_day.deflection_rate) == (0, None)


# --- the public form ------------------------------------------------------------------------------


def _token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def test_the_form_asks_for_answers_as_the_subject_is_typed_and_the_fragment_lists_published_ones(
    client, answers
):
    page = client.get("/support/new/").content.decode()
    token = _token(page)
    assert deflection.form_token_is_valid(token)
    assert 'hx-get="/support/new/answers/"' in page and 'id="suggested-answers"' in page
    response = client.get("/support/new/answers/", {"subject": "charged twice", "form_token": token})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Charged twice? How refunds work" in html
    assert f"/support/answers/{answers['refund'].pk}/?form={token}" in html
    assert "internal draft" not in html
    nothing = client.get("/support/new/answers/", {"subject": "zzz qqq", "form_token": token})
    assert nothing.status_code == 200 and "These answers may help" not in nothing.content.decode()


def test_hostile_suggestion_requests_get_a_4xx(client, answers, settings):
    url = "/support/new/answers/"
    assert client.get(url, {"subject": "charged", "form_token": "<script>"}).status_code == 400
    assert client.get(url, {"subject": "charged"}).status_code == 400
    assert client.get(url, {"subject": "x" * 251, "form_token": TOKEN}).status_code == 400
    assert client.post(url, {"subject": "charged", "form_token": TOKEN}).status_code == 405
    assert client.get(f"/support/answers/{answers['draft'].pk}/?form={TOKEN}").status_code == 404
    assert client.get(f"/support/answers/{answers['refund'].pk}/?form=%27;drop").status_code == 400
    assert not AnswerView.objects.exists()


def test_suggestions_and_answer_views_are_rate_limited_per_client_ip(client, answers, settings):
    settings.HELPDESK_ANSWER_LOOKUPS_PER_IP = 2
    settings.HELPDESK_ANSWER_VIEWS_PER_IP = 1
    url = "/support/new/answers/"
    params = {"subject": "charged", "form_token": TOKEN}
    assert [client.get(url, params, REMOTE_ADDR="1.1.1.1").status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(url, params, REMOTE_ADDR="2.2.2.2").status_code == 200
    answer = f"/support/answers/{answers['refund'].pk}/?form={TOKEN}"
    assert [client.get(answer, REMOTE_ADDR="1.1.1.1").status_code for _ in range(2)] == [200, 429]
    assert AnswerView.objects.count() == 1


def test_opening_an_answer_counts_a_view_and_sending_the_form_cancels_the_deflection(
    client, answers, monkeypatch
):
    monkeypatch.setattr(enqueue.current_app, "send_task", lambda *args, **kwargs: None)
    factories.TeamFactory(name="Support", is_default=True)
    token = _token(client.get("/support/new/").content.decode())
    page = client.get(f"/support/answers/{answers['refund'].pk}/?form={token}")
    assert page.status_code == 200
    assert "Duplicate card charges are refunded in 5 days." in page.content.decode()
    view = AnswerView.objects.get()
    assert (view.form_token, view.form_submitted_at) == (token, None)
    client.get(f"/support/answers/{answers['refund'].pk}/")  # a shared link: no form, no view
    assert AnswerView.objects.count() == 1
    data = {
        "name": "Ada",
        "email": "ada@example.com",
        "subject": "Charged twice",
        "message": "Still charged twice.",
        "website": "",
        "form_token": token,
    }
    assert client.post("/support/new/", data).status_code == 302
    view.refresh_from_db()
    assert view.form_submitted_at is not None


# --- the desk, the admin and the metrics ------------------------------------------------------------


def test_an_agent_publishes_from_the_ticket_page_and_only_for_visible_tickets(team, agent_user, desk_client):
    ticket = solved_ticket(team, agent_user, reply="Refunded the duplicate charge.")
    client = desk_client(agent_user)
    page = client.get(f"/desk/tickets/{ticket.pk}/").content.decode()
    assert 'id="public-answer"' in page and "Refunded the duplicate charge." in page
    url = f"/desk/tickets/{ticket.pk}/public-answer/"
    response = client.post(url, {"title": "Refunds", "body": "We refund duplicates.", "is_published": "on"})
    assert response.status_code == 302
    assert PublishedAnswer.objects.get(ticket=ticket).is_published
    client.post(url, {"title": "", "body": "x"})
    assert PublishedAnswer.objects.get(ticket=ticket).title == "Refunds"  # invalid: nothing changed
    hidden = solved_ticket(factories.TeamFactory(), agent_user)
    assert (
        client.post(f"/desk/tickets/{hidden.pk}/public-answer/", {"title": "T", "body": "B"}).status_code
        == 404
    )


def test_an_admin_publishes_an_answer_through_the_service(team, agent_user, client):
    admin = factories.UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    ticket = solved_ticket(team, agent_user)
    response = client.post(
        "/admin/tickets/publishedanswer/add/",
        {"ticket": ticket.pk, "title": "Refunds", "body": "We refund duplicates.", "is_published": "on"},
    )
    assert response.status_code == 302
    assert PublishedAnswer.objects.get(ticket=ticket).created_by == admin
    assert AuditEntry.objects.filter(ticket=ticket, field="published_answer").exists()


def test_the_metrics_api_and_the_leads_dashboard_report_deflection(answers, as_user, desk_client, team):
    lead = factories.UserFactory()
    factories.AgentFactory(user=lead, teams=[team])
    team.lead = lead
    team.save(update_fields=["lead"])
    earlier = timezone.now() - timedelta(hours=2)
    deflection.answer_view_record(answer=answers["refund"], form_token="a" * 22, now=earlier)
    day = timezone.localdate().isoformat()
    body = as_user(lead).get(f"/api/v1/metrics/?start={day}&end={day}").json()
    assert body["deflection"] == {
        "answers_viewed": 1,
        "forms_with_views": 1,
        "forms_submitted_after_viewing": 0,
        "forms_abandoned_after_viewing": 1,
        "deflection_rate": 1.0,
        "window_minutes": 60,
    }
    schema = as_user(lead).get("/api/v1/schema/?format=json").json()
    assert "deflection_rate" in schema["components"]["schemas"]["Deflection"]["properties"]
    html = desk_client(lead).get("/desk/metrics/").content.decode()
    assert "Deflection at the door" in html and "Deflection rate: <strong>100%</strong>" in html
    assert "not sent within 60 minutes of the last answer opened" in html
