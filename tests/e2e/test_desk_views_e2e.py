"""End to end in headless Chromium: no ticket lands nowhere, the views list what they say, and the desk
fits a phone. Run alone with `pytest -m e2e`; screenshots land in test-artifacts/ (git-ignored)."""

import email
import re
from email import policy
from pathlib import Path

import pytest
from django.core.cache import cache

from tests import factories
from tickets import enqueue, services
from tickets.models import Message, OutboundDelivery, Status, Ticket, WebFormTopic
from tickets.tasks import tickets_deliver_outbound

pytest.importorskip("playwright", reason="needs Playwright: pip install -r requirements-dev.txt")

from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "pass-word-123"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"e2e-desk-{name}.png"), full_page=True)


def log_in(page: Page, live_server, user) -> None:
    page.goto(f"{live_server.url}/desk/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=re.compile("My open tickets"))).to_be_visible()


@pytest.fixture(autouse=True)
def _isolated_rate_limits(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def desk(monkeypatch):
    """A default team with an agent and its lead, a Billing team with a web form topic."""
    # The tests run the outbox's delivery task themselves; nothing goes to a broker.
    monkeypatch.setattr(enqueue.current_app, "send_task", lambda name, args, countdown: None)
    support = factories.TeamFactory(name="Technical Support", is_default=True)
    billing = factories.TeamFactory(name="Billing")
    WebFormTopic.objects.create(name="Billing and invoices", team=billing)
    agent = factories.AgentFactory(teams=[support], user__first_name="Ana").user
    lead = factories.AgentFactory(teams=[support], user__first_name="Lena").user
    support.lead = lead
    support.save(update_fields=["lead"])
    return {"support": support, "billing": billing, "agent": agent, "lead": lead}


def test_a_web_form_request_reaches_the_default_team_and_the_reply_reaches_the_customer(
    page: Page, live_server, desk, smtp_server
):
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/support/new/")
    page.get_by_label("Your name").fill("Noah Wagner")
    page.get_by_label("Your email address").fill("noah@example.com")
    expect(page.get_by_label("What is it about? (optional)")).to_have_value("")  # "Something else"
    page.get_by_label("Subject").fill("Sync stuck at 87%")
    page.get_by_label("Message").fill("The desktop sync has been stuck since this morning.")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", name="Thank you, we received your request")).to_be_visible()
    ticket = Ticket.objects.get()
    assert ticket.team == desk["support"]

    log_in(page, live_server, desk["agent"])
    page.get_by_role("link", name=re.compile("Unassigned in my teams")).click()
    page.get_by_role("link", name="Sync stuck at 87%").click()
    page.get_by_role("textbox", name="Message").fill("Hi Noah, restarting the sync service fixes it.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".msg-agent")).to_contain_text("restarting the sync service")
    shot(page, "web-form-ticket-replied")

    [reply] = ticket.messages.filter(delivery_status=Message.DeliveryStatus.QUEUED)
    assert tickets_deliver_outbound(OutboundDelivery.objects.get(message=reply).pk) == "sent"
    [raw] = smtp_server.messages
    sent = email.message_from_bytes(raw, policy=policy.default)
    assert sent["To"].addresses[0].addr_spec == "noah@example.com"
    assert "restarting the sync service" in sent.get_body(("plain",)).get_content()


def test_a_lead_finds_unrouted_solved_and_closed_tickets_in_their_views(page: Page, live_server, desk):
    support = desk["support"]
    lost = factories.ticket(team=None, subject="Arrived with no team")
    solved = factories.ticket(team=support, subject="Solved yesterday")
    services.ticket_change_status(ticket=solved, status=Status.SOLVED)
    closed = factories.ticket(team=support, subject="Closed last week")
    services.ticket_change_status(ticket=closed, status=Status.SOLVED)
    services.ticket_change_status(ticket=closed, status=Status.CLOSED)
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, desk["lead"])
    views = page.get_by_role("navigation", name="Queue views")
    for name, subject in (
        ("Unrouted (no team)", lost.subject),
        ("Solved", solved.subject),
        ("Closed", closed.subject),
    ):
        link = views.get_by_role("link", name=re.compile(rf"^{re.escape(name)}"))
        expect(link).to_contain_text("1")
        link.click()
        rows = page.locator("#queue-rows tr.queue-row")
        expect(rows).to_have_count(1)
        expect(rows).to_contain_text(subject)
    shot(page, "closed-view")

    # A lead saves a view for the team; it is listed and reopens with its filters.
    page.get_by_text("Save this view").click()
    page.get_by_label("Name").fill("Recently closed")
    page.get_by_label("Who sees it").select_option(label="Everyone in Technical Support")
    page.get_by_role("button", name="Save view").click()
    expect(page.locator(".flash-success")).to_contain_text("Recently closed")
    expect(views.get_by_role("link", name=re.compile("Recently closed"))).to_have_attribute(
        "aria-current", "page"
    )


def test_no_desk_page_scrolls_sideways_on_a_phone(page: Page, live_server, desk):
    support = desk["support"]
    ticket = factories.ticket(
        team=support,
        subject="A rather long subject line that keeps going to test how the page wraps it on a phone",
    )
    services.ticket_assign(ticket=ticket, assignee=desk["lead"])
    factories.ticket(team=support, subject="Nobody has this one yet, and its subject is long as well")
    # A solved ticket, so the metrics page draws its charts rather than empty states.
    services.ticket_change_status(ticket=factories.ticket(team=support), status=Status.SOLVED)
    page.set_viewport_size(PHONE)
    log_in(page, live_server, desk["lead"])
    for name, path in (
        ("queue", "/desk/"),
        ("all", "/desk/?view=all"),
        ("ticket", f"/desk/tickets/{ticket.pk}/"),
        ("notifications", "/desk/notifications/"),
        ("board", "/desk/team/"),
        ("metrics", "/desk/metrics/"),
        ("health", "/desk/health/"),
        ("profile", "/desk/profile/"),
        ("customer", f"/desk/customers/{ticket.customer_id}/"),
    ):
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        shot(page, f"phone-{name}")
        assert overflow <= 0, f"{path} scrolls {overflow}px sideways at 390 px"
        if name == "board":  # a lead reads every agent's SLA columns without scrolling inside the card
            inner = page.evaluate(
                "(() => { const t = document.querySelector('.board .table-wrap');"
                " return t.scrollWidth - t.clientWidth; })()"
            )
            assert inner <= 0, f"the board's agent table scrolls {inner}px sideways at 390 px"
    expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()


def test_an_agent_opens_a_phone_ticket_and_the_customer_receives_the_first_message(
    page: Page, live_server, desk, smtp_server
):
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, desk["agent"])
    page.get_by_role("link", name="New ticket").click()
    page.get_by_label("Customer's email").fill("noah@example.com")
    page.get_by_label("Customer's name").fill("Noah Wagner")
    page.get_by_label("How they got in touch").select_option("phone")
    page.get_by_label("Subject").fill("Callback about the sync problem")
    page.get_by_label("First message to the customer").fill(
        "Hi Noah, as promised on the phone: here are the steps."
    )
    page.get_by_role("button", name="Open ticket and send").click()
    expect(page.locator(".flash-success")).to_contain_text("first message is on its way")
    shot(page, "desk-made-ticket")
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.assignee) == ("phone", desk["agent"])
    [first] = ticket.messages.filter(delivery_status=Message.DeliveryStatus.QUEUED)
    assert tickets_deliver_outbound(OutboundDelivery.objects.get(message=first).pk) == "sent"
    [raw] = smtp_server.messages
    sent = email.message_from_bytes(raw, policy=policy.default)
    assert sent["To"].addresses[0].addr_spec == "noah@example.com"
    assert "here are the steps" in sent.get_body(("plain",)).get_content()


def test_search_finds_a_ticket_by_number_surname_and_email_and_the_profile_lists_both_channels(
    page: Page, live_server, desk
):
    support = desk["support"]
    noah = factories.CustomerFactory(name="Noah Wagner", email="noah@example.com", phone="+4532123456")
    invoice = factories.ticket(team=support, customer=noah, subject="Invoice sent twice")
    call = factories.ticket(team=support, customer=noah, subject="Called about the delivery", channel="phone")
    factories.ticket(team=support, subject="Printer jam on floor 3")
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server, desk["agent"])
    page.goto(f"{live_server.url}/desk/?view=all")
    rows = page.locator("#queue-rows tr.queue-row")
    expect(rows).to_have_count(3)
    for query, subjects in (
        (invoice.reference, [invoice.subject]),
        (invoice.reference.removeprefix("HD-"), [invoice.subject]),
        ("Wagner", [call.subject, invoice.subject]),
        ("noah@example.com", [call.subject, invoice.subject]),
    ):
        search = page.get_by_role("searchbox", name="Search")
        search.fill(query)
        search.press("Enter")
        expect(rows).to_have_count(len(subjects))
        for subject in subjects:
            expect(rows.filter(has_text=subject)).to_have_count(1)
    shot(page, "search-by-email")

    page.get_by_role("link", name=invoice.subject).click()
    page.get_by_role("link", name="Noah Wagner").click()
    expect(page.get_by_role("heading", name="Noah Wagner")).to_be_visible()
    tickets = page.get_by_role("table").locator("tbody tr")
    expect(tickets).to_have_count(2)
    expect(tickets.filter(has_text=invoice.reference)).to_contain_text("Email")
    expect(tickets.filter(has_text=call.reference)).to_contain_text("Phone")
    expect(page.get_by_role("region", name="Contact details")).to_contain_text("+4532123456")
    shot(page, "customer-profile")
