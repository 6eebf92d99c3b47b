from datetime import timedelta

import pytest
from django.utils import timezone

from tests import factories
from tickets import services
from tickets.exceptions import InvalidAssignmentError, MergeError, TicketClosedError
from tickets.models import AuditEntry, Message, Notification, Status, Ticket
from tickets.transitions import TransitionError

pytestmark = pytest.mark.django_db


def customer_says(ticket, text="More details", **kwargs):
    return services.message_add(
        ticket=ticket, author_role=Message.AuthorRole.CUSTOMER, body_text=text, **kwargs
    )


def agent_says(ticket, agent, text="We are on it", **kwargs):
    return services.message_add(
        ticket=ticket, author_role=Message.AuthorRole.AGENT, author_user=agent, body_text=text, **kwargs
    )


def test_creating_a_ticket_gives_a_reference_a_first_message_and_an_audit_entry(customer, team):
    ticket = factories.ticket(customer=customer, team=team, tags=["Billing", "billing", "vip"])
    assert ticket.reference == f"HD-{1000 + ticket.pk}"
    assert ticket.status == Status.NEW
    message = ticket.messages.get()
    assert message.author_role == Message.AuthorRole.CUSTOMER
    assert message.author_customer == customer
    assert ticket.audit_entries.filter(action=AuditEntry.Action.CREATED).exists()
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["billing", "vip"]
    assert ticket.metrics.customer_messages == 1


def test_message_html_is_sanitised(ticket):
    message = customer_says(ticket, body_html='<p onclick="x()">hi<script>alert(1)</script></p>')
    assert message.body_html == "<p>hi</p>"


def test_first_public_agent_reply_sets_first_response_and_opens_a_new_ticket(ticket, agent_user):
    start = ticket.created_at
    agent_says(ticket, agent_user, visibility=Message.Visibility.INTERNAL, now=start + timedelta(minutes=5))
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert ticket.status == Status.NEW
    agent_says(ticket, agent_user, now=start + timedelta(minutes=30))
    ticket.refresh_from_db()
    assert ticket.first_response_at == start + timedelta(minutes=30)
    assert ticket.status == Status.OPEN
    assert ticket.metrics.first_response_seconds == 1800
    assert ticket.metrics.agent_public_replies == 1


def test_automatic_messages_do_not_count_as_a_first_response(ticket):
    services.message_add(
        ticket=ticket, author_role=Message.AuthorRole.SYSTEM, body_text="We got your mail", is_automatic=True
    )
    ticket.refresh_from_db()
    assert ticket.first_response_at is None


def test_agent_opened_ticket_is_first_replied_to_by_the_agents_next_public_comment(
    customer, team, agent_user
):
    # Zendesk's rule: the opening comment of an agent-created ticket is not a reply.
    start = timezone.now() - timedelta(hours=3)
    ticket = factories.ticket(customer=customer, team=team, opened_by=agent_user, now=start)
    assert ticket.messages.get().author_role == Message.AuthorRole.AGENT
    ticket.refresh_from_db()
    assert (ticket.first_response_at, ticket.metrics.agent_public_replies) == (None, 0)
    customer_says(ticket, now=start + timedelta(hours=1))
    agent_says(ticket, agent_user, now=start + timedelta(hours=1, minutes=20))
    ticket.refresh_from_db()
    assert ticket.first_response_at == start + timedelta(hours=1, minutes=20)
    assert ticket.metrics.first_response_seconds == 80 * 60
    assert ticket.metrics.agent_public_replies == 1


@pytest.mark.parametrize("status", [Status.PENDING, Status.SOLVED])
def test_customer_reply_reopens_pending_or_solved_ticket(ticket, status):
    ticket = services.ticket_change_status(ticket=ticket, status=status)
    customer_says(ticket)
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.reopen_count == (1 if status == Status.SOLVED else 0)
    assert ticket.audit_entries.filter(field="status", old_value=status, new_value=Status.OPEN).exists()


def test_customer_reply_leaves_on_hold_ticket_on_hold(ticket):
    ticket = services.ticket_change_status(ticket=ticket, status=Status.ON_HOLD)
    customer_says(ticket)
    ticket.refresh_from_db()
    assert ticket.status == Status.ON_HOLD


def test_reopen_clears_the_resolution_metrics_until_solved_again(ticket):
    solved_at = ticket.created_at + timedelta(hours=2)
    ticket = services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=solved_at)
    assert ticket.metrics.resolution_seconds == 7200
    customer_says(ticket, now=solved_at + timedelta(hours=1))
    ticket.refresh_from_db()
    ticket.metrics.refresh_from_db()
    assert ticket.solved_at is None
    assert ticket.metrics.resolution_seconds is None
    assert ticket.metrics.reopens == 1
    services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=solved_at + timedelta(hours=3))
    ticket.metrics.refresh_from_db()
    assert ticket.metrics.resolution_seconds == 5 * 3600


def test_reply_can_be_submitted_as_solved(ticket, agent_user):
    message = agent_says(ticket, agent_user, new_status=Status.SOLVED)
    assert message.ticket.status == Status.SOLVED
    assert message.ticket.solved_at is not None


def test_refused_status_change_raises_and_changes_nothing(ticket):
    with pytest.raises(TransitionError, match="A new ticket can't be set to Closed"):
        services.ticket_change_status(ticket=ticket, status=Status.CLOSED)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert not ticket.audit_entries.filter(field="status").exists()


def test_every_status_change_is_audited_with_old_and_new_value(ticket, agent_user):
    services.ticket_change_status(ticket=ticket, status=Status.PENDING, actor=agent_user)
    entry = ticket.audit_entries.get(field="status")
    assert (entry.actor, entry.old_value, entry.new_value) == (agent_user, "new", "pending")


def test_closed_tickets_are_immutable(ticket, agent_user):
    ticket = services.ticket_change_status(ticket=ticket, status=Status.SOLVED)
    ticket = services.ticket_change_status(ticket=ticket, status=Status.CLOSED)
    with pytest.raises(TicketClosedError):
        services.ticket_change_priority(ticket=ticket, priority="urgent")
    with pytest.raises(TicketClosedError):
        services.ticket_add_tags(ticket=ticket, names=["x"])
    with pytest.raises(TicketClosedError):
        agent_says(ticket, agent_user)
    with pytest.raises(TicketClosedError, match="is closed"):
        services.ticket_change_status(ticket=ticket, status=Status.OPEN)


def test_customer_message_on_closed_ticket_opens_a_linked_follow_up(ticket):
    ticket = services.ticket_change_status(ticket=ticket, status=Status.SOLVED)
    ticket = services.ticket_change_status(ticket=ticket, status=Status.CLOSED)
    message = customer_says(ticket, "It broke again")
    follow_up = message.ticket
    assert follow_up.pk != ticket.pk
    assert follow_up.follow_up_of == ticket
    assert follow_up.status == Status.NEW
    assert follow_up.customer == ticket.customer
    assert follow_up.messages.get().body_text == "It broke again"
    assert ticket.messages.count() == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert ticket.audit_entries.filter(
        action=AuditEntry.Action.FOLLOW_UP_CREATED, new_value=follow_up.reference
    ).exists()


def test_auto_close_closes_only_tickets_solved_long_enough_ago(customer, team):
    now = timezone.now()
    old = services.ticket_change_status(
        ticket=factories.ticket(customer=customer, team=team),
        status=Status.SOLVED,
        now=now - timedelta(days=5),
    )
    recent = services.ticket_change_status(
        ticket=factories.ticket(customer=customer, team=team),
        status=Status.SOLVED,
        now=now - timedelta(days=3),
    )
    untouched = factories.ticket(customer=customer, team=team)
    assert services.tickets_close_solved(now=now, older_than=timedelta(days=4)) == 1
    assert services.tickets_close_solved(now=now, older_than=timedelta(days=4)) == 0
    statuses = dict(Ticket.objects.values_list("pk", "status"))
    assert statuses == {old.pk: Status.CLOSED, recent.pk: Status.SOLVED, untouched.pk: Status.NEW}
    entry = old.audit_entries.get(field="status", new_value=Status.CLOSED)
    assert entry.actor_label == "auto-close"


def test_auto_close_uses_the_configured_number_of_days(settings, ticket):
    settings.HELPDESK_AUTO_CLOSE_DAYS = 10
    now = timezone.now()
    services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=now - timedelta(days=9))
    assert services.tickets_close_solved(now=now) == 0
    assert services.tickets_close_solved(now=now + timedelta(days=2)) == 1


def test_assignment_requires_an_agent_of_the_team(ticket, team):
    outsider = factories.AgentFactory(teams=[factories.TeamFactory()]).user
    with pytest.raises(InvalidAssignmentError, match="not a member of team"):
        services.ticket_assign(ticket=ticket, assignee=outsider)
    plain_user = factories.UserFactory()
    with pytest.raises(InvalidAssignmentError, match="not an agent"):
        services.ticket_assign(ticket=ticket, assignee=plain_user)


def test_assignment_is_audited_and_notifies_the_assignee(ticket, agent_user):
    lead = factories.UserFactory()
    ticket = services.ticket_assign(ticket=ticket, assignee=agent_user, actor=lead)
    assert ticket.assignee == agent_user
    assert ticket.audit_entries.filter(field="assignee", new_value=str(agent_user)).exists()
    notification = Notification.objects.get(recipient=agent_user)
    assert notification.kind == Notification.Kind.ASSIGNMENT
    assert notification.ticket == ticket


def test_moving_to_another_team_drops_an_assignee_who_is_not_a_member(ticket, agent_user):
    ticket = services.ticket_assign(ticket=ticket, assignee=agent_user)
    other_team = factories.TeamFactory()
    ticket = services.ticket_assign(ticket=ticket, team=other_team)
    assert ticket.team == other_team
    assert ticket.assignee is None


def test_tags_are_added_and_removed_with_audit(ticket):
    services.ticket_add_tags(ticket=ticket, names=["refund", "refund", "Angry Customer"])
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["angry-customer", "refund"]
    services.ticket_remove_tags(ticket=ticket, names=["refund"])
    assert list(ticket.tags.values_list("name", flat=True)) == ["angry-customer"]
    actions = list(ticket.audit_entries.filter(field="tags").values_list("action", "old_value", "new_value"))
    assert actions == [
        ("tag_added", "", "refund"),
        ("tag_added", "", "angry-customer"),
        ("tag_removed", "refund", ""),
    ]


def test_merge_moves_messages_and_audit_and_closes_the_source_with_a_link(customer, team, agent_user):
    target = factories.ticket(customer=customer, team=team, subject="Target")
    source = factories.ticket(customer=customer, team=team, subject="Source", tags=["dup"])
    customer_says(source, "second message on source")
    source_audit_ids = set(source.audit_entries.values_list("pk", flat=True))
    result = services.ticket_merge(source=source, target=target, actor=agent_user)
    source.refresh_from_db()
    assert result == target
    assert source.status == Status.CLOSED
    assert source.merged_into == target
    assert source.messages.count() == 0
    assert target.messages.count() == 3
    assert source_audit_ids <= set(target.audit_entries.values_list("pk", flat=True))
    assert source.audit_entries.get().action == AuditEntry.Action.MERGED_INTO
    merged_from = target.audit_entries.get(action=AuditEntry.Action.MERGED_FROM)
    assert merged_from.new_value == source.reference
    assert list(target.tags.values_list("name", flat=True)) == ["dup"]
    target.metrics.refresh_from_db()
    assert target.metrics.customer_messages == 3


def test_merge_refuses_self_and_closed_tickets(ticket, customer, team):
    with pytest.raises(MergeError, match="itself"):
        services.ticket_merge(source=ticket, target=ticket)
    closed = services.ticket_change_status(
        ticket=factories.ticket(customer=customer, team=team), status="solved"
    )
    closed = services.ticket_change_status(ticket=closed, status="closed")
    with pytest.raises(MergeError, match="closed"):
        services.ticket_merge(source=ticket, target=closed)
    with pytest.raises(MergeError, match="closed"):
        services.ticket_merge(source=closed, target=ticket)


def test_notification_with_dedupe_key_is_created_once(agent_user, ticket):
    first = services.notification_create(
        recipient=agent_user, kind="sla_breach", title="Breach", ticket=ticket, dedupe_key="breach:1"
    )
    second = services.notification_create(
        recipient=agent_user, kind="sla_breach", title="Breach", ticket=ticket, dedupe_key="breach:1"
    )
    assert first is not None
    assert second is None
    assert Notification.objects.filter(recipient=agent_user, dedupe_key="breach:1").count() == 1


def test_solving_an_unassigned_ticket_by_reply_assigns_the_solver(ticket, agent_user):
    services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="Fixed.",
        new_status=Status.SOLVED,
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (Status.SOLVED, agent_user)
    assert ticket.metrics.solved_by == agent_user


def test_solving_by_reply_keeps_an_existing_assignee(ticket, agent_user, team):
    holder = factories.AgentFactory(teams=[team]).user
    services.ticket_assign(ticket=ticket, assignee=holder)
    services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="Fixed.",
        new_status=Status.SOLVED,
    )
    ticket.refresh_from_db()
    assert ticket.assignee == holder
