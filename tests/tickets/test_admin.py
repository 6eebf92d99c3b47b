from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from tests import factories
from tickets.models import AuditEntry, Message, Status, Ticket, WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("lead", "lead@helpdesk.test", "pass-word-123")
    client.force_login(user)
    client.user = user
    return client


@pytest.mark.parametrize(
    "model",
    [
        "ticket",
        "customer",
        "organization",
        "team",
        "agent",
        "message",
        "attachment",
        "auditentry",
        "notification",
        "skill",
        "tag",
    ],
)
def test_every_model_has_a_working_admin_list(admin_client, ticket, model):
    response = admin_client.get(reverse(f"admin:tickets_{model}_changelist"))
    assert response.status_code == 200


def test_ticket_list_filters_and_search(admin_client, ticket):
    url = reverse("admin:tickets_ticket_changelist")
    for query in (
        "?status__exact=new",
        "?priority__exact=normal",
        f"?team__id__exact={ticket.team_id}",
        "?channel__exact=email",
        "?assignee__isnull=True",
        f"?q={ticket.reference}",
        f"?q={ticket.customer.email}",
    ):
        response = admin_client.get(url + query)
        assert response.status_code == 200, query
        assert ticket.reference in response.content.decode(), query


def test_ticket_change_page_shows_messages_and_audit_trail(admin_client, ticket):
    response = admin_client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    body = response.content.decode()
    assert "Help, my printer is on fire." in body
    assert "audit trail" in body.lower()


def test_saving_the_ticket_form_goes_through_the_services(admin_client, ticket, agent_user):
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    data = {
        "subject": ticket.subject,
        "customer": ticket.customer_id,
        "channel": "email",
        "priority": "high",
        "status": "pending",
        "team": ticket.team_id,
        "assignee": agent_user.pk,
        "tag_names": "vip, refund",
        "body": "We are on it",
        "body_visibility": "public",
        "metrics-TOTAL_FORMS": "1",
        "metrics-INITIAL_FORMS": "1",
        "metrics-MIN_NUM_FORMS": "0",
        "metrics-MAX_NUM_FORMS": "1",
        "metrics-0-ticket": ticket.pk,
        "messages-TOTAL_FORMS": "1",
        "messages-INITIAL_FORMS": "1",
        "messages-MIN_NUM_FORMS": "0",
        "messages-MAX_NUM_FORMS": "1000",
        "audit_entries-TOTAL_FORMS": "0",
        "audit_entries-INITIAL_FORMS": "0",
        "audit_entries-MIN_NUM_FORMS": "0",
        "audit_entries-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.status, ticket.assignee) == ("high", Status.PENDING, agent_user)
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["refund", "vip"]
    assert ticket.messages.filter(author_role=Message.AuthorRole.AGENT, body_text="We are on it").exists()
    fields = set(ticket.audit_entries.values_list("field", flat=True))
    assert {"priority", "status", "assignee", "tags"} <= fields


def change_form_data(ticket, **changes) -> dict:
    data = {
        "subject": ticket.subject,
        "priority": ticket.priority,
        "status": ticket.status,
        "team": ticket.team_id or "",
        "assignee": ticket.assignee_id or "",
        "tag_names": "",
        "body": "",
        "body_visibility": "public",
        # The read-only inlines still post their management forms.
        "metrics-TOTAL_FORMS": "1",
        "metrics-INITIAL_FORMS": "1",
        "metrics-MIN_NUM_FORMS": "0",
        "metrics-MAX_NUM_FORMS": "1",
        "metrics-0-ticket": ticket.pk,
        "messages-TOTAL_FORMS": "0",
        "messages-INITIAL_FORMS": "0",
        "audit_entries-TOTAL_FORMS": "0",
        "audit_entries-INITIAL_FORMS": "0",
    }
    return {**data, **changes}


def test_a_subject_edited_in_the_admin_is_audited_announced_and_dated(admin_client, ticket):
    WebhookSubscription.objects.create(name="CRM", url="https://crm.example.test/hook", secret="s3cret")
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=ticket.updated_at - timedelta(days=1))
    before = Ticket.objects.get(pk=ticket.pk).updated_at
    old_subject = ticket.subject
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])

    response = admin_client.post(url, change_form_data(ticket, subject="  Printer is on fire (2nd floor) "))

    assert response.status_code == 302, response.content.decode()[:3000]
    ticket.refresh_from_db()
    assert ticket.subject == "Printer is on fire (2nd floor)"
    assert ticket.updated_at > before
    entry = ticket.audit_entries.get(field="subject")
    assert (entry.action, entry.actor, entry.old_value, entry.new_value) == (
        AuditEntry.Action.FIELD_CHANGED,
        admin_client.user,
        old_subject,
        "Printer is on fire (2nd floor)",
    )
    delivery = WebhookDelivery.objects.get(event="ticket.updated")
    assert delivery.payload["changes"] == [
        {"field": "subject", "old": old_subject, "new": "Printer is on fire (2nd floor)"}
    ]


def test_a_refusal_by_the_services_in_the_admin_form_saves_nothing_and_says_why(admin_client, ticket):
    outsider = factories.AgentFactory(teams=[factories.TeamFactory()]).user
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])

    response = admin_client.post(
        url, change_form_data(ticket, subject="Changed", body="A reply", assignee=outsider.pk), follow=True
    )

    assert response.status_code == 200
    assert "Nothing was saved" in response.content.decode()
    assert "is not a member of team" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).subject == ticket.subject
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert ticket.messages.count() == 1
    assert not LogEntry.objects.exists()


def test_customer_and_channel_of_an_existing_ticket_are_read_only_in_the_admin(admin_client, ticket):
    other = factories.CustomerFactory()
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    response = admin_client.post(url, change_form_data(ticket, customer=other.pk, channel="chat"))
    assert response.status_code == 302
    assert Ticket.objects.values_list("customer", "channel").get(pk=ticket.pk) == (
        ticket.customer_id,
        "email",
    )


def test_a_refused_transition_in_the_admin_form_shows_the_reason(admin_client, ticket):
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    response = admin_client.post(
        url,
        {
            "subject": ticket.subject,
            "customer": ticket.customer_id,
            "channel": "email",
            "priority": "normal",
            "status": "closed",
        },
    )
    assert response.status_code == 200
    assert "can&#x27;t be set to Closed" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_admin_can_open_a_ticket_for_a_customer(admin_client, customer, team):
    response = admin_client.post(
        reverse("admin:tickets_ticket_add"),
        {
            "subject": "Called in about a refund",
            "customer": customer.pk,
            "channel": "phone",
            "priority": "normal",
            "team": team.pk,
            "body": "Customer called about invoice 42.",
            "body_visibility": "public",
            "metrics-TOTAL_FORMS": "0",
            "metrics-INITIAL_FORMS": "0",
            "metrics-MIN_NUM_FORMS": "0",
            "metrics-MAX_NUM_FORMS": "1",
            "messages-TOTAL_FORMS": "0",
            "messages-INITIAL_FORMS": "0",
            "messages-MIN_NUM_FORMS": "0",
            "messages-MAX_NUM_FORMS": "1000",
            "audit_entries-TOTAL_FORMS": "0",
            "audit_entries-INITIAL_FORMS": "0",
            "audit_entries-MIN_NUM_FORMS": "0",
            "audit_entries-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    ticket = Ticket.objects.get(subject="Called in about a refund")
    assert ticket.opened_by == admin_client.user
    assert ticket.reference


def test_merge_action_merges_into_the_oldest(admin_client, customer, team):
    oldest = factories.ticket(customer=customer, team=team)
    newer = factories.ticket(customer=customer, team=team)
    response = admin_client.post(
        reverse("admin:tickets_ticket_changelist"),
        {
            "action": "action_merge_into_oldest",
            "_selected_action": [oldest.pk, newer.pk],
        },
    )
    assert response.status_code == 302
    newer.refresh_from_db()
    assert newer.merged_into == oldest


def test_solve_action_reports_refusals(admin_client, ticket):
    closed = factories.ticket(customer=ticket.customer, team=ticket.team)
    from tickets import services

    services.ticket_change_status(ticket=closed, status="solved")
    services.ticket_change_status(ticket=closed, status="closed")
    response = admin_client.post(
        reverse("admin:tickets_ticket_changelist"),
        {"action": "action_solve", "_selected_action": [ticket.pk, closed.pk]},
        follow=True,
    )
    body = response.content.decode()
    assert "1 ticket(s) solved" in body
    assert "is closed" in body
