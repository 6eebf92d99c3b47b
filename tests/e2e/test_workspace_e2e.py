"""End to end in headless Chromium: an agent works a ticket, a lead watches the board.

Run alone with `pytest -m e2e`. Screenshots land in test-artifacts/ (git-ignored).
"""

import email
import re
from email import policy
from pathlib import Path

import pytest

from tests import factories
from tickets import services
from tickets.models import Agent, Message, OutboundDelivery, Priority, Status, Ticket
from tickets.tasks import tickets_deliver_outbound

pytest.importorskip("playwright", reason="needs Playwright: pip install -r requirements-dev.txt")

from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "pass-word-123"


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"e2e-{name}.png"), full_page=True)


def log_in(page: Page, live_server, user) -> None:
    page.goto(f"{live_server.url}/desk/")
    expect(page).to_have_url(re.compile(r"/desk/login/"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=re.compile("My open tickets"))).to_be_visible()
    # desk.js is deferred: the heading can show before its key handlers are attached.
    page.wait_for_load_state("load")


@pytest.fixture
def setup():
    team = factories.TeamFactory(name="Technical Support")
    agent = factories.AgentFactory(teams=[team], user__first_name="Ana", user__last_name="Lima").user
    lead = factories.AgentFactory(teams=[team], user__first_name="Lena").user
    team.lead = lead
    team.save(update_fields=["lead"])
    customer = factories.CustomerFactory(name="Carla Costa", is_vip=True)
    older = factories.ticket(team=team, customer=customer, subject="Invoice is wrong")
    services.ticket_assign(ticket=older, assignee=agent)
    ticket = factories.ticket(
        team=team,
        customer=customer,
        subject="Printer is on fire",
        body_html="<p>Help, my printer is <b>on fire</b>.</p>",
        priority="high",
    )
    services.ticket_assign(ticket=ticket, assignee=agent)
    factories.ticket(team=team, subject="Nobody has this yet", channel="chat")
    return {"team": team, "agent": agent, "lead": lead, "ticket": ticket, "older": older}


def test_agent_works_a_ticket_from_the_queue_to_solved(page: Page, live_server, setup, smtp_server):
    ticket = setup["ticket"]
    page.set_viewport_size({"width": 1280, "height": 860})
    log_in(page, live_server, setup["agent"])
    rows = page.locator("#queue-rows tr.queue-row")
    expect(rows).to_have_count(2)
    shot(page, "queue")

    # Keyboard: j focuses the first row, j the second, k back up; Enter opens the focused one.
    page.keyboard.press("j")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("j")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("k")
    expect(rows.nth(0)).to_be_focused()
    focused_id = rows.nth(0).get_attribute("data-id")
    page.keyboard.press("?")
    expect(page.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/desk/tickets/{focused_id}/$"))

    page.goto(f"{live_server.url}/desk/tickets/{ticket.pk}/")
    expect(page.get_by_role("heading", name=re.compile("Printer is on fire"))).to_be_visible()
    expect(page.locator(".msg-customer .msg-body b")).to_have_text("on fire")

    page.get_by_role("textbox", name="Message").fill("We are sending a technician.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text(
        f"Reply queued for delivery by email to {ticket.customer.email}"
    )
    expect(page.locator(".msg-agent")).to_contain_text("We are sending a technician.")

    page.get_by_text("Internal note", exact=True).click()
    page.get_by_role("textbox", name="Message").fill("Customer is VIP, escalate if needed.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".msg-note")).to_contain_text("escalate if needed")
    expect(page.locator(".msg-note .msg-kind")).to_have_text("Internal note")
    shot(page, "ticket")

    # In-place edit with htmx: the properties form swaps itself, no page load.
    with page.expect_response(re.compile(rf"/desk/tickets/{ticket.pk}/update/$")):
        page.get_by_label("Priority").select_option("urgent")
    expect(page.locator("#p-priority")).to_have_value("urgent")

    page.get_by_role("textbox", name="Message").fill("The technician fixed it.")
    page.get_by_role("button", name="Send as solved").click()
    expect(page.locator(".flash-success")).to_contain_text("now solved")
    expect(page.locator(".ticket-meta .status")).to_have_text("Solved")

    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED
    assert ticket.priority == "urgent"
    kinds = list(ticket.messages.values_list("author_role", "visibility"))
    assert kinds.count(("agent", Message.Visibility.PUBLIC)) == 2
    assert kinds.count(("agent", Message.Visibility.INTERNAL)) == 1

    # The two public replies were queued for email (the internal note was not); the send task delivers
    # them over real SMTP with the thread's headers, so the customer's answers come back to this ticket.
    queued = list(
        ticket.messages.filter(delivery_status=Message.DeliveryStatus.QUEUED).order_by("created_at", "pk")
    )
    assert [m.body_text for m in queued] == ["We are sending a technician.", "The technician fixed it."]
    for message in queued:
        assert tickets_deliver_outbound(OutboundDelivery.objects.get(message=message).pk) == "sent"
    first, second = (email.message_from_bytes(raw, policy=policy.default) for raw in smtp_server.messages)
    assert first["To"].addresses[0].addr_spec == ticket.customer.email
    assert f"[#{ticket.reference}]" in first["Subject"]
    assert f"+{ticket.reply_token}@" in first["Reply-To"]
    assert second["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in second["References"]
    assert "We are sending a technician." in first.get_body(("plain",)).get_content()


def test_the_header_and_sla_card_follow_a_status_change_without_a_reload(page: Page, live_server, setup):
    ticket = setup["ticket"]
    log_in(page, live_server, setup["agent"])
    page.goto(f"{live_server.url}/desk/tickets/{ticket.pk}/")
    expect(page.get_by_role("button", name="Save properties")).to_be_hidden()  # saves on change
    page.evaluate("window.__sameDocument = true")
    header = page.locator("#ticket-head")
    expect(header.locator(".status")).to_have_text("New")
    # Only the statuses a new ticket may move to are offered.
    assert page.locator("#p-status option").all_text_contents() == [
        "New",
        "Open",
        "Pending",
        "On hold",
        "Solved",
    ]
    with page.expect_response(re.compile(rf"/desk/tickets/{ticket.pk}/update/$")):
        page.get_by_label("Status").select_option("pending")
    expect(header.locator(".status")).to_have_text("Pending")
    expect(page.locator("label[for=p-status] .saved")).to_have_text("✓ Saved")
    expect(page.locator("#p-status option")).to_have_text(["Open", "Pending", "On hold", "Solved"])
    with page.expect_response(re.compile(rf"/desk/tickets/{ticket.pk}/update/$")):
        page.get_by_label("Priority").select_option("urgent")
    expect(header.locator(".priority")).to_have_text("Urgent")
    expect(page.locator("label[for=p-priority] .saved")).to_be_visible()
    expect(page.locator("label[for=p-status] .saved")).to_have_count(0)
    # An agent who is away: the card asks first, and the answer saves.
    away = factories.AgentFactory(teams=[setup["team"]], user__first_name="Bruno", is_available=False).user
    page.reload()
    page.evaluate("window.__sameDocument = true")
    with page.expect_response(re.compile(rf"/desk/tickets/{ticket.pk}/update/$")):
        page.get_by_label("Assignee").select_option(str(away.pk))
    expect(page.locator(".confirm-away")).to_contain_text("Bruno is away")
    expect(header).to_contain_text("Ana Lima")
    with page.expect_response(re.compile(rf"/desk/tickets/{ticket.pk}/update/$")):
        page.get_by_role("button", name="Assign to Bruno").click()
    expect(header).to_contain_text("Bruno")
    expect(page.locator("label[for=p-assignee] .saved")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True  # no page load happened
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == (Status.PENDING, "urgent", away)
    shot(page, "live-header")


def test_an_empty_reply_is_refused_at_the_reply_box_without_leaving_the_ticket_address(
    page: Page, live_server, setup
):
    ticket = setup["ticket"]
    log_in(page, live_server, setup["agent"])
    page.goto(f"{live_server.url}/desk/tickets/{ticket.pk}/")
    page.get_by_role("textbox", name="Message").fill("   ")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#body-error")).to_have_text("Write a message before sending.")
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    expect(page.get_by_role("textbox", name="Message")).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_url(re.compile(rf"/desk/tickets/{ticket.pk}/$"))


def test_queue_refresh_brings_new_tickets_and_keeps_selection_and_focus(page: Page, live_server, setup):
    page.clock.install()
    log_in(page, live_server, setup["agent"])
    rows = page.locator("#queue-rows tr.queue-row")
    expect(rows).to_have_count(2)
    # Each key is handled before the next is pressed (under load, keys can outrun the page's handlers).
    page.keyboard.press("j")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("j")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("x")
    expect(page.locator("#selected-count")).to_have_text("1")
    selected_id = rows.nth(1).get_attribute("data-id")

    services.ticket_assign(
        ticket=factories.ticket(team=setup["team"], subject="Arrived meanwhile"), assignee=setup["agent"]
    )
    with page.expect_response(re.compile(r"/desk/queue/rows/")):
        page.clock.run_for(21_000)
    expect(rows).to_have_count(3)
    expect(page.locator("#queue-rows")).to_contain_text("Arrived meanwhile")
    expect(page.locator(f'#queue-rows tr[data-id="{selected_id}"] input[name="ticket"]')).to_be_checked()
    expect(page.locator(f'#queue-rows tr[data-id="{selected_id}"]')).to_be_focused()
    expect(page.locator("#selected-count")).to_have_text("1")

    # The selection feeds the bulk form: raise its priority.
    page.locator("#b-priority").select_option("urgent")
    page.get_by_role("button", name="Set priority").click()
    expect(page.locator(".flash-success")).to_contain_text("Updated 1 ticket(s)")
    assert Ticket.objects.get(pk=int(selected_id)).priority == "urgent"


def test_collision_notice_shows_a_colleague_viewing_then_typing(browser, page: Page, live_server, setup):
    ticket = setup["ticket"]
    colleague = factories.AgentFactory(teams=[setup["team"]], user__first_name="Bruno").user
    url = f"{live_server.url}/desk/tickets/{ticket.pk}/"
    page.clock.install()
    log_in(page, live_server, setup["agent"])
    page.goto(url)

    other_context = browser.new_context()
    other = other_context.new_page()
    other.clock.install()
    log_in(other, live_server, colleague)
    other.goto(url)
    expect(other.locator("#presence")).to_contain_text("Ana is viewing")

    with page.expect_response(re.compile(r"/presence/$")):
        page.clock.run_for(11_000)
    expect(page.locator("#presence")).to_contain_text("Bruno is viewing")

    other.get_by_role("textbox", name="Message").press_sequentially("Working on it")
    with other.expect_response(re.compile(r"/presence/$")):
        other.clock.run_for(11_000)
    with page.expect_response(re.compile(r"/presence/$")):
        page.clock.run_for(11_000)
    expect(page.locator("#presence")).to_contain_text("Bruno is typing a reply")
    shot(page, "collision")
    other_context.close()


def test_reading_and_replying_work_without_javascript(browser, live_server, setup):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    ticket = setup["ticket"]
    log_in(page, live_server, setup["agent"])
    page.goto(f"{live_server.url}/desk/tickets/{ticket.pk}/")
    expect(page.locator(".msg-customer")).to_contain_text("on fire")
    page.get_by_role("textbox", name="Message").fill("Replied without JavaScript.")
    page.get_by_role("button", name="Send as pending").click()
    expect(page.locator(".flash-success")).to_contain_text("now pending")
    page.get_by_label("Priority").select_option("low")
    page.get_by_role("button", name="Save properties").click()
    expect(page.locator(".flash-success")).to_contain_text("updated")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == (Status.PENDING, "low")
    context.close()


def test_lead_sees_the_board_and_reassigns(page: Page, live_server, setup):
    page.set_viewport_size({"width": 1280, "height": 860})
    log_in(page, live_server, setup["lead"])
    page.get_by_role("link", name="Team board").click()
    expect(page.get_by_role("heading", name="Technical Support")).to_be_visible()
    unassigned = Ticket.objects.get(subject="Nobody has this yet")
    # Ana is away: the board asks before assigning to her.
    Agent.objects.filter(user=setup["agent"]).update(is_available=False)
    page.reload()
    page.get_by_label(f"Assign {unassigned.reference} to").select_option(str(setup["agent"].pk))
    page.locator(".reassign-form").get_by_role("button", name="Assign").click()
    expect(page.get_by_role("heading", name="Ana Lima is away")).to_be_visible()
    unassigned.refresh_from_db()
    assert unassigned.assignee is None
    page.get_by_role("button", name="Assign to Ana Lima").click()
    expect(page.locator(".flash-success")).to_contain_text("updated")
    expect(page).to_have_url(re.compile(r"/desk/team/$"))
    shot(page, "board")
    unassigned.refresh_from_db()
    assert unassigned.assignee == setup["agent"]
    page.get_by_role("link", name="Metrics").click()
    expect(page.locator("svg.chart")).to_have_count(2)
    shot(page, "metrics")


def test_lead_sees_a_breach_on_the_board_and_in_the_breached_view(page: Page, live_server, setup):
    from datetime import time, timedelta

    from django.utils import timezone

    from sla import services as sla_services
    from sla.models import Metric

    # A 30-minute first-response target around the clock; the ticket waits an hour, then the sweep runs.
    factories.sla_policy(
        calendar=factories.sla_calendar(
            name="Around the clock", time_zone="UTC", weekly_hours={d: [(time(0), time(0))] for d in range(7)}
        ),
        targets={(Priority.NORMAL, Metric.FIRST_RESPONSE): (30 * 60, False)},
        teams=[setup["team"]],
    )
    now = timezone.now()
    late = factories.ticket(team=setup["team"], subject="Waiting an hour", now=now - timedelta(hours=1))
    services.ticket_assign(ticket=late, assignee=setup["agent"], now=now - timedelta(minutes=59))
    assert sla_services.sla_sweep(now=now).breached == 1
    log_in(page, live_server, setup["lead"])
    page.goto(f"{live_server.url}/desk/?view=breached")
    expect(page.locator("#queue-rows .sla-breached").first).to_be_visible()
    expect(page.locator("#queue-rows tr")).to_have_count(1)
    expect(page.locator("#queue-rows")).to_contain_text("Waiting an hour")
    page.goto(f"{live_server.url}/desk/team/")
    expect(page.locator(".board-table .count-danger").first).to_be_visible()
