"""End to end in headless Chromium: a customer writes in through the web form and answers a survey.

Run alone with `pytest -m e2e`. Screenshots land in test-artifacts/ (git-ignored). The live server runs
in this process, so Django's in-memory outbox (`mailoutbox`) captures what it sends; Celery tasks are
not queued but called directly, as everywhere in the tests.
"""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone

from surveys.models import SurveyInvitation, SurveyResponse
from tests import factories
from tickets import enqueue, services
from tickets.deflection.services import published_answer_save
from tickets.models import Channel, OutboundDelivery, Status, Ticket
from tickets.tasks import tickets_deliver_outbound

pytest.importorskip("playwright", reason="needs Playwright: pip install -r requirements-dev.txt")

from playwright.sync_api import Browser, Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "pass-word-123"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"e2e-public-{name}.png"), full_page=True)


@pytest.fixture(autouse=True)
def _isolated_rate_limits(settings):
    # The web form counts submissions in the cache; keep the counters local to this test.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def acknowledgements(monkeypatch) -> list[int]:
    """Outbox deliveries the web form hands to the broker; the test runs the delivery task itself."""
    ids: list[int] = []
    monkeypatch.setattr(enqueue.current_app, "send_task", lambda name, args, countdown: ids.append(args[0]))
    return ids


@pytest.fixture
def front_line(settings):
    team = factories.TeamFactory(name="Front line")
    settings.HELPDESK_DEFAULT_TEAM = team.name
    agent = factories.AgentFactory(teams=[team], user__first_name="Ana").user
    return {"team": team, "agent": agent}


def fill_support_form(page: Page, *, attachment: bool = True) -> None:
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Your email address").fill("ada@example.com")
    page.get_by_label("Subject").fill("Invoice is wrong")
    page.get_by_label("Message").fill("My November invoice charges me twice.")
    if attachment:
        page.get_by_label("Attachments (optional)").set_input_files(
            {"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 fake invoice"}
        )


def test_a_customer_sends_a_request_with_an_attachment_and_an_agent_sees_it(
    page: Page, live_server, front_line, acknowledgements, mailoutbox, django_user_model
):
    # An answer an agent published from a solved ticket of another team, suggested while typing.
    solved = factories.ticket(team=factories.TeamFactory(), subject="Wrong amount on my bill")
    services.ticket_change_status(ticket=solved, status=Status.SOLVED)
    solved.refresh_from_db()
    published_answer_save(
        ticket=solved,
        title="Invoice amount wrong? Check the billing period",
        body="Invoices cover the whole billing period; a pro-rated refund follows a downgrade.",
        is_published=True,
        actor=front_line["agent"],
        now=timezone.now(),
    )
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/support/new/")
    expect(page.get_by_role("heading", name="Contact support")).to_be_visible()
    shot(page, "form-mobile")
    page.set_viewport_size(DESKTOP)
    shot(page, "form-desktop")

    # An empty submission explains every missing field, linked to it, and keeps nothing half-made.
    page.get_by_role("button", name="Send request").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Please check the form")
    expect(page.get_by_label("Your email address")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Your email address")).to_have_attribute("aria-describedby", "id_email_errors")
    shot(page, "form-errors")
    assert not Ticket.objects.filter(channel=Channel.WEB).exists()

    fill_support_form(page)
    suggested = page.locator("#suggested-answers")
    expect(
        suggested.get_by_role("link", name="Invoice amount wrong? Check the billing period")
    ).to_be_visible()
    shot(page, "form-suggested-answer")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", name="Thank you, we received your request")).to_be_visible()
    ticket = Ticket.objects.get(channel=Channel.WEB)
    expect(page.locator(".reference")).to_have_text(ticket.reference)
    shot(page, "submitted")

    assert ticket.channel == Channel.WEB
    assert (ticket.customer.name, ticket.customer.email) == ("Ada Lovelace", "ada@example.com")
    assert ticket.team == front_line["team"]
    attachment = ticket.messages.get().attachments.get()
    assert (attachment.filename, attachment.content_type) == ("invoice.pdf", "application/pdf")
    assert attachment.file.read() == b"%PDF-1.4 fake invoice"

    acknowledgement = OutboundDelivery.objects.get(kind=OutboundDelivery.Kind.ACKNOWLEDGEMENT, ticket=ticket)
    assert acknowledgements == [acknowledgement.pk]
    assert tickets_deliver_outbound(acknowledgement.pk) == "sent"
    [mail] = mailoutbox
    assert mail.to == ["ada@example.com"]
    assert mail.subject == f"[#{ticket.reference}] Invoice is wrong"
    assert ticket.reference in mail.body

    # The agent of the team finds it in the queue.
    agent = front_line["agent"]
    agent.set_password(PASSWORD)
    agent.save()
    page.goto(f"{live_server.url}/desk/login/")
    page.get_by_label("Username").fill(agent.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/desk/?view=unassigned")
    row = page.locator("#queue-rows tr.queue-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Invoice is wrong")
    expect(row).to_contain_text(ticket.reference)


def test_the_web_form_works_without_javascript(browser: Browser, live_server, front_line, acknowledgements):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/support/new/")
    fill_support_form(page, attachment=False)
    page.get_by_label("Your email address").fill("not an address")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter a valid email address")
    # The error summary links to the field, and the text typed so far is kept.
    summary_link = page.get_by_role("link", name="Your email address: Enter a valid email address")
    expect(summary_link).to_have_attribute("href", "#id_email")
    expect(page.get_by_label("Message")).to_have_value("My November invoice charges me twice.")
    page.get_by_label("Your email address").fill("ada@example.com")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", name="Thank you, we received your request")).to_be_visible()
    assert Ticket.objects.get().channel == Channel.WEB
    context.close()


def score(page: Page, value: int):
    return page.get_by_role("radio", name=re.compile(rf"^{value}\b"))


def test_a_customer_answers_the_survey_from_the_email_link(page: Page, live_server, settings, mailoutbox):
    settings.HELPDESK_PUBLIC_BASE_URL = live_server.url
    team = factories.TeamFactory()
    customer = factories.CustomerFactory(name="Ada Lovelace", email="ada@example.com")
    ticket = factories.ticket(customer=customer, team=team, subject="Invoice is wrong")
    # Solved two hours ago: the survey (default delay one hour) is due now.
    two_hours_ago = timezone.now() - timedelta(hours=2)
    services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=two_hours_ago)
    invitation = SurveyInvitation.objects.get(ticket=ticket)
    assert factories.deliver_survey(invitation.pk) == "sent"

    [mail] = mailoutbox
    html_links = re.findall(r'href="([^"]+)"', mail.alternatives[0][0])
    link_for_4 = next(link for link in html_links if link.endswith("?score=4"))
    assert link_for_4.startswith(f"{live_server.url}/survey/")
    assert f"4 (Satisfied): {link_for_4}" in mail.body  # the plain-text part offers the same link

    page.set_viewport_size(DESKTOP)
    page.goto(link_for_4)
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    group = page.get_by_role("group", name=re.compile("How satisfied are you"))
    expect(group).to_be_visible()
    expect(score(page, 4)).to_be_checked()
    shot(page, "survey")
    page.set_viewport_size(PHONE)
    shot(page, "survey-mobile")
    # Opening the link shows the question; only pressing the button answers it.
    assert not SurveyResponse.objects.exists()
    invitation.refresh_from_db()
    assert invitation.responded_at is None

    score(page, 5).check()
    expect(score(page, 4)).not_to_be_checked()
    page.get_by_label("Anything you would like to add? (optional)").fill("Fixed in one reply, thank you!")
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_role("heading", name="Thank you for your feedback!")).to_be_visible()
    expect(page.locator(".answer-list")).to_contain_text("Fixed in one reply")
    page.set_viewport_size(DESKTOP)
    shot(page, "thanks")

    answer = SurveyResponse.objects.get(invitation=invitation)
    assert (answer.kind, answer.score, answer.comment, answer.source) == (
        "csat",
        5,
        "Fixed in one reply, thank you!",
        "web",
    )

    # Coming back shows the current answer and lets the customer change it; looking changes nothing.
    page.get_by_role("link", name="change your answer").click()
    expect(page.locator(".notice")).to_contain_text("You answered 5 on")
    expect(score(page, 5)).to_be_checked()
    expect(page.get_by_label("Anything you would like to add? (optional)")).to_have_value(
        "Fixed in one reply, thank you!"
    )
    page.goto(link_for_4)
    expect(page.locator(".notice")).to_contain_text("You answered 5 on")
    answer.refresh_from_db()
    assert answer.score == 5
    assert SurveyResponse.objects.count() == 1


def test_a_bad_survey_link_gets_a_clear_page_in_the_same_style(page: Page, live_server):
    page.set_viewport_size(PHONE)
    response = page.goto(f"{live_server.url}/survey/1-{'a' * 32}/?score=5")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="This survey link is not valid")).to_be_visible()
    expect(page.locator("link[rel=stylesheet]")).to_have_attribute("href", re.compile(r"helpdesk/app\.css"))
    shot(page, "survey-error-mobile")
