"""End to end in headless Chromium: an HTML email's inline (cid:) image shows in the ticket; a remote
image waits for "Show remote images"."""

import re

import pytest

from tests import factories
from tickets.email.inbound import inbound_message_process, inbound_message_store
from tickets.models import InboundMessage, Ticket

pytest.importorskip("playwright", reason="needs Playwright: pip install -r requirements-dev.txt")

from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_inline_cid_image_of_an_html_email_is_shown_in_the_ticket(page: Page, live_server):
    team = factories.TeamFactory(name="Support")
    agent = factories.AgentFactory(teams=[team]).user
    # An absolute http URL is remote to the browser, even on the live server's own address.
    remote_url = f"{live_server.url}/static/helpdesk/favicon.svg?remote-image"
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    inbound = inbound_message_store(
        raw=factories.html_email_bytes_with_inline_image(
            width=40, height=30, extra_html=f'<img src="{remote_url}" alt="remote logo">'
        ),
        source=InboundMessage.Source.FILE,
        enqueue=False,
    )
    inbound_message_process(inbound=inbound)
    ticket = Ticket.objects.get(subject="Screenshot of the error")
    ticket.team = team
    ticket.save(update_fields=["team"])

    page.goto(f"{live_server.url}/desk/login/")
    page.get_by_label("Username").fill(agent.username)
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=re.compile("My open tickets"))).to_be_visible()
    page.goto(f"{live_server.url}/desk/tickets/{ticket.pk}/")

    image = page.locator(".msg-body img[alt='screenshot']")
    expect(image).to_be_visible()
    assert image.get_attribute("src") == ticket.messages.get().attachments.get().get_absolute_url()
    page.wait_for_function("img => img.complete", arg=image.element_handle())
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [40, 30]
    # Formatting, tables and links survive the one sanitising pass; the script does not.
    expect(page.locator(".msg-body b", has_text="screenshot")).to_be_visible()
    expect(page.locator(".msg-body td", has_text="cell")).to_be_visible()
    expect(page.locator(".msg-body a[href='https://example.test/help']")).to_be_visible()
    expect(page.locator(".msg-body script")).to_have_count(0)

    # The remote image is a placeholder, and was never requested, until the agent asks for it.
    remote = page.locator(".msg-body img[alt='remote logo']")
    assert remote.get_attribute("src").startswith("data:image/svg+xml,")
    assert remote_url not in requested
    page.get_by_role("link", name="Show remote images").click()
    expect(remote).to_have_attribute("src", remote_url)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=remote.element_handle())
    assert remote_url in requested
    expect(page.get_by_role("link", name="Show remote images")).to_have_count(0)
