"""The beat sweep: warnings, breaches, notifications and escalations, exactly once."""

import smtplib
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sla import services as sla_services
from sla.models import ClockState, Metric, Policy, SlaClock, SlaEvent
from tests import factories
from tickets import services
from tickets.models import AuditEntry, Notification, OutboundDelivery, Priority, Ticket, WebhookSubscription
from tickets.outbox.services import delivery_attempt
from tickets.tasks import tickets_deliver_outbound

MINUTE = 60
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

TARGETS = {
    (Priority.NORMAL, Metric.FIRST_RESPONSE): 60 * MINUTE,
    (Priority.NORMAL, Metric.RESOLUTION): 100 * MINUTE,
    (Priority.HIGH, Metric.FIRST_RESPONSE): 30 * MINUTE,
    (Priority.HIGH, Metric.RESOLUTION): 50 * MINUTE,
}


@pytest.fixture
def lead(team):
    lead = factories.AgentFactory(teams=[team]).user
    team.lead = lead
    team.save()
    return lead


@pytest.fixture
def policy(db):
    return factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets=TARGETS,
        warn_percent=80,
        escalate_raise_priority=True,
        escalate_reassign=Policy.Reassign.TEAM_LEAD,
        escalate_add_tag="sla-breached",
    )


def email_notification(notification: Notification) -> str:
    """Run the outbox delivery of the notification's email, as a worker would."""
    delivery = OutboundDelivery.objects.get(
        kind=OutboundDelivery.Kind.NOTIFICATION, source_id=notification.pk
    )
    return tickets_deliver_outbound(delivery.pk)


def new_ticket(team, agent=None, minutes=0) -> Ticket:
    return factories.ticket(team=team, assignee=agent, now=T0 + timedelta(minutes=minutes))


@pytest.mark.django_db
def test_the_assignee_is_warned_in_app_and_by_email_once(
    policy, team, agent_user, lead, django_capture_on_commit_callbacks, email_queue, mailoutbox
):
    ticket = new_ticket(team, agent_user)
    assert sla_services.sla_sweep(now=T0 + timedelta(minutes=47, seconds=59)).warned == 0
    with django_capture_on_commit_callbacks(execute=True):
        result = sla_services.sla_sweep(now=T0 + timedelta(minutes=48))
    assert (result.warned, result.breached) == (1, 0)
    first = SlaClock.objects.get(ticket=ticket, metric=Metric.FIRST_RESPONSE)
    assert first.warned_at == T0 + timedelta(minutes=48)
    notification = Notification.objects.get(kind=Notification.Kind.SLA_WARNING)
    assert (notification.recipient, notification.ticket_id) == (agent_user, ticket.pk)
    assert email_queue == [notification.pk]
    assert email_notification(notification) == OutboundDelivery.State.SENT
    assert email_notification(notification) == "not due"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [agent_user.email]
    assert ticket.reference in mailoutbox[0].subject
    assert sla_services.sla_sweep(now=T0 + timedelta(minutes=49)).warned == 0


@pytest.mark.django_db
def test_a_breach_notifies_the_lead_and_runs_each_escalation_action_once(
    policy, team, agent_user, lead, django_capture_on_commit_callbacks, email_queue, mailoutbox
):
    ticket = new_ticket(team, agent_user)
    with django_capture_on_commit_callbacks(execute=True):
        result = sla_services.sla_sweep(now=T0 + timedelta(minutes=60, seconds=1))
    assert (result.warned, result.breached) == (1, 1)
    first = SlaClock.objects.get(ticket=ticket, metric=Metric.FIRST_RESPONSE)
    assert (first.state, first.breached_at) == (ClockState.BREACHED, T0 + timedelta(minutes=60))
    event = first.events.get(kind=SlaEvent.Kind.BREACHED)
    assert (event.at, event.details["detected_by"]) == (T0 + timedelta(minutes=60), "sweep")
    breach = Notification.objects.get(kind=Notification.Kind.SLA_BREACH)
    assert breach.recipient == lead
    # The queue also holds the escalation's assignment notice; this test is about the SLA emails.
    sla_kinds = {Notification.Kind.SLA_WARNING, Notification.Kind.SLA_BREACH}
    for notification in Notification.objects.filter(pk__in=email_queue, kind__in=sla_kinds):
        email_notification(notification)
    assert sorted(mail.to[0] for mail in mailoutbox) == sorted([agent_user.email, lead.email])

    ticket.refresh_from_db()
    assert (ticket.priority, ticket.assignee) == (Priority.HIGH, lead)
    assert list(ticket.tags.values_list("name", flat=True)) == ["sla-breached"]
    escalations = AuditEntry.objects.filter(ticket=ticket, field="sla_escalation")
    assert sorted(escalations.values_list("new_value", flat=True)) == [
        "add tag",
        "raise priority",
        "reassign to team lead",
    ]
    assert {entry.details["outcome"] for entry in escalations} == {"done"}
    # The raised priority re-targets the resolution clock (50 min from creation): the next sweep breaches it.
    resolution = SlaClock.objects.get(ticket=ticket, metric=Metric.RESOLUTION)
    assert resolution.due_at == T0 + timedelta(minutes=50)
    assert sla_services.sla_sweep(now=T0 + timedelta(minutes=61)).breached == 1
    ticket.refresh_from_db()
    assert ticket.priority == Priority.URGENT
    assert sla_services.sla_sweep(now=T0 + timedelta(minutes=62)) == sla_services.SweepResult(0, 0)
    assert SlaEvent.objects.filter(kind=SlaEvent.Kind.BREACHED).count() == 2


@pytest.mark.django_db
def test_an_escalation_that_cannot_run_is_audited_and_the_others_still_run(policy, team, agent_user):
    outsider = factories.UserFactory()
    team.lead = outsider  # not an agent of the team, so cannot be assigned
    team.save()
    ticket = new_ticket(team, agent_user)
    sla_services.sla_sweep(now=T0 + timedelta(minutes=61))
    outcome = AuditEntry.objects.get(ticket=ticket, field="sla_escalation", new_value="reassign to team lead")
    assert outcome.details["outcome"].startswith("failed: ")
    assert "not an agent" in outcome.details["outcome"]
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.priority) == (agent_user, Priority.HIGH)


@pytest.mark.django_db
def test_a_sweeper_down_for_an_hour_catches_up_with_every_warning_and_breach_exactly_once(team):
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(), targets=TARGETS, warn_percent=80
    )
    tickets = [new_ticket(team, minutes=minutes) for minutes in (0, 7, 13, 21, 34)]
    due = dict(SlaClock.objects.values_list("pk", "due_at"))
    assert len(due) == 10
    later = max(due.values()) + timedelta(hours=1)
    assert sla_services.sla_sweep(now=later, batch_size=3) == sla_services.SweepResult(warned=10, breached=10)
    clocks = SlaClock.objects.filter(ticket__in=tickets)
    assert clocks.filter(state=ClockState.BREACHED).count() == 10
    for clock in clocks:
        assert clock.breached_at == due[clock.pk]  # the true instant, not the catch-up time
        assert clock.warned_at == later
        assert clock.events.filter(kind=SlaEvent.Kind.WARNED).count() == 1
        assert clock.events.filter(kind=SlaEvent.Kind.BREACHED).count() == 1
    assert sla_services.sla_sweep(now=later + timedelta(minutes=1)) == sla_services.SweepResult(0, 0)
    assert SlaEvent.objects.filter(kind=SlaEvent.Kind.BREACHED).count() == 10


@pytest.mark.django_db
def test_a_breached_clock_keeps_its_outcome_when_its_target_disappears(team):
    factories.sla_policy(calendar=sla_services.calendar_create_always_open(), targets=TARGETS)
    ticket = new_ticket(team)
    sla_services.sla_sweep(now=T0 + timedelta(minutes=61))
    services.ticket_change_priority(ticket=ticket, priority=Priority.URGENT, now=T0 + timedelta(minutes=62))
    first = SlaClock.objects.get(ticket=ticket, metric=Metric.FIRST_RESPONSE)
    assert (first.state, first.stopped_at) == (ClockState.BREACHED, T0 + timedelta(minutes=62))
    resolution = SlaClock.objects.get(ticket=ticket, metric=Metric.RESOLUTION)
    assert resolution.state == ClockState.CANCELLED  # no urgent targets in this policy


@pytest.mark.django_db
def test_a_failed_email_is_released_for_the_retry_and_sent_once_it_works(
    policy, team, agent_user, monkeypatch, mailoutbox
):
    new_ticket(team, agent_user)
    sla_services.sla_sweep(now=T0 + timedelta(minutes=50))
    notification = Notification.objects.get(kind=Notification.Kind.SLA_WARNING)

    def refuse(self, *args, **kwargs):
        raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")

    send = EmailMultiAlternatives.send
    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    assert email_notification(notification) == OutboundDelivery.State.PENDING
    notification.refresh_from_db()
    assert notification.emailed_at is None
    monkeypatch.setattr(EmailMultiAlternatives, "send", send)
    delivery = OutboundDelivery.objects.get(
        kind=OutboundDelivery.Kind.NOTIFICATION, source_id=notification.pk
    )
    assert delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at).state == "sent"
    notification.refresh_from_db()
    assert notification.emailed_at is not None
    assert len(mailoutbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweepers_produce_one_warning_one_breach_and_one_notification_per_clock(team, lead):
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(), targets=TARGETS, warn_percent=80
    )
    tickets = [new_ticket(team, minutes=minutes) for minutes in range(8)]
    ids = [ticket.pk for ticket in tickets]
    first_response = SlaClock.objects.filter(ticket_id__in=ids, metric=Metric.FIRST_RESPONSE)
    # Just past every first-response due time, before any resolution one.
    now = max(first_response.values_list("due_at", flat=True)) + timedelta(seconds=1)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def sweeper():
        try:
            barrier.wait(timeout=10)
            results.append(sla_services.sla_sweep(now=now, batch_size=3))
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(result.breached for result in results) == 8
    assert sum(result.warned for result in results) == 8  # resolution warns only at 80 minutes
    assert SlaEvent.objects.filter(kind=SlaEvent.Kind.BREACHED).count() == 8
    assert SlaEvent.objects.filter(kind=SlaEvent.Kind.WARNED).count() == 8
    assert Notification.objects.filter(kind=Notification.Kind.SLA_BREACH, recipient=lead).count() == 8
    assert Notification.objects.filter(kind=Notification.Kind.SLA_WARNING, recipient=lead).count() == 8
    assert set(first_response.values_list("state", flat=True)) == {ClockState.BREACHED}


@pytest.mark.django_db
def test_a_breach_moves_the_ticket_to_the_escalation_team_after_a_minutes_before_warning(team, agent_user):
    escalations = factories.TeamFactory(name="Escalations")
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets=TARGETS,
        warn_minutes_before=15,
        escalate_reassign=Policy.Reassign.ESCALATION_TEAM,
        escalation_team=escalations,
    )
    ticket = new_ticket(team, agent_user)
    first = SlaClock.objects.get(ticket=ticket, metric=Metric.FIRST_RESPONSE)
    assert first.warn_at == T0 + timedelta(minutes=45)
    assert sla_services.sla_sweep(now=T0 + timedelta(minutes=45)) == sla_services.SweepResult(1, 0)
    assert sla_services.sla_sweep(now=T0 + timedelta(minutes=60, seconds=1)) == sla_services.SweepResult(0, 1)
    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee) == (escalations, None)  # the assignee is not in that team
    assert AuditEntry.objects.filter(ticket=ticket, field="team", new_value=escalations.name).exists()


def _sweep_queries(team, agent, count) -> tuple[int, int]:
    """Queries of one sweep that warns and breaches the clocks of `count` new tickets; and how many."""
    for _ in range(count):
        new_ticket(team, agent)
    with CaptureQueriesContext(connection) as queries:
        result = sla_services.sla_sweep(now=T0 + timedelta(hours=3), batch_size=500)
    return len(queries), result.warned + result.breached


@pytest.mark.django_db
def test_the_sweep_takes_a_fixed_number_of_queries_per_batch_whatever_its_size(team, lead, agent_user):
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(), targets=TARGETS, warn_percent=80
    )
    WebhookSubscription.objects.create(
        name="CRM", url="https://crm.example.com/hook", secret="s", events=["sla.warning", "sla.breach"]
    )
    few, few_transitions = _sweep_queries(team, agent_user, 2)
    # SQLite splits a bulk insert into statements of at most 999 parameters (about 39 outbox rows): 15
    # tickets keep every insert in one statement there too. PostgreSQL has no such split at any size.
    many, many_transitions = _sweep_queries(team, agent_user, 15)
    assert (few_transitions, many_transitions) == (8, 60)  # two clocks a ticket, warned and breached
    assert few == many
    # Per pass: candidates, ticket locks, re-read, update, events, audit, subscriptions, deliveries,
    # existing notifications, the unread entries they may update (locked), new notifications, the
    # recipients' email preferences and two savepoint pairs; then the pass's short read.
    # ... including one INSERT that queues the batch's notification emails in the outbox, and one UPDATE
    # that stores the breached tickets' SLA state (sla_tickets_store_state).
    assert many <= 40
