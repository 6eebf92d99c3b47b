"""What a warning or breach tells people: in-app notifications (emailed by the notification service),
the integrator webhooks `sla.warning`/`sla.breach`, and escalation actions on the ticket."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from sla.models import Policy, SlaClock, SlaEvent
from tickets import services as ticket_services
from tickets.exceptions import DomainError
from tickets.models import (
    PRIORITY_RANK,
    AuditEntry,
    Notification,
    Priority,
    Team,
    Ticket,
    WebhookEvent,
)
from tickets.webhooks.services import WebhookEventInput, webhooks_emit_many
from tickets.webhooks.services import ticket_payload as webhook_ticket_payload

logger = logging.getLogger(__name__)

ACTOR_LABEL = "SLA"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _local(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else "—"


@dataclass(frozen=True)
class Transition:
    """A warning or breach that just happened to `clock`, whose ticket (with team, lead and assignee) is
    loaded; `detected_by` says who saw it ("sweep" or "ticket change")."""

    clock: SlaClock
    kind: str  # SlaEvent.Kind.WARNED or SlaEvent.Kind.BREACHED
    detected_by: str


def _webhook_payload(clock: SlaClock, ticket: Ticket, **extra: object) -> dict:
    """`sla.warning` / `sla.breach` for integrators (docs/webhooks.md)."""
    data = webhook_ticket_payload(ticket)
    data["clock"] = {
        "id": clock.pk,
        "metric": clock.metric,
        "sequence": clock.sequence,
        "policy": clock.policy_id,
        "target_seconds": clock.target_seconds,
        "business_hours": clock.business_hours,
        "started_at": clock.started_at,
        "warn_at": clock.warn_at,
        "due_at": clock.due_at,
        "breached_at": clock.breached_at,
    }
    return {**data, **extra}


def announce(transitions: list[Transition], now: datetime, *, live: bool, replay: bool = False) -> None:
    """Audit, webhooks and notifications for a batch of transitions, in the caller's transaction.

    A fixed number of queries whatever the batch size: one insert of audit rows, one of webhook
    deliveries, and a few for notifications (`notifications_create`). A warning goes to the assignee
    (else the team lead), a breach to the team lead (else the assignee). `live=False` (history) and
    `replay` (old history rebuilt by `sla_ticket_replay`): audited only, no webhooks and no
    notifications; nobody needs to hear today about a target missed while nobody was watching.
    """
    audits, events, notifications = [], [], []
    for transition in transitions:
        clock = transition.clock
        ticket = clock.ticket
        metric = clock.get_metric_display().lower()
        lead = ticket.team.lead if ticket.team and ticket.team.lead_id else None
        assignee = ticket.assignee if ticket.assignee_id else None
        if transition.kind == SlaEvent.Kind.WARNED:
            new_value, details = "warned", {"clock": clock.pk, "due_at": _iso(clock.due_at)}
            webhook_event, webhook_extra = WebhookEvent.SLA_WARNING, {}
            recipient = assignee or lead
            kind = Notification.Kind.SLA_WARNING
            title = f"{ticket.reference}: {metric} due {_local(clock.due_at)}"
            body = f"{ticket.subject}\nThe {metric} target is due at {_local(clock.due_at)}."
            dedupe_key = f"sla-warning:{clock.pk}"
        else:
            new_value, details = "breached", {"clock": clock.pk, "breached_at": _iso(clock.breached_at)}
            webhook_event, webhook_extra = WebhookEvent.SLA_BREACH, {"detected_by": transition.detected_by}
            recipient = lead or assignee
            kind = Notification.Kind.SLA_BREACH
            title = f"{ticket.reference}: {metric} target breached"
            body = f"{ticket.subject}\nThe {metric} target was due at {_local(clock.breached_at)}."
            dedupe_key = f"sla-breach:{clock.pk}"
        audits.append(
            ticket_services.audit_entry(
                ticket=ticket,
                action=AuditEntry.Action.SLA,
                now=now,
                actor_label=ACTOR_LABEL,
                field=f"sla_{clock.metric}",
                new_value=new_value,
                details=details,
            )
        )
        if live:  # history tells no integrator: its payload is not even built
            payload = _webhook_payload(clock, ticket, **webhook_extra)
            events.append(WebhookEventInput(webhook_event, payload, ticket.team_id))
        if recipient is not None and live and not replay:
            notifications.append(
                ticket_services.NotificationInput(
                    recipient=recipient,
                    kind=kind,
                    title=title,
                    body=body,
                    ticket=Ticket(pk=ticket.pk),
                    dedupe_key=dedupe_key,
                )
            )
    ticket_services.audit_records_add(audits)
    webhooks_emit_many(events, now=now)
    ticket_services.notifications_create(notifications, now=now)


def escalate(clock: SlaClock, policy: Policy, now: datetime, *, live: bool = True) -> None:
    """Run the policy's breach actions through the ticket services; each is audited, failures too.

    `live=False` (catching up on history): a reassignment tells nobody."""
    if not (policy.escalate_raise_priority or policy.escalate_reassign or policy.escalate_add_tag):
        return  # most policies only notify: no query for them
    label = f"SLA escalation ({policy.name})"
    # Fresh: an earlier breach of the same sweep batch may have escalated this ticket already.
    ticket = Ticket.objects.select_related("team").get(pk=clock.ticket_id)
    actions = []
    if policy.escalate_raise_priority and ticket.priority != Priority.URGENT:
        higher = next(p for p, rank in PRIORITY_RANK.items() if rank == PRIORITY_RANK[ticket.priority] + 1)
        actions.append(
            (
                "raise priority",
                lambda t: ticket_services.ticket_change_priority(
                    ticket=t, priority=higher, actor_label=label, now=now
                ),
            )
        )
    if policy.escalate_reassign == Policy.Reassign.TEAM_LEAD and ticket.team and ticket.team.lead_id:
        lead = ticket.team.lead
        actions.append(
            (
                "reassign to team lead",
                lambda t: ticket_services.ticket_assign(
                    ticket=t, assignee=lead, actor_label=label, now=now, notify=live
                ),
            )
        )
    if policy.escalate_reassign == Policy.Reassign.ESCALATION_TEAM and policy.escalation_team_id:
        team = Team.objects.get(pk=policy.escalation_team_id)
        actions.append(
            (
                "move to escalation team",
                lambda t: ticket_services.ticket_assign(
                    ticket=t, team=team, actor_label=label, now=now, notify=live
                ),
            )
        )
    if policy.escalate_add_tag:
        actions.append(
            (
                "add tag",
                lambda t: ticket_services.ticket_add_tags(
                    ticket=t, names=[policy.escalate_add_tag], actor_label=label, now=now
                ),
            )
        )
    for name, action in actions:
        try:
            ticket = action(ticket)
            outcome = "done"
        except DomainError as error:
            outcome = f"failed: {error}"
            logger.warning("SLA escalation %r on ticket %s failed: %s", name, ticket.pk, error)
        ticket_services.audit_record(
            ticket=ticket,
            action=AuditEntry.Action.SLA,
            now=now,
            actor_label=label,
            field="sla_escalation",
            new_value=name,
            details={"clock": clock.pk, "outcome": outcome},
        )
