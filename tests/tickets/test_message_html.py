"""Message HTML is sanitised once, when the services store it, and inline images point at their parts."""

from unittest import mock

import nh3
import pytest

from tests import factories
from tickets import services
from tickets.email.inbound import inbound_message_process, inbound_message_store
from tickets.models import InboundMessage, Message, Ticket

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
