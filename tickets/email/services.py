"""Opening a ticket from a new inbound email in one pass.

The general services (`ticket_create`, then `ticket_route` with its `ticket_change_priority` and
`ticket_assign`, then the acknowledgement through `message_add`) each lock and re-read the ticket they
were just handed, in a savepoint of their own, and write one row at a time. A new email ticket needs none
of that: nobody else can see it before the transaction commits. `email_ticket_open` decides routing and
assignment first (the same `route_plan` and `route_assignee` the other channels use), then writes the
ticket in its final state, its metrics row, first message, participants, acknowledgement and outbox row,
the assignee's notification, the audit trail and the webhook rows, most of them in one INSERT each.
The audit entries, webhook events, notifications and SLA announcement are the ones the general path
writes, in the same order.
"""

from copy import copy
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser

from tickets import hooks, services
from tickets.email.outbound import auto_ack_text
from tickets.intake.routing import route_assignee, route_plan, routed_audit_entry
from tickets.models import (
    AuditEntry,
    Channel,
    Customer,
    Message,
    OutboundDelivery,
    Priority,
    Tag,
    Team,
    Ticket,
    TicketMetrics,
    TicketParticipant,
    WebhookEvent,
)
from tickets.outbox.replies import new_message_id, reply_email
from tickets.outbox.services import QueuedEmail, outbox_emails_enqueue
from tickets.reporting import rollup
from tickets.webhooks.services import WebhookEventInput, ticket_payload, webhooks_emit_many

ARRIVAL = "the team it arrived with"


@dataclass(frozen=True)
class OpenedTicket:
    ticket: Ticket
    message: Message  # the customer's first message
    acknowledgement: Message | None


def email_ticket_open(
    *,
    subject: str,
    customer: Customer,
    team: Team | None,
    received_at_address: str,
    body_text: str,
    body_html: str,
    full_text: str,
    email_message_id: str | None,
    attachments: list[services.AttachmentInput],
    participants: list[TicketParticipant],
    now: datetime,
) -> OpenedTicket:
    """Open, route, assign and acknowledge a ticket for a new customer email; call inside a transaction.

    `team` is the team that received the mail (its address, else the mailbox's team); `participants`
    are unsaved rows for the sender and the other addresses on the mail (their ticket is set here).
    """
    subject = (subject or "").strip()[:250] or "(no subject)"
    draft = Ticket(subject=subject, customer=customer, channel=Channel.EMAIL, team=team, created_at=now)
    plan = route_plan(
        ticket=draft,
        received_at_address=received_at_address,
        arrival_team_reason=ARRIVAL,
        text="\n".join([subject, body_text]),
    )
    rule, label = plan.rule, plan.label
    priority = rule.set_priority if rule is not None and rule.set_priority else Priority.NORMAL
    skills = list(rule.add_required_skills.all()) if rule is not None else []
    tag_names = services.tag_names(rule.add_tags) if rule is not None and rule.add_tags else []
    agent, reason = None, "left unassigned: no rule or default team gives this ticket a team"
    if plan.team is not None:
        agent, reason = route_assignee(team=plan.team, skills=lambda: skills)
    assignee: AbstractBaseUser | None = agent.user if agent is not None else None
    team_moved = plan.team is not None and plan.team.pk != (team.pk if team else None)

    ticket = Ticket.objects.create(
        subject=subject,
        customer=customer,
        channel=Channel.EMAIL,
        priority=priority,
        team=plan.team if plan.team is not None else team,
        assignee=assignee,
        created_at=now,
        updated_at=now,
    )
    ticket.reference = services.ticket_reference(ticket)
    Ticket.objects.filter(pk=ticket.pk).update(reference=ticket.reference)
    TicketMetrics.objects.create(
        ticket=ticket,
        customer_messages=1,
        status_since=now,
        team_stations=int(team is not None) + int(team_moved),
        assignee_stations=int(assignee is not None),
    )
    message = services.message_write(
        ticket=ticket,
        author_role=Message.AuthorRole.CUSTOMER,
        visibility=Message.Visibility.PUBLIC,
        author_user=None,
        author_customer=customer,
        channel=Channel.EMAIL,
        body_text=body_text,
        body_html=body_html,
        full_text=full_text,
        is_automatic=False,
        email_message_id=email_message_id,
        attachments=attachments,
        now=now,
    )
    for participant in participants:
        participant.ticket = ticket
    TicketParticipant.objects.bulk_create(participants)

    # The audit trail and the webhook events of the general path: created as received, then routing's
    # changes one by one (each event carries the ticket as it stood after that change).
    audit = [
        services.audit_entry(
            ticket=ticket,
            action=AuditEntry.Action.CREATED,
            now=now,
            actor_label=f"customer {customer}",
            details={
                "channel": Channel.EMAIL,
                "priority": Priority.NORMAL,
                "team": team.name if team else None,
            },
        )
    ]
    state = copy(ticket)
    state.priority, state.team_id, state.assignee_id = Priority.NORMAL, team.pk if team else None, None
    events = [WebhookEventInput(WebhookEvent.TICKET_CREATED, ticket_payload(state), state.team_id)]

    def changed(field: str, old: object, new: object, audited: tuple | None = None) -> None:
        if field in ("priority", "team", "assignee"):
            setattr(state, "priority" if field == "priority" else f"{field}_id", new)
        events.append(
            WebhookEventInput(
                WebhookEvent.TICKET_UPDATED,
                ticket_payload(state, [{"field": field, "old": old, "new": new}]),
                state.team_id,
            )
        )
        if audited is not None:
            audit.append(
                services.field_change_entry(
                    ticket=ticket, field=field, old=audited[0], new=audited[1], now=now, actor_label=label
                )
            )

    if priority != Priority.NORMAL:
        changed("priority", str(Priority.NORMAL), str(priority), audited=(Priority.NORMAL, priority))
    if tag_names:
        tags = [Tag.objects.get_or_create(name=name)[0] for name in tag_names]
        ticket.tags.add(*tags)
        audit += [
            services.tag_added_entry(ticket=ticket, name=name, now=now, actor_label=label)
            for name in tag_names
        ]
        changed("tags", [], sorted(tag_names))
    if skills:
        ticket.required_skills.add(*skills)
        audit += [
            services.field_change_entry(
                ticket=ticket, field="required_skills", old="", new=skill.name, now=now, actor_label=label
            )
            for skill in skills
        ]
    if team_moved:
        changed("team", team.pk if team else None, plan.team.pk, audited=(team, plan.team))
    if assignee is not None:
        changed("assignee", None, assignee.pk, audited=(None, assignee))
        services.notifications_create(
            [services.assignment_notice(ticket, assignee)], now=now, new_tickets=True
        )
    audit.append(
        routed_audit_entry(
            ticket=ticket,
            plan=plan,
            received_at_address=received_at_address,
            assignee=assignee,
            reason=reason,
            now=now,
        )
    )

    acknowledgement = _acknowledge(ticket=ticket, message=message, participants=participants, now=now)
    if acknowledgement is not None:
        audit.append(
            services.audit_entry(
                ticket=ticket,
                action=AuditEntry.Action.MESSAGE_ADDED,
                now=now,
                actor_label=services.SYSTEM,
                new_value=acknowledgement.get_visibility_display(),
                details={
                    "message_id": acknowledgement.pk,
                    "author_role": Message.AuthorRole.SYSTEM,
                    "automatic": True,
                },
            )
        )
    services.audit_records_add(audit)
    webhooks_emit_many(events, now=now)
    added = [message] if acknowledgement is None else [message, acknowledgement]
    hooks.announce(hooks.TICKET_CHANGED, ticket=ticket, now=now, messages=added)
    rollup.rollup_mark_ticket(ticket, now=now)
    return OpenedTicket(ticket=ticket, message=message, acknowledgement=acknowledgement)


def _acknowledge(
    *, ticket: Ticket, message: Message, participants: list[TicketParticipant], now: datetime
) -> Message | None:
    """The automatic acknowledgement, queued in the outbox threaded onto the customer's message."""
    text = auto_ack_text(ticket)
    if text is None:
        return None
    acknowledgement = Message.objects.create(
        ticket=ticket,
        author_role=Message.AuthorRole.SYSTEM,
        visibility=Message.Visibility.PUBLIC,
        channel=Channel.EMAIL,
        body_text=text,
        full_text=text,
        is_automatic=True,
        email_message_id=new_message_id(ticket),
        delivery_status=Message.DeliveryStatus.QUEUED,
        created_at=now,
    )
    email = reply_email(
        message=acknowledgement,
        ticket=ticket,
        previous=[message.email_message_id] if message.email_message_id else [],
        cc=[participant.email for participant in participants if participant.is_cc],
    )
    outbox_emails_enqueue(
        kind=OutboundDelivery.Kind.MESSAGE,
        emails=[
            QueuedEmail(source_id=acknowledgement.pk, email=email, ticket=ticket, message=acknowledgement)
        ],
        now=now,
    )
    return acknowledgement
