"""End to end in headless Chromium: a lead opens customer health and drills down to the tickets."""

import re

import pytest
from django.utils import timezone

from tests.tickets.test_health import build_health_scenario

pytest.importorskip("playwright", reason="needs Playwright: pip install -r requirements-dev.txt")

from playwright.sync_api import Page, expect

from tests.e2e.test_workspace_e2e import log_in, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_lead_sees_organizations_by_risk_and_drills_down_to_the_tickets(page: Page, live_server):
    scenario = build_health_scenario(now=timezone.now())
    log_in(page, live_server, scenario["lead"])
    page.get_by_role("link", name="Customer health").click()
    expect(page.get_by_role("heading", name="Customer health")).to_be_visible()
    names = page.locator("table.health-table tbody th[scope=row]")
    expect(names).to_have_text(["Burning Inc", "Sliding Ltd", "Calm Co"])
    expect(page.get_by_text("NPS fell from 100 to -50 in 90 days")).to_be_visible()
    shot(page, "customer-health")

    page.get_by_role("link", name="Organization", exact=True).click()  # sort by name
    expect(names).to_have_text(["Burning Inc", "Calm Co", "Sliding Ltd"])

    page.get_by_role("link", name="Burning Inc").click()
    expect(page).to_have_url(re.compile(rf"view=all&organization={scenario['burning'].pk}"))
    expect(page.get_by_role("heading", name=re.compile("All tickets"))).to_be_visible()
    expect(page.locator("tr.queue-row")).to_have_count(6)
    shot(page, "customer-health-drill-down")
