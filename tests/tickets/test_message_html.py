"""Message HTML is sanitised once, when the services store it, and inline images point at their parts."""

from unittest import mock

import nh3
import pytest

from tests import factories
from tickets import services
from tickets.email.inbound import inbound_message_process, inbound_message_store
from tickets.mail.remote_images import PLACEHOLDER_SRC, block_remote_images, is_remote_url
from tickets.models import InboundMessage, Message, Ticket
from tickets.workspace.selectors import ticket_thread

pytestmark = pytest.mark.django_db


def receive(raw: bytes) -> Ticket:
    inbound_message_process(
        inbound=inbound_message_store(raw=raw, source=InboundMessage.Source.FILE, enqueue=False)
    )
    return Ticket.objects.get()


def test_inbound_inline_image_is_stored_with_its_attachment_url_and_sanitised_once():
    with mock.patch("tickets.mail.sanitize.nh3.clean", wraps=nh3.clean) as clean:
        ticket = receive(factories.html_email_bytes_with_inline_image(content_id="shot.1@example.test"))
    assert clean.call_count == 1
    message = ticket.messages.get()
    attachment = message.attachments.get()
    assert attachment.content_id == "shot.1@example.test" and attachment.is_inline
    assert f'<img src="{attachment.get_absolute_url()}" alt="screenshot">' in message.body_html
    assert "<script" not in message.body_html and "alert" not in message.body_html
    assert "<td>cell</td>" in message.body_html


def test_inline_image_is_served_to_the_team_and_hidden_from_others(client):
    ticket = receive(factories.html_email_bytes_with_inline_image())
    team = factories.TeamFactory()
    services.ticket_update(ticket=ticket, team=team, actor=None)
    attachment = ticket.messages.get().attachments.get()

    client.force_login(factories.AgentFactory(teams=[team]).user)
    response = client.get(attachment.get_absolute_url())
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == factories.png_bytes(40, 30)

    client.force_login(factories.AgentFactory(teams=[factories.TeamFactory()]).user)
    assert client.get(attachment.get_absolute_url()).status_code == 404


def test_html_from_the_api_is_sanitised_by_the_same_policy(ticket, agent_user):
    message = services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="hi",
        body_html='<p style="color: red">hi <a href="javascript:alert(1)">x</a></p><table><tr><td>c</table>',
    )
    assert message.body_html == (
        '<p style="color:red">hi <a rel="noopener noreferrer nofollow">x</a></p>'
        "<table><tbody><tr><td>c</td></tr></tbody></table>"
    )


# --- remote images: blocked until the agent asks, per message -------------------------------------

TRACKERS = (
    '<img src="https://track.example.net/open.gif?u=1&amp;m=2" width="1" height="1">'
    '<img src="HTTP://track.example.net/b.png" alt="logo">'
    '<img src="//cdn.example.net/c.png">'
)


@pytest.mark.parametrize(
    ("url", "remote"),
    [
        ("https://x.example/a.png", True),
        ("http://x.example/a.png", True),
        ("  HTTPS://x.example/a.png", True),
        ("//x.example/a.png", True),
        ("\\\\x.example/a.png", True),
        ("/desk/attachments/7/", False),
        ("cid:part1@example", False),
        ("", False),
    ],
)
def test_remote_urls_are_those_a_browser_fetches_from_another_server(url, remote):
    assert is_remote_url(url) is remote


def test_remote_image_sources_move_to_data_remote_src_and_local_ones_stay():
    html = (
        '<p>Hi <img src="/desk/attachments/7/" alt="shot"></p>'
        + TRACKERS
        + '<a href="https://x.example/">x</a>'
    )

    blocked = block_remote_images(html)

    assert blocked.blocked == 3
    assert '<img src="/desk/attachments/7/" alt="shot">' in blocked.html
    assert 'data-remote-src="https://track.example.net/open.gif?u=1&amp;m=2"' in blocked.html
    assert 'data-remote-src="//cdn.example.net/c.png"' in blocked.html
    assert blocked.html.count(f'src="{PLACEHOLDER_SRC}"') == 3
    assert ' src="http' not in blocked.html.lower() and ' src="//' not in blocked.html
    assert '<a href="https://x.example/">x</a>' in blocked.html  # links are not fetched; they stay
    assert block_remote_images("<p>no images</p>").html == "<p>no images</p>"


def test_the_thread_blocks_remote_images_but_keeps_inline_ones_and_the_stored_html():
    ticket = receive(factories.html_email_bytes_with_inline_image(extra_html=TRACKERS))
    stored = ticket.messages.get().body_html
    inline_url = ticket.messages.get().attachments.get().get_absolute_url()

    [message] = ticket_thread(ticket=ticket)

    assert message.remote_images_blocked == 3
    assert f'<img src="{inline_url}" alt="screenshot">' in message.display_html
    assert ' src="https://track' not in message.display_html and ' src="//cdn' not in message.display_html
    assert message.body_html == stored and ' src="https://track.example.net/open.gif' in stored

    [shown] = ticket_thread(ticket=ticket, show_remote_images_of=message.pk)
    assert (shown.display_html, shown.remote_images_blocked) == (stored, 0)


def test_the_ticket_page_shows_remote_images_of_one_message_only_when_asked(client):
    ticket = receive(factories.html_email_bytes_with_inline_image(extra_html=TRACKERS))
    agent = factories.AgentFactory(teams=[factories.TeamFactory()]).user
    services.ticket_update(ticket=ticket, team=agent.agent.teams.get(), actor=None)
    first = ticket.messages.get()
    second = services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.CUSTOMER,
        author_customer=ticket.customer,
        body_text="again",
        body_html='<p>again <img src="https://track.example.net/second.gif"></p>',
    )
    client.force_login(agent)
    page = f"/desk/tickets/{ticket.pk}/"

    blocked = client.get(page).content.decode()
    shown = client.get(page, {"remote_images": first.pk}).content.decode()

    inline_url = first.attachments.get().get_absolute_url()
    assert ' src="https://track.example.net' not in blocked and ' src="//cdn' not in blocked
    assert f'<img src="{inline_url}" alt="screenshot">' in blocked
    assert f'href="?remote_images={first.pk}#message-{first.pk}">Show remote images</a>' in blocked
    assert f'href="?remote_images={second.pk}#message-{second.pk}">Show remote images</a>' in blocked
    assert "3 remote images blocked" in blocked and "1 remote image blocked" in blocked
    # Only the message asked for shows its images; the other stays blocked.
    assert ' src="https://track.example.net/open.gif?u=1&amp;m=2"' in shown
    assert ' src="//cdn.example.net/c.png"' in shown
    assert ' src="https://track.example.net/second.gif"' not in shown
    assert f"?remote_images={first.pk}#" not in shown and f"?remote_images={second.pk}#" in shown
    assert client.get(page, {"remote_images": "x" * 30}).status_code == 200
