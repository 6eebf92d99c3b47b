"""End to end in headless Chromium: the SLA explainer, similar tickets and the breach forecast."""

import re
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests import factories
from tests.e2e.test_workspace_e2e import PASSWORD, shot
from tickets.workspace.services import desk_profile_update

pytest.importorskip("playwright", reason="needs Playwright: pip install -r requirements-dev.txt")

from playwright.sync_api import Browser, Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, live_server, user) -> None:
    page.goto(f"{live_server.url}/desk/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=re.compile("My open tickets"))).to_be_visible()


@pytest.fixture
def desk():
    team = factories.TeamFactory(name="Technical Support")
    agent = factories.AgentFactory(teams=[team], user__first_name="Ana").user
    lead = factories.AgentFactory(teams=[team], user__first_name="Lena").user
    team.lead = lead
    team.save(update_fields=["lead"])
    return {"team": team, "agent": agent, "lead": lead}


def test_agent_opens_the_sla_explainer_in_their_own_time_zone(browser: Browser, live_server, desk):
    from sla.models import Metric
    from tickets.models import Priority

    factories.sla_policy(
        calendar=factories.sla_calendar(
            name="Around the clock", time_zone="UTC", weekly_hours={d: [(time(0), time(0))] for d in range(7)}
        ),
        targets={(Priority.NORMAL, Metric.FIRST_RESPONSE): (4 * 3600, False)},
        teams=[desk["team"]],
    )
    created = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    ticket = factories.ticket(team=desk["team"], subject="Explain my clock", now=created)
    # The profile's zone, not the browser's, is the agent's own.
    desk_profile_update(user=desk["agent"], time_zone="America/New_York")
    context = browser.new_context(timezone_id="Asia/Tokyo")
    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, desk["agent"])
    page.goto(f"{live_server.url}/desk/tickets/{ticket.pk}/")

    page.get_by_text("Why these due times?").click()

    panel = page.locator("#sla-explain")
    expect(panel).to_contain_text("Times in America/New_York")
    expect(panel.locator(".explain-policy.is-matched")).to_contain_text("Standard")
    expect(panel.locator(".explain-policy.is-matched")).to_contain_text("Teams: needs Technical Support")
    local_due = (created + timedelta(hours=4)).astimezone(ZoneInfo("America/New_York"))
    expect(panel.locator(".explain-steps")).to_contain_text(f"due {local_due:%a %d %b %Y %H:%M:%S}")
    shot(page, "sla-explainer")
    context.close()


def test_lead_sees_the_breach_forecast_on_the_board_and_applies_a_suggestion(page: Page, live_server, desk):
    from sla.models import Metric
    from tickets import services
    from tickets.models import Priority

    factories.sla_policy(
        calendar=factories.sla_calendar(
            name="Around the clock", time_zone="UTC", weekly_hours={d: [(time(0), time(0))] for d in range(7)}
        ),
        targets={(Priority.NORMAL, Metric.FIRST_RESPONSE): (3600, False)},
        teams=[desk["team"]],
    )
    away = factories.AgentFactory(teams=[desk["team"]], user__first_name="Ben", is_available=False).user
    lead_agent = desk["lead"].agent
    lead_agent.is_available = False
    lead_agent.save()
    now = timezone.now()
    ticket = factories.ticket(team=desk["team"], subject="Ben is away", now=now - timedelta(minutes=10))
    services.ticket_assign(ticket=ticket, assignee=away, now=now - timedelta(minutes=9))
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, desk["lead"])
    page.goto(f"{live_server.url}/desk/team/")

    panel = page.locator(f"#forecast-{desk['team'].pk}")
    expect(panel.locator("td[data-horizon='2']")).to_have_text("1")
    expect(panel.locator(".forecast-breaches")).to_contain_text("Ben is away")
    shot(page, "breach-forecast")
    panel.get_by_role("button", name=re.compile(f"Reassign {ticket.reference} to")).click()
    expect(page.locator(".flash-success")).to_contain_text("updated")
    ticket.refresh_from_db()
    assert ticket.assignee == desk["agent"]


def test_agent_inserts_a_similar_tickets_reply_as_an_editable_draft(page: Page, live_server, desk):
    from tickets import services
    from tickets.models import Message, Status

    carla = factories.CustomerFactory(name="Carla Costa")
    old = factories.ticket(
        team=desk["team"],
        customer=carla,
        subject="Charged twice for invoice 1234",
        body_text="My card shows two identical charges for invoice 1234.",
        now=timezone.now() - timedelta(days=3),
    )
    services.message_add(
        ticket=old,
        author_role=Message.AuthorRole.AGENT,
        author_user=desk["agent"],
        body_text="Hi Carla, I refunded the duplicate charge.",
        new_status=Status.SOLVED,
        now=timezone.now() - timedelta(days=3) + timedelta(hours=1),
    )
    dana = factories.CustomerFactory(name="Dana Dahl")
    ticket = factories.ticket(
        team=desk["team"], customer=dana, subject="Double charge on my invoice", body_text="Charged twice!"
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, desk["agent"])
    page.goto(f"{live_server.url}/desk/tickets/{ticket.pk}/")

    panel = page.locator("#similar")
    expect(panel.locator(".similar-item").first).to_contain_text(old.reference)
    panel.get_by_role("button", name="Insert reply as draft").first.click()

    box = page.get_by_role("textbox", name="Message")
    expect(box).to_have_value("Hi Dana, I refunded the duplicate charge.")
    box.fill("Hi Dana, I refunded the duplicate charge. Sorry for the trouble!")
    shot(page, "similar-tickets")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".msg-agent")).to_contain_text("Sorry for the trouble!")
