from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests import factories
from tickets import services
from tickets.models import AuditEntry, Message, Notification, Status, Ticket

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"


@pytest.fixture
def other_team():
    return factories.TeamFactory(name="Other team")


@pytest.fixture
def other_ticket(other_team):
    return factories.ticket(team=other_team, subject="Secret of another team")


def test_anonymous_requests_are_refused_with_401(api_client, ticket):
    response = api_client.get(TICKETS)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_users_who_are_not_agents_are_refused_with_403(as_user):
    response = as_user(factories.UserFactory()).get(TICKETS)
    assert response.status_code == 403
    assert "agents" in response.json()["detail"]


def test_agent_lists_only_the_tickets_of_their_teams(as_user, agent_user, ticket, other_ticket):
    response = as_user(agent_user).get(TICKETS)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [ticket.pk]


def test_admin_lists_all_tickets(as_user, admin_user, ticket, other_ticket):
    response = as_user(admin_user).get(TICKETS)
    assert {row["id"] for row in response.json()["results"]} == {ticket.pk, other_ticket.pk}


def test_team_lead_sees_the_tickets_of_the_team_they_lead(as_user, other_ticket, other_team):
    lead = factories.UserFactory()
    other_team.lead = lead
    other_team.save()
    factories.AgentFactory(user=lead)
    response = as_user(lead).get(TICKETS)
    assert [row["id"] for row in response.json()["results"]] == [other_ticket.pk]


def test_a_ticket_of_another_team_answers_404_on_every_route(as_user, agent_user, other_ticket):
    client = as_user(agent_user)
    base = f"{TICKETS}{other_ticket.pk}/"
    assert client.get(base).status_code == 404
    assert client.patch(base, {"priority": "high"}).status_code == 404
    assert client.get(f"{base}messages/").status_code == 404
    assert client.post(f"{base}messages/", {"body_text": "hi"}).status_code == 404
    assert client.get(f"{base}audit/").status_code == 404
    assert client.post(f"{base}merge/", {"target": other_ticket.pk}).status_code == 404
    other_ticket.refresh_from_db()
    assert other_ticket.priority == "normal"
    assert other_ticket.messages.count() == 1


def test_retrieve_shows_the_ticket_with_customer_assignee_and_tags(as_user, agent_user, ticket):
    services.ticket_add_tags(ticket=ticket, names=["billing"])
    services.ticket_assign(ticket=ticket, assignee=agent_user)
    body = as_user(agent_user).get(f"{TICKETS}{ticket.pk}/").json()
    assert body["reference"] == ticket.reference
    assert body["customer"]["email"] == ticket.customer.email
    assert body["assignee"]["id"] == agent_user.pk
    assert body["tags"] == ["billing"]
    assert body["status"] == "new"


def test_agent_creates_a_ticket_for_a_new_customer_by_email(as_user, agent_user, team):
    response = as_user(agent_user).post(
        TICKETS,
        {
            "subject": "Cannot log in",
            "customer_email": "new.person@example.com",
            "customer_name": "New Person",
            "team": team.pk,
            "body_text": "Customer called about the login page.",
            "priority": "high",
            "tags": ["login"],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    ticket = Ticket.objects.get(pk=body["id"])
    assert ticket.customer.email == "new.person@example.com"
    assert ticket.opened_by == agent_user
    assert ticket.channel == "api"
    assert body["tags"] == ["login"]
    assert ticket.audit_entries.filter(action=AuditEntry.Action.CREATED).exists()


def test_agent_cannot_open_a_ticket_in_another_team(as_user, agent_user, other_team):
    response = as_user(agent_user).post(
        TICKETS, {"subject": "x", "customer_email": "a@example.com", "team": other_team.pk}
    )
    assert response.status_code == 400
    assert "your own teams" in response.json()["errors"]["team"][0]
    assert not Ticket.objects.exists()


def test_agent_cannot_open_a_ticket_for_a_customer_they_cannot_see(as_user, agent_user, team, other_ticket):
    response = as_user(agent_user).post(
        TICKETS, {"subject": "x", "customer": other_ticket.customer_id, "team": team.pk}
    )
    assert response.status_code == 400
    assert "customer" in response.json()["errors"]


def test_agent_cannot_bring_another_teams_customer_into_view_by_their_email(
    as_user, agent_user, team, other_ticket
):
    other_ticket.customer.notes = "VIP: private arrangement"
    other_ticket.customer.save(update_fields=["notes"])
    client = as_user(agent_user)

    response = client.post(
        TICKETS, {"subject": "x", "customer_email": other_ticket.customer.email.upper(), "team": team.pk}
    )

    assert response.status_code == 400
    assert "another team" in response.json()["errors"]["customer_email"][0]
    assert client.get(f"/api/v1/customers/{other_ticket.customer_id}/").status_code == 404


def test_create_needs_exactly_one_way_to_name_the_customer(as_user, agent_user, team):
    response = as_user(agent_user).post(TICKETS, {"subject": "x", "team": team.pk})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "customer_email" in response.json()["detail"]


def test_patch_changes_status_priority_assignee_and_tags_through_the_services(as_user, agent_user, ticket):
    services.ticket_add_tags(ticket=ticket, names=["old"])
    response = as_user(agent_user).patch(
        f"{TICKETS}{ticket.pk}/",
        {"status": "open", "priority": "urgent", "assignee": agent_user.pk, "tags": ["new", "vip"]},
    )
    assert response.status_code == 200, response.json()
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == ("open", "urgent", agent_user)
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["new", "vip"]
    fields = set(ticket.audit_entries.values_list("field", flat=True))
    assert {"status", "priority", "assignee", "tags"} <= fields


def test_patch_with_a_forbidden_transition_answers_409_and_changes_nothing(as_user, agent_user, ticket):
    response = as_user(agent_user).patch(f"{TICKETS}{ticket.pk}/", {"priority": "high", "status": "closed"})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "transition_not_allowed"
    assert body["detail"].startswith("A new ticket can't be set to Closed. You can set it to Open")
    ticket.refresh_from_db()
    assert ticket.priority == "normal"


def test_patch_on_a_closed_ticket_answers_409(as_user, agent_user, ticket):
    services.ticket_change_status(ticket=ticket, status=Status.SOLVED)
    services.ticket_change_status(ticket=ticket, status=Status.CLOSED)
    response = as_user(agent_user).patch(f"{TICKETS}{ticket.pk}/", {"priority": "high"})
    assert response.status_code == 409
    assert response.json()["code"] == "ticket_closed"


def test_assigning_someone_outside_the_team_answers_400(as_user, agent_user, ticket, other_team):
    outsider = factories.AgentFactory(teams=[other_team]).user
    response = as_user(agent_user).patch(f"{TICKETS}{ticket.pk}/", {"assignee": outsider.pk})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_assignment"


def test_patch_refuses_unknown_values_with_field_errors(as_user, agent_user, ticket):
    response = as_user(agent_user).patch(f"{TICKETS}{ticket.pk}/", {"status": "exploded", "tags": "x"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"status", "tags"}


def test_merge_moves_messages_and_closes_the_source(as_user, agent_user, team, customer):
    source = factories.ticket(team=team, customer=customer)
    target = factories.ticket(team=team, customer=customer)
    response = as_user(agent_user).post(f"{TICKETS}{source.pk}/merge/", {"target": target.pk})
    assert response.status_code == 200
    assert response.json()["id"] == target.pk
    source.refresh_from_db()
    assert source.status == Status.CLOSED
    assert source.merged_into == target
    assert target.messages.count() == 2


def test_merge_into_an_invisible_ticket_answers_404(as_user, agent_user, ticket, other_ticket):
    response = as_user(agent_user).post(f"{TICKETS}{ticket.pk}/merge/", {"target": other_ticket.pk})
    assert response.status_code == 404
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_merge_into_itself_answers_400(as_user, agent_user, ticket):
    response = as_user(agent_user).post(f"{TICKETS}{ticket.pk}/merge/", {"target": ticket.pk})
    assert response.status_code == 400
    assert response.json()["code"] == "merge_refused"


def test_messages_list_oldest_first_with_attachments(as_user, agent_user, ticket):
    services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="Here is the manual",
        attachments=[services.AttachmentInput(filename="manual.txt", content=b"read me")],
        now=timezone.now() + timedelta(minutes=1),
    )
    body = as_user(agent_user).get(f"{TICKETS}{ticket.pk}/messages/").json()
    assert [m["author_role"] for m in body["results"]] == ["customer", "agent"]
    attachment = body["results"][1]["attachments"][0]
    assert attachment["filename"] == "manual.txt"
    assert attachment["download_url"] == f"/api/v1/attachments/{attachment['id']}/download/"


def test_messages_filter_by_visibility(as_user, agent_user, ticket):
    services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="internal",
        visibility="internal",
    )
    body = as_user(agent_user).get(f"{TICKETS}{ticket.pk}/messages/?visibility=internal").json()
    assert [m["body_text"] for m in body["results"]] == ["internal"]


def test_agent_posts_a_public_reply_with_attachments_as_multipart(as_user, agent_user, ticket):
    response = as_user(agent_user).post(
        f"{TICKETS}{ticket.pk}/messages/",
        {
            "body_text": "See the attached log.",
            "new_status": "pending",
            "attachments": [
                SimpleUploadedFile("log.txt", b"line 1\n", content_type="text/plain"),
                SimpleUploadedFile("shot.png", b"\x89PNG", content_type="image/png"),
            ],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["author_role"] == "agent"
    assert [a["filename"] for a in body["attachments"]] == ["log.txt", "shot.png"]
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING
    assert ticket.metrics.agent_public_replies == 1


def test_agent_posts_an_internal_note_as_json(as_user, agent_user, ticket):
    response = as_user(agent_user).post(
        f"{TICKETS}{ticket.pk}/messages/", {"body_text": "Customer is a VIP", "visibility": "internal"}
    )
    assert response.status_code == 201
    ticket.refresh_from_db()
    assert ticket.first_response_at is None


def test_an_empty_message_answers_400(as_user, agent_user, ticket):
    response = as_user(agent_user).post(f"{TICKETS}{ticket.pk}/messages/", {"body_text": "  "})
    assert response.status_code == 400
    assert "text or at least one attachment" in response.json()["detail"]


def test_a_too_large_attachment_is_refused(as_user, agent_user, ticket, settings):
    settings.HELPDESK_API_MAX_ATTACHMENT_BYTES = 10
    response = as_user(agent_user).post(
        f"{TICKETS}{ticket.pk}/messages/",
        {"body_text": "x", "attachments": [SimpleUploadedFile("big.bin", b"x" * 11)]},
        format="multipart",
    )
    assert response.status_code == 400
    assert "at most 10 bytes" in response.json()["errors"]["attachments"][0]
    assert ticket.messages.count() == 1


def test_reply_on_a_closed_ticket_answers_409(as_user, agent_user, ticket):
    services.ticket_change_status(ticket=ticket, status=Status.SOLVED)
    services.ticket_change_status(ticket=ticket, status=Status.CLOSED)
    response = as_user(agent_user).post(f"{TICKETS}{ticket.pk}/messages/", {"body_text": "late"})
    assert response.status_code == 409


def test_attachment_download_is_permission_checked(as_user, agent_user, ticket, other_ticket):
    mine = services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.CUSTOMER,
        body_text="log",
        attachments=[services.AttachmentInput(filename="a.html", content=b"<script>x</script>")],
    ).attachments.get()
    theirs = services.message_add(
        ticket=other_ticket,
        author_role=Message.AuthorRole.CUSTOMER,
        body_text="log",
        attachments=[services.AttachmentInput(filename="b.txt", content=b"secret")],
    ).attachments.get()
    client = as_user(agent_user)
    response = client.get(f"/api/v1/attachments/{mine.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<script>x</script>"
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert client.get(f"/api/v1/attachments/{theirs.pk}/download/").status_code == 404
    assert client.get(f"/api/v1/attachments/{theirs.pk}/").status_code == 404


def test_a_rejected_attachment_has_no_content_to_download(as_user, agent_user, ticket):
    rejected = services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.CUSTOMER,
        body_text="big",
        attachments=[services.AttachmentInput(filename="x.iso", content=b"", rejected_reason="over 25 MB")],
    ).attachments.get()
    response = as_user(agent_user).get(f"/api/v1/attachments/{rejected.pk}/download/")
    assert response.status_code == 404
    assert "over 25 MB" in response.json()["detail"]


def test_audit_trail_lists_the_changes_oldest_first(as_user, agent_user, ticket):
    services.ticket_change_priority(ticket=ticket, priority="high", actor=agent_user)
    body = as_user(agent_user).get(f"{TICKETS}{ticket.pk}/audit/").json()
    assert [e["action"] for e in body["results"]] == ["created", "field_changed"]
    assert body["results"][1]["new_value"] == "high"


def test_notifications_list_mark_read_and_mark_all_read(as_user, agent_user, ticket):
    other = factories.UserFactory()
    # Three kinds: a second notification of one kind on one ticket would update the first.
    mine = [
        services.notification_create(recipient=agent_user, kind=kind, title=f"n{i}", ticket=ticket)
        for i, kind in enumerate(["assignment", "mention", "sla_breach"])
    ]
    services.notification_create(recipient=other, kind="assignment", title="not mine")
    client = as_user(agent_user)
    assert len(client.get("/api/v1/notifications/").json()["results"]) == 3
    response = client.post(f"/api/v1/notifications/{mine[0].pk}/read/")
    assert response.status_code == 200
    assert response.json()["read_at"] is not None
    assert len(client.get("/api/v1/notifications/?unread=true").json()["results"]) == 2
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked_read": 2}
    assert not Notification.objects.filter(recipient=agent_user, read_at__isnull=True).exists()
    assert Notification.objects.get(recipient=other).read_at is None
    not_mine = Notification.objects.get(recipient=other)
    assert client.post(f"/api/v1/notifications/{not_mine.pk}/read/").status_code == 404


@pytest.mark.parametrize("ticket_id", ["-1", "abc", "99999999999999999999999"])
def test_malformed_ticket_ids_answer_a_json_404(as_user, agent_user, ticket_id):
    client = as_user(agent_user)
    for url in (f"{TICKETS}{ticket_id}/", f"{TICKETS}{ticket_id}/messages/", f"{TICKETS}{ticket_id}/audit/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"


def test_agent_transfers_a_ticket_to_another_team_but_cannot_leave_it_teamless(
    as_user, agent_user, ticket, other_team, admin_user
):
    client = as_user(agent_user)
    response = client.patch(f"{TICKETS}{ticket.pk}/", {"team": None}, format="json")
    assert response.status_code == 400
    assert "pick a team" in response.json()["errors"]["team"][0]
    assert client.patch(f"{TICKETS}{ticket.pk}/", {"team": other_team.pk}).status_code == 200
    # Transferred away: the ticket is now another team's, and invisible to the agent.
    assert client.get(f"{TICKETS}{ticket.pk}/").status_code == 404
    assert (
        as_user(admin_user).patch(f"{TICKETS}{ticket.pk}/", {"team": None}, format="json").status_code == 200
    )


def test_tokens_are_managed_in_the_admin(admin_client):
    assert admin_client.get("/admin/authtoken/tokenproxy/").status_code == 200


def test_nul_characters_are_refused_with_400_not_a_database_error(as_user, agent_user, ticket):
    client = as_user(agent_user)
    assert client.get(f"{TICKETS}?q=a%00b").status_code == 400
    response = client.post(f"{TICKETS}{ticket.pk}/messages/", {"body_text": "a\x00b"})
    assert response.status_code == 400
    assert "body_text" in response.json()["errors"]


def test_creating_for_a_known_email_reuses_the_customer_whatever_the_case(
    as_user, agent_user, team, customer
):
    response = as_user(agent_user).post(
        TICKETS, {"subject": "Again", "customer_email": customer.email.upper(), "team": team.pk}
    )
    assert response.status_code == 201
    assert response.json()["customer"]["id"] == customer.pk
