"""What a warning or breach tells people: in-app notifications (emailed by the notification service),
the integrator webhooks `sla.warning`/`sla.breach`, and escalation actions on the ticket."""

import logging
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from sla.models import (
    Policy,
    SlaClock,
)
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
from tickets.webhooks.services import ticket_payload as webhook_ticket_payload
from tickets.webhooks.services import webhooks_emit

logger = logging.getLogger(__name__)

ACTOR_LABEL = "SLA"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _local(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else "—"


def _emit_webhook(event: str, clock: SlaClock, ticket: Ticket, now: datetime, **extra: object) -> None:
    """`sla.warning` / `sla.breach` for integrators, in the transition's transaction (docs/webhooks.md)."""
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
    webhooks_emit(event, {**data, **extra}, team=ticket.team_id, now=now)


def _notify_breach(
    clock: SlaClock, now: datetime, *, detected_by: str, live: bool, replay: bool = False
) -> None:
    """Audit a breach and tell the lead (or assignee); a replay of old history (`replay`) is audited only:
    nobody needs to hear today about a target missed weeks ago."""
    ticket = Ticket.objects.select_related("team__lead", "assignee").get(pk=clock.ticket_id)
    if live:
        _emit_webhook(WebhookEvent.SLA_BREACH, clock, ticket, now, detected_by=detected_by)
    recipient = ticket.team.lead if ticket.team and ticket.team.lead_id else ticket.assignee
    ticket_services.audit_record(
        ticket=ticket,
        action=AuditEntry.Action.SLA,
        now=now,
        actor_label=ACTOR_LABEL,
        field=f"sla_{clock.metric}",
        new_value="breached",
        details={"clock": clock.pk, "breached_at": _iso(clock.breached_at)},
    )
    if recipient is None or replay:
        return
    metric = clock.get_metric_display().lower()
    _notify(
        recipient=recipient,
        kind=Notification.Kind.SLA_BREACH,
        clock=clock,
        title=f"{ticket.reference}: {metric} target breached",
        body=f"{ticket.subject}\nThe {metric} target was due at {_local(clock.breached_at)}.",
        dedupe_key=f"sla-breach:{clock.pk}",
        now=now,
        live=live,
    )


def _notify(
    *,
    recipient: AbstractBaseUser,
    kind: str,
    clock: SlaClock,
    title: str,
    body: str,
    dedupe_key: str,
    now: datetime,
    live: bool,
) -> None:
    """In-app notification, emailed on commit by `notification_create`; history (`live=False`) is stamped
    emailed and never sent."""
    ticket_services.notification_create(
        recipient=recipient,
        kind=kind,
        title=title,
        body=body,
        ticket=Ticket(pk=clock.ticket_id),
        dedupe_key=dedupe_key,
        now=now,
        emailed_at=None if live else now,
    )


def _escalate(clock: SlaClock, policy: Policy, now: datetime, live: bool = True) -> None:
    """Run the policy's breach actions through the ticket services; each is audited, failures too."""
    label = f"SLA escalation ({policy.name})"
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
                    ticket=t, assignee=lead, actor_label=label, now=now, email_notification=live
                ),
            )
        )
    if policy.escalate_reassign == Policy.Reassign.ESCALATION_TEAM and policy.escalation_team_id:
        team = Team.objects.get(pk=policy.escalation_team_id)
        actions.append(
            (
                "move to escalation team",
                lambda t: ticket_services.ticket_assign(
                    ticket=t, team=team, actor_label=label, now=now, email_notification=live
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
