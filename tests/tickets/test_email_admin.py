"""Admin for mailboxes, inbound messages (quarantine and retry) and participants."""

import pytest
from django.urls import reverse

from tests import factories
from tickets.email.inbound import inbound_message_process, inbound_message_store
from tickets.models import InboundMessage, Mailbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("lead", "lead@helpdesk.test", "pass-word-123")
    client.force_login(user)
    return client


@pytest.fixture
def quarantined():
    return inbound_message_process(
        inbound=inbound_message_store(raw=b"not mail", source=InboundMessage.Source.FILE, enqueue=False)
    )


@pytest.mark.parametrize("model", ["mailbox", "inboundmessage", "ticketparticipant"])
def test_email_models_have_working_admin_lists(admin_client, quarantined, model):
    assert admin_client.get(reverse(f"admin:tickets_{model}_changelist")).status_code == 200


def test_inbound_messages_filter_by_state_and_source_and_show_the_error(admin_client, quarantined):
    url = reverse("admin:tickets_inboundmessage_changelist")

    response = admin_client.get(url, {"state": "quarantined", "source": "file"})

    assert response.status_code == 200
    assert "not an email" in response.text
    assert "not an email" not in admin_client.get(url, {"state": "processed"}).text
    detail = admin_client.get(reverse("admin:tickets_inboundmessage_change", args=[quarantined.pk]))
    assert detail.status_code == 200 and "not mail" in detail.text


def test_retry_action_requeues_a_quarantined_message(
    admin_client, quarantined, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse("admin:tickets_inboundmessage_changelist"),
            {"action": "action_retry", "_selected_action": [quarantined.pk]},
            follow=True,
        )

    assert "queued for processing again" in response.text
    quarantined.refresh_from_db()
    assert quarantined.state == InboundMessage.State.STORED
    assert len(callbacks) == 1


def test_mailbox_can_be_added_in_the_admin(admin_client, team):
    response = admin_client.post(
        reverse("admin:tickets_mailbox_add"),
        {
            "name": "Support",
            "host": "imap.example.com",
            "port": 993,
            "tls_mode": "ssl",
            "username": "support@example.com",
            "password": "app-password",
            "folder": "INBOX",
            "team": team.pk,
            "addresses": '["support@example.com"]',
            "processed_action": "mark_seen",
            "processed_folder": "Processed",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    assert Mailbox.objects.get().addresses == ["support@example.com"]


def test_failed_delivery_is_visible_in_the_message_list(admin_client, ticket, agent_user):
    from tickets.models import Message

    message = factories.ticket(customer=ticket.customer).messages.get()
    Message.objects.filter(pk=message.pk).update(
        delivery_status="failed", delivery_error="550 mailbox unavailable"
    )

    response = admin_client.get(reverse("admin:tickets_message_changelist"), {"delivery_status": "failed"})

    assert "550 mailbox unavailable" in response.text
