"""Every write to the ticket domain goes through these functions.

Each one runs in a transaction, locks the ticket row it changes (so concurrent writers serialise),
writes the audit trail and keeps the per-ticket metric columns current.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from tickets import hooks, transitions
from tickets.email.addresses import own_addresses
from tickets.exceptions import DomainError, InvalidAssignmentError, MergeError, TicketClosedError
from tickets.mail.classify import is_from_own_address
from tickets.mail.sanitize import sanitize_html
from tickets.mentions import mentioned_usernames
from tickets.models import (
    Agent,
    Attachment,
    AuditEntry,
    Channel,
    Customer,
    Message,
    Notification,
    NotificationPreference,
    OutboundDelivery,
    PhoneCall,
    Priority,
    Status,
    Tag,
    Team,
    Ticket,
    TicketMetrics,
    TicketParticipant,
    WebhookEvent,
    default_emailed_notification_kinds,
)
from tickets.outbox.replies import message_deliver
from tickets.outbox.services import EmailContent, QueuedEmail, outbox_emails_enqueue
from tickets.reporting import rollup
from tickets.selectors import ticket_visibility_q
from tickets.webhooks.services import ticket_payload, webhooks_emit

SYSTEM = "system"


@dataclass(frozen=True)
class AttachmentInput:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    content_id: str = ""
    is_inline: bool = False
    rejected_reason: str = ""


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _actor_label(actor: AbstractBaseUser | None, actor_label: str) -> str:
    label = actor_label or (actor.get_username() if actor is not None else SYSTEM)
    # Labels embed customer names of any length ("customer <name> <email>"); the audit row must still fit.
    limit = AuditEntry._meta.get_field("actor_label").max_length
    return label if len(label) <= limit else label[: limit - 1] + "…"


def audit_record(
    *,
    ticket: Ticket,
    action: str,
    now: datetime,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    field: str = "",
    old_value: object = "",
    new_value: object = "",
    details: dict | None = None,
) -> AuditEntry:
    entry = audit_entry(
        ticket=ticket,
        action=action,
        now=now,
        actor=actor,
        actor_label=actor_label,
        field=field,
        old_value=old_value,
        new_value=new_value,
        details=details,
    )
    entry.save()
    return entry


def audit_records_add(entries: list[AuditEntry]) -> None:
    """Write many audit rows built by `audit_entry` in one statement (the SLA sweep's batches)."""
    AuditEntry.objects.bulk_create(entries)


def audit_entry(
    *,
    ticket: Ticket,
    action: str,
    now: datetime,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    field: str = "",
    old_value: object = "",
    new_value: object = "",
    details: dict | None = None,
) -> AuditEntry:
    """An unsaved audit row; `audit_record` saves one, `audit_records_add` many at once."""
    return AuditEntry(
        ticket=ticket,
        action=action,
        actor=actor,
        actor_label=_actor_label(actor, actor_label),
        field=field,
        old_value="" if old_value is None else str(old_value),
        new_value="" if new_value is None else str(new_value),
        details=details or {},
        created_at=now,
    )


def field_change_entry(
    *,
    ticket: Ticket,
    field: str,
    old: object,
    new: object,
    now: datetime,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    details: dict | None = None,
) -> AuditEntry:
    """The (unsaved) audit row for one field of a ticket changing from `old` to `new` (None is stored
    as '')."""
    return audit_entry(
        ticket=ticket,
        action=AuditEntry.Action.FIELD_CHANGED,
        now=now,
        actor=actor,
        actor_label=actor_label,
        field=field,
        old_value=old,
        new_value=new,
        details=details,
    )


def audit_field_change(
    *,
    ticket: Ticket,
    field: str,
    old: object,
    new: object,
    now: datetime,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    details: dict | None = None,
) -> AuditEntry:
    """Save the audit row of `field_change_entry`."""
    entry = field_change_entry(
        ticket=ticket,
        field=field,
        old=old,
        new=new,
        now=now,
        actor=actor,
        actor_label=actor_label,
        details=details,
    )
    entry.save()
    return entry


def tag_added_entry(
    *, ticket: Ticket, name: str, now: datetime, actor: AbstractBaseUser | None = None, actor_label: str = ""
) -> AuditEntry:
    """The (unsaved) audit row for a tag added to a ticket."""
    return audit_entry(
        ticket=ticket,
        action=AuditEntry.Action.TAG_ADDED,
        now=now,
        actor=actor,
        actor_label=actor_label,
        field="tags",
        new_value=name,
    )


def _lock(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock; callers work on (and return) the fresh copy."""
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _ensure_mutable(ticket: Ticket) -> None:
    if ticket.status == Status.CLOSED:
        raise TicketClosedError(
            f"Ticket {ticket.reference} is closed and cannot be changed; "
            "a new customer message opens a follow-up ticket instead."
        )


def _seconds_between(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def ticket_reference(ticket: Ticket) -> str:
    return f"{settings.HELPDESK_REFERENCE_PREFIX}-{1000 + ticket.pk}"


def _emit_ticket_event(
    ticket: Ticket, *, now: datetime, event: str = WebhookEvent.TICKET_UPDATED, changes: list | None = None
) -> None:
    """Outbound webhook for integrators; rows are written in this transaction, sent after commit."""
    webhooks_emit(event, ticket_payload(ticket, changes), team=ticket.team_id, now=now)


def _change(field: str, old: object, new: object) -> dict:
    return {"field": field, "old": old, "new": new}


def _ticket_changed(ticket: Ticket, now: datetime, message: Message | None = None) -> None:
    """Announce a change that can move SLA clocks; receivers run in this transaction (`tickets.hooks`)."""
    hooks.announce(hooks.TICKET_CHANGED, ticket=ticket, now=now, message=message)
    rollup.rollup_mark_ticket(ticket, now=now)


# --- tickets -------------------------------------------------------------------------------------


@transaction.atomic
def ticket_create(
    *,
    subject: str,
    customer: Customer,
    channel: str = Channel.EMAIL,
    body_text: str = "",
    body_html: str = "",
    full_text: str = "",
    priority: str = Priority.NORMAL,
    team: Team | None = None,
    assignee: AbstractBaseUser | None = None,
    tags: Iterable[str] = (),
    opened_by: AbstractBaseUser | None = None,
    is_auto_generated: bool = False,
    follow_up_of: Ticket | None = None,
    email_message_id: str | None = None,
    attachments: Sequence[AttachmentInput] = (),
    actor_label: str = "",
    now: datetime | None = None,
) -> Ticket:
    """Open a ticket with its first message.

    `opened_by` is the agent who opens the ticket on the customer's behalf: the first message is then
    a public agent message that is not a reply; first reply time runs from creation to the agent's
    next public comment.
    """
    now = _now(now)
    subject = (subject or "").strip()[:250] or "(no subject)"
    if priority not in Priority.values:
        raise DomainError(f"Unknown priority {priority!r}; expected one of {', '.join(Priority.values)}.")
    if channel not in Channel.values:
        raise DomainError(f"Unknown channel {channel!r}; expected one of {', '.join(Channel.values)}.")
    ticket = Ticket.objects.create(
        subject=subject,
        customer=customer,
        channel=channel,
        priority=priority,
        team=team,
        opened_by=opened_by,
        is_auto_generated=is_auto_generated,
        follow_up_of=follow_up_of,
        created_at=now,
        updated_at=now,
    )
    ticket.reference = ticket_reference(ticket)
    ticket.save(update_fields=["reference"])
    has_first_message = bool(body_text or body_html or attachments)
    # The opening comment of an agent-created ticket is not a reply (Zendesk's rule): it counts in
    # neither the replies nor first reply time, which ends at the agent's next public comment.
    TicketMetrics.objects.create(
        ticket=ticket,
        customer_messages=int(has_first_message and opened_by is None),
        status_since=now,
        team_stations=int(team is not None),
    )
    audit_record(
        ticket=ticket,
        action=AuditEntry.Action.CREATED,
        now=now,
        actor=opened_by,
        actor_label=actor_label or ("" if opened_by else f"customer {customer}"),
        details={"channel": channel, "priority": priority, "team": team.name if team else None},
    )
    if follow_up_of is not None:
        audit_record(
            ticket=follow_up_of,
            action=AuditEntry.Action.FOLLOW_UP_CREATED,
            now=now,
            actor_label=SYSTEM,
            new_value=ticket.reference,
        )
    first_message = None
    if has_first_message:
        first_message = message_write(
            ticket=ticket,
            author_role=Message.AuthorRole.AGENT if opened_by else Message.AuthorRole.CUSTOMER,
            visibility=Message.Visibility.PUBLIC,
            author_user=opened_by,
            author_customer=None if opened_by else customer,
            channel=channel,
            body_text=body_text,
            body_html=body_html,
            full_text=full_text,
            is_automatic=False,
            email_message_id=email_message_id,
            attachments=attachments,
            now=now,
        )
        if channel == Channel.EMAIL:
            # An agent who opens an email ticket for a customer starts the conversation by email.
            _deliver(message=first_message, ticket=ticket, now=now)
    if tags:
        ticket = _tags_add(ticket=ticket, names=tags, actor=opened_by, actor_label=actor_label, now=now)
    if assignee is not None:
        ticket, _ = _assign(ticket=ticket, assignee=assignee, actor=opened_by, now=now)
    _emit_ticket_event(ticket, now=now, event=WebhookEvent.TICKET_CREATED)
    _ticket_changed(ticket, now, first_message)
    return ticket


def message_write(
    *,
    ticket: Ticket,
    author_role: str,
    visibility: str,
    author_user: AbstractBaseUser | None,
    author_customer: Customer | None,
    channel: str,
    body_text: str,
    body_html: str,
    full_text: str,
    is_automatic: bool,
    email_message_id: str | None,
    attachments: Sequence[AttachmentInput],
    now: datetime,
) -> Message:
    """Write one message with its attachments (HTML sanitised); the caller locks, audits and announces."""
    # Inline images are pointed at their stored parts, which exist only after the message; without
    # any, the one sanitising pass runs first and the message is written once.
    links_parts = body_html and any(item.content_id and not item.rejected_reason for item in attachments)
    message = Message.objects.create(
        ticket=ticket,
        author_role=author_role,
        visibility=visibility,
        author_user=author_user,
        author_customer=author_customer,
        channel=channel,
        body_text=body_text,
        body_html=sanitize_html(body_html, cid_urls={}) if body_html and not links_parts else "",
        full_text=full_text or body_text,
        is_automatic=is_automatic,
        email_message_id=email_message_id or None,
        created_at=now,
    )
    cid_urls: dict[str, str] = {}
    for item in attachments:
        attachment = Attachment(
            message=message,
            filename=item.filename[:255],
            content_type=item.content_type[:255],
            size=len(item.content),
            content_id=item.content_id[:255],
            is_inline=item.is_inline,
            rejected_reason=item.rejected_reason[:255],
        )
        if not item.rejected_reason:
            attachment.file.save(
                item.filename[:100] or "attachment.bin", ContentFile(item.content), save=False
            )
        attachment.save()
        if attachment.content_id and attachment.file:
            cid_urls[attachment.content_id] = attachment.get_absolute_url()
    if links_parts:
        # The one sanitising pass for every channel; it also points inline images at their stored parts.
        message.body_html = sanitize_html(body_html, cid_urls=cid_urls)
        message.save(update_fields=["body_html"])
    return message


@transaction.atomic
def message_add(
    *,
    ticket: Ticket,
    author_role: str,
    body_text: str,
    body_html: str = "",
    full_text: str = "",
    visibility: str = Message.Visibility.PUBLIC,
    author_user: AbstractBaseUser | None = None,
    author_customer: Customer | None = None,
    channel: str | None = None,
    is_automatic: bool = False,
    email_message_id: str | None = None,
    attachments: Sequence[AttachmentInput] = (),
    new_status: str | None = None,
    deliver: bool = True,
    now: datetime | None = None,
) -> Message:
    """Add a message to a ticket and apply its effects on status and metrics.

    `deliver=False` records a public reply without emailing it: for history imported from elsewhere
    (and the demo data), which the customer already received.

    A customer message on a closed ticket lands on a new follow-up ticket linked to it (the returned
    message's ticket tells which). A customer message reopens a pending or solved ticket. An agent's
    public reply on a new ticket opens it; `new_status` submits the reply as e.g. pending or solved.
    """
    now = _now(now)
    if author_role not in Message.AuthorRole.values:
        raise DomainError(f"Unknown author role {author_role!r}.")
    if visibility not in Message.Visibility.values:
        raise DomainError(f"Unknown visibility {visibility!r}; expected 'public' or 'internal'.")
    if author_role == Message.AuthorRole.CUSTOMER and visibility != Message.Visibility.PUBLIC:
        raise DomainError("Customers cannot write internal notes.")
    ticket = _lock(ticket)
    channel = channel or ticket.channel

    if ticket.status == Status.CLOSED:
        if author_role != Message.AuthorRole.CUSTOMER:
            raise TicketClosedError(f"Ticket {ticket.reference} is closed; it cannot take new messages.")
        follow_up = ticket_create(
            subject=ticket.subject,
            customer=author_customer or ticket.customer,
            channel=channel,
            body_text=body_text,
            body_html=body_html,
            full_text=full_text,
            priority=ticket.priority,
            team=ticket.team,
            follow_up_of=ticket,
            email_message_id=email_message_id,
            attachments=attachments,
            now=now,
        )
        return follow_up.messages.get()

    if author_role == Message.AuthorRole.CUSTOMER and author_customer is None:
        author_customer = ticket.customer
    message = message_write(
        ticket=ticket,
        author_role=author_role,
        visibility=visibility,
        author_user=author_user,
        author_customer=author_customer,
        channel=channel,
        body_text=body_text,
        body_html=body_html,
        full_text=full_text,
        is_automatic=is_automatic,
        email_message_id=email_message_id,
        attachments=attachments,
        now=now,
    )
    if deliver:
        _deliver(message=message, ticket=ticket, now=now)
    audit_record(
        ticket=ticket,
        action=AuditEntry.Action.MESSAGE_ADDED,
        now=now,
        actor=author_user,
        actor_label="" if author_user else (f"customer {author_customer}" if author_customer else SYSTEM),
        new_value=message.get_visibility_display(),
        details={"message_id": message.pk, "author_role": author_role, "automatic": is_automatic},
    )
    actor_label = "" if author_user else f"customer {author_customer}" if author_customer else SYSTEM

    if author_role == Message.AuthorRole.CUSTOMER:
        TicketMetrics.objects.filter(ticket=ticket).update(customer_messages=F("customer_messages") + 1)
        if ticket.status in transitions.REOPENED_BY_CUSTOMER_REPLY:
            ticket = _change_status(
                ticket=ticket, status=Status.OPEN, actor=None, actor_label=actor_label, now=now
            )
    elif message.is_public_agent_reply:
        _record_public_agent_reply(ticket=ticket, message=message, now=now)
        if ticket.status == Status.NEW and new_status is None:
            ticket = _change_status(ticket=ticket, status=Status.OPEN, actor=author_user, now=now)

    if (
        new_status == Status.SOLVED
        and ticket.assignee_id is None
        and author_user is not None
        and Agent.objects.filter(user=author_user, teams=ticket.team_id).exists()
    ):
        # Whoever solves an unassigned ticket gets the credit (metrics' solved_by, the survey's agent).
        ticket, _ = _assign(ticket=ticket, assignee=author_user, actor=author_user, now=now)
    if new_status is not None and new_status != ticket.status:
        ticket = _change_status(
            ticket=ticket, status=new_status, actor=author_user, actor_label=actor_label, now=now
        )
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    _ticket_changed(ticket, now, message)
    if deliver and not is_automatic:  # history (deliver=False) and automatic mail are no news
        _notify_about_message(ticket=ticket, message=message, now=now)
    message.ticket = ticket
    return message


def _notify_about_message(*, ticket: Ticket, message: Message, now: datetime) -> None:
    author = message.author_user
    who = (author.get_full_name() or author.get_username()) if author else "the customer"
    if message.visibility == Message.Visibility.INTERNAL:
        what = f"internal note by {who}"
        if author is not None:
            _notify_mentions(ticket=ticket, message=message, author=author, now=now)
    elif message.author_role == Message.AuthorRole.CUSTOMER:
        what = f"new message from {message.author_customer or ticket.customer}"
    else:
        what = f"reply by {who}"
    _notify_followers(ticket=ticket, actor=author, what=what, now=now)


def _user_sees_ticket(user: AbstractBaseUser, ticket_id: int) -> bool:
    return user.is_active and Ticket.objects.filter(ticket_visibility_q(user), pk=ticket_id).exists()


def _notify_followers(*, ticket: Ticket, actor: AbstractBaseUser | None, what: str, now: datetime) -> None:
    """Tell the ticket's followers, except whoever made the change, as long as they can still see it."""
    followers = [
        user
        for user in ticket.followers.exclude(pk=getattr(actor, "pk", None))
        if _user_sees_ticket(user, ticket.pk)
    ]
    notifications_create(
        [
            NotificationInput(
                recipient=user,
                kind=Notification.Kind.TICKET_UPDATE,
                title=f"{ticket.reference}: {what}"[:250],
                body=ticket.subject,
                ticket=Ticket(pk=ticket.pk),
            )
            for user in followers
        ],
        now=now,
    )


def _notify_mentions(*, ticket: Ticket, message: Message, author: AbstractBaseUser, now: datetime) -> None:
    """Notify the agents an internal note @mentions, if they can see the ticket (the others learn nothing)."""
    names = mentioned_usernames(message.body_text)
    if not names:
        return
    user_model = get_user_model()
    mentioned = (
        user_model.objects.annotate(lower_name=Lower(user_model.USERNAME_FIELD))
        .filter(lower_name__in=[name.lower() for name in names])
        .exclude(pk=author.pk)
    )
    who = author.get_full_name() or author.get_username()
    notifications_create(
        [
            NotificationInput(
                recipient=user,
                kind=Notification.Kind.MENTION,
                title=f"{who} mentioned you on {ticket.reference}",
                body=message.body_text[:1000],
                ticket=Ticket(pk=ticket.pk),
                dedupe_key=f"mention:{message.pk}",
            )
            for user in mentioned
            if _user_sees_ticket(user, ticket.pk)
        ],
        now=now,
    )


def _deliver(*, message: Message, ticket: Ticket, now: datetime) -> None:
    """Public agent and system messages go to the customer through the outbox (tickets/outbox/)."""
    if message.visibility == Message.Visibility.PUBLIC and message.author_role in (
        Message.AuthorRole.AGENT,
        Message.AuthorRole.SYSTEM,
    ):
        message_deliver(message=message, ticket=ticket, now=now)


def _record_public_agent_reply(*, ticket: Ticket, message: Message, now: datetime) -> None:
    TicketMetrics.objects.filter(ticket=ticket).update(agent_public_replies=F("agent_public_replies") + 1)
    if ticket.first_response_at is not None:
        return
    ticket.first_response_at = now
    Ticket.objects.filter(pk=ticket.pk).update(first_response_at=now)
    business_seconds = hooks.business_seconds_counter(ticket)
    TicketMetrics.objects.filter(ticket=ticket).update(
        first_response_seconds=_seconds_between(ticket.created_at, now),
        first_response_business_seconds=business_seconds(ticket.created_at, now),
    )


# Which status-time totals the time spent in a status adds to (Zendesk's multi-event metrics).
STATUS_TIME_COLUMNS = {
    Status.NEW: ("requester_wait", "agent_work"),
    Status.OPEN: ("requester_wait", "agent_work"),
    Status.ON_HOLD: ("requester_wait", "on_hold"),
    Status.PENDING: ("agent_wait",),
}


def _status_time_updates(
    *, ticket: Ticket, metrics: TicketMetrics, old: str, new: str, now: datetime
) -> dict[str, object]:
    """Metric column updates for a status change: the interval that ends and the resolution times.

    Each interval is measured with the ticket's calendar at the moment it ends, as Zendesk does; the
    resolution times use the calendar at the solve for the whole duration.
    """
    updates: dict[str, object] = {"status_since": now}
    since = metrics.status_since or ticket.created_at
    columns = STATUS_TIME_COLUMNS.get(old, ())
    business_seconds = hooks.business_seconds_counter(ticket) if columns or new == Status.SOLVED else None
    if columns and now > since:
        seconds, business = _seconds_between(since, now), business_seconds(since, now)
        for column in columns:
            updates[f"{column}_seconds"] = F(f"{column}_seconds") + seconds
            updates[f"{column}_business_seconds"] = F(f"{column}_business_seconds") + business
    if new == Status.SOLVED:
        seconds = _seconds_between(ticket.created_at, now)
        business = business_seconds(ticket.created_at, now)
        updates.update(resolution_seconds=seconds, resolution_business_seconds=business)
        if metrics.first_resolution_seconds is None:
            updates.update(first_resolution_seconds=seconds, first_resolution_business_seconds=business)
    return updates


def _change_status(
    *,
    ticket: Ticket,
    status: str,
    actor: AbstractBaseUser | None,
    now: datetime,
    actor_label: str = "",
) -> Ticket:
    old = ticket.status
    transitions.check_transition(old, status)
    ticket.status = status
    ticket.updated_at = now
    update_fields = ["status", "updated_at"]
    metrics_updates = _status_time_updates(
        ticket=ticket, metrics=TicketMetrics.objects.get(ticket=ticket), old=old, new=status, now=now
    )
    if status == Status.SOLVED:
        ticket.solved_at = now
        update_fields.append("solved_at")
        metrics_updates.update(solved_by_id=ticket.assignee_id)
    elif status == Status.CLOSED:
        ticket.closed_at = now
        update_fields.append("closed_at")
    if transitions.is_reopen(old, status):
        # The metrics rollup must drop the ticket from the day of the solve it is about to forget.
        rollup.rollup_mark_ticket(ticket, now=now)
        ticket.reopen_count += 1
        ticket.solved_at = None
        update_fields += ["reopen_count", "solved_at"]
        metrics_updates.update(
            reopens=F("reopens") + 1, resolution_seconds=None, resolution_business_seconds=None
        )
    ticket.save(update_fields=update_fields)
    TicketMetrics.objects.filter(ticket=ticket).update(**metrics_updates)
    audit_field_change(
        ticket=ticket, field="status", old=old, new=status, now=now, actor=actor, actor_label=actor_label
    )
    hooks.announce(hooks.STATUS_CHANGED, ticket=ticket, old=old, new=status, now=now)
    _emit_ticket_event(
        ticket,
        now=now,
        event=WebhookEvent.TICKET_SOLVED if status == Status.SOLVED else WebhookEvent.TICKET_UPDATED,
        changes=[_change("status", str(old), str(status))],
    )
    return ticket


@transaction.atomic
def ticket_change_status(
    *, ticket: Ticket, status: str, actor: AbstractBaseUser | None = None, now: datetime | None = None
) -> Ticket:
    now = _now(now)
    ticket = _lock(ticket)
    if ticket.status == status:
        return ticket
    _ensure_mutable(ticket)
    ticket = _change_status(ticket=ticket, status=status, actor=actor, now=now)
    _ticket_changed(ticket, now)
    what = f"status is now {ticket.get_status_display()}"
    _notify_followers(ticket=ticket, actor=actor, what=what, now=now)
    return ticket


@transaction.atomic
def ticket_change_priority(
    *,
    ticket: Ticket,
    priority: str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    now: datetime | None = None,
) -> Ticket:
    now = _now(now)
    if priority not in Priority.values:
        raise DomainError(f"Unknown priority {priority!r}; expected one of {', '.join(Priority.values)}.")
    ticket = _lock(ticket)
    if ticket.priority == priority:
        return ticket
    _ensure_mutable(ticket)
    old = ticket.priority
    ticket.priority = priority
    ticket.updated_at = now
    ticket.save(update_fields=["priority", "updated_at"])
    audit_field_change(
        ticket=ticket, field="priority", old=old, new=priority, now=now, actor=actor, actor_label=actor_label
    )
    _emit_ticket_event(ticket, now=now, changes=[_change("priority", str(old), str(priority))])
    _ticket_changed(ticket, now)
    return ticket


_UNCHANGED = object()


@transaction.atomic
def ticket_assign(
    *,
    ticket: Ticket,
    assignee: AbstractBaseUser | object | None = _UNCHANGED,
    team: Team | object | None = _UNCHANGED,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    now: datetime | None = None,
    notify: bool = True,
) -> Ticket:
    """Set the ticket's team and/or assignee.

    The assignee must be an agent of the ticket's team. Moving a ticket to another team drops an
    assignee who is not a member of the new team. `notify=False` tells nobody (catching up on history,
    see `sla_sweep(live=False)`).
    """
    now = _now(now)
    ticket, changes = _assign(
        ticket=ticket,
        assignee=assignee,
        team=team,
        actor=actor,
        actor_label=actor_label,
        now=now,
        notify=notify,
    )
    # SLA policies match on the team, never on the assignee, so only a team change can move the clocks.
    if any(field == "team" for field, _, _ in changes):
        _ticket_changed(ticket, now)
    if changes:
        _emit_ticket_event(
            ticket,
            now=now,
            changes=[
                _change(field, getattr(old, "pk", None), getattr(new, "pk", None))
                for field, old, new in changes
            ],
        )
    if changes and notify:
        what = "; ".join(f"{field} is now {new or 'nobody'}" for field, _, new in changes)
        _notify_followers(ticket=ticket, actor=actor, what=what, now=now)
    return ticket


def _assign(
    *,
    ticket: Ticket,
    now: datetime,
    assignee: AbstractBaseUser | object | None = _UNCHANGED,
    team: Team | object | None = _UNCHANGED,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    notify: bool = True,
) -> tuple[Ticket, list]:
    ticket = _lock(ticket)
    _ensure_mutable(ticket)
    new_team = ticket.team if team is _UNCHANGED else team
    new_assignee = ticket.assignee if assignee is _UNCHANGED else assignee
    if new_assignee is not None:
        agent = Agent.objects.filter(user=new_assignee).first()
        if agent is None:
            raise InvalidAssignmentError(
                f"{new_assignee} is not an agent; only agents can be assigned tickets."
            )
        if new_team is not None and not agent.teams.filter(pk=new_team.pk).exists():
            if assignee is _UNCHANGED:
                new_assignee = None
            else:
                raise InvalidAssignmentError(
                    f"{new_assignee} is not a member of team {new_team}; "
                    "add them to the team or pick another agent."
                )
    changes = []
    if (new_team.pk if new_team else None) != ticket.team_id:
        changes.append(("team", ticket.team, new_team))
        ticket.team = new_team
    if (new_assignee.pk if new_assignee else None) != ticket.assignee_id:
        changes.append(("assignee", ticket.assignee, new_assignee))
        ticket.assignee = new_assignee
    if not changes:
        return ticket, changes
    ticket.updated_at = now
    ticket.save(update_fields=["team", "assignee", "updated_at"])
    rollup.rollup_mark_ticket(ticket, now=now)
    stations = {
        f"{field}_stations": F(f"{field}_stations") + 1 for field, _, new in changes if new is not None
    }
    if stations:
        TicketMetrics.objects.filter(ticket=ticket).update(**stations)
    for field, old, new in changes:
        audit_field_change(
            ticket=ticket, field=field, old=old, new=new, now=now, actor=actor, actor_label=actor_label
        )
    if (
        notify
        and new_assignee is not None
        and any(field == "assignee" for field, _, _ in changes)
        and new_assignee != actor
    ):
        notifications_create([assignment_notice(ticket, new_assignee)], now=now)
    return ticket, changes


def tag_names(names: Iterable[str]) -> list[str]:
    cleaned = []
    for name in names:
        slug = slugify(name)[:60]
        if not slug:
            raise DomainError(f"{name!r} is not a usable tag: use letters, digits, '-' or '_'.")
        if slug not in cleaned:
            cleaned.append(slug)
    return cleaned


def _tags_add(
    *, ticket: Ticket, names: Iterable[str], actor: AbstractBaseUser | None, actor_label: str, now: datetime
) -> Ticket:
    existing = set(ticket.tags.values_list("name", flat=True))
    for name in tag_names(names):
        if name in existing:
            continue
        tag, _ = Tag.objects.get_or_create(name=name)
        ticket.tags.add(tag)
        tag_added_entry(ticket=ticket, name=name, now=now, actor=actor, actor_label=actor_label).save()
    return ticket


@transaction.atomic
def ticket_add_tags(
    *,
    ticket: Ticket,
    names: Iterable[str],
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    now: datetime | None = None,
) -> Ticket:
    now = _now(now)
    ticket = _lock(ticket)
    _ensure_mutable(ticket)
    before = set(ticket.tags.values_list("name", flat=True))
    ticket = _tags_add(ticket=ticket, names=names, actor=actor, actor_label=actor_label, now=now)
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    ticket.updated_at = now
    after = set(ticket.tags.values_list("name", flat=True))
    if after != before:
        _emit_ticket_event(ticket, now=now, changes=[_change("tags", sorted(before), sorted(after))])
    _ticket_changed(ticket, now)
    return ticket


@transaction.atomic
def ticket_remove_tags(
    *,
    ticket: Ticket,
    names: Iterable[str],
    actor: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> Ticket:
    now = _now(now)
    ticket = _lock(ticket)
    _ensure_mutable(ticket)
    before = sorted(ticket.tags.values_list("name", flat=True))
    removed = []
    for tag in ticket.tags.filter(name__in=tag_names(names)):
        removed.append(tag.name)
        ticket.tags.remove(tag)
        audit_record(
            ticket=ticket,
            action=AuditEntry.Action.TAG_REMOVED,
            now=now,
            actor=actor,
            field="tags",
            old_value=tag.name,
        )
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=now)
    ticket.updated_at = now
    if removed:
        after = [name for name in before if name not in removed]
        _emit_ticket_event(ticket, now=now, changes=[_change("tags", before, after)])
    _ticket_changed(ticket, now)
    return ticket


@transaction.atomic
def ticket_merge(
    *, source: Ticket, target: Ticket, actor: AbstractBaseUser | None = None, now: datetime | None = None
) -> Ticket:
    """Merge `source` into `target`: messages, audit trail and tags move; the source closes with a link."""
    now = _now(now)
    if source.pk == target.pk:
        raise MergeError("A ticket cannot be merged into itself.")
    # Lock both rows in a fixed order so two opposite merges cannot deadlock.
    locked = {
        t.pk: t
        for t in Ticket.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    if source.status not in transitions.MERGE_CLOSABLE:
        raise MergeError(f"Ticket {source.reference} is closed; closed tickets cannot be merged.")
    if target.status == Status.CLOSED:
        raise MergeError(f"Ticket {target.reference} is closed; merge into an unclosed ticket instead.")
    moved_messages = source.messages.update(ticket=target)
    moved_audit = source.audit_entries.update(ticket=target)
    for tag in source.tags.all():
        target.tags.add(tag)
    TicketMetrics.objects.filter(ticket=target).update(
        customer_messages=F("customer_messages") + source.metrics.customer_messages,
        agent_public_replies=F("agent_public_replies") + source.metrics.agent_public_replies,
    )
    old_status = source.status
    source.status = Status.CLOSED
    source.closed_at = now
    source.merged_into = target
    source.updated_at = now
    source.save(update_fields=["status", "closed_at", "merged_into", "updated_at"])
    target.updated_at = now
    target.save(update_fields=["updated_at"])
    audit_record(
        ticket=source,
        action=AuditEntry.Action.MERGED_INTO,
        now=now,
        actor=actor,
        field="status",
        old_value=old_status,
        new_value=Status.CLOSED,
        details={"target": target.reference},
    )
    audit_record(
        ticket=target,
        action=AuditEntry.Action.MERGED_FROM,
        now=now,
        actor=actor,
        new_value=source.reference,
        details={
            "source": source.reference,
            "messages_moved": moved_messages,
            "audit_entries_moved": moved_audit,
        },
    )
    _emit_ticket_event(
        source,
        now=now,
        changes=[_change("status", old_status, Status.CLOSED.value), _change("merged_into", None, target.pk)],
    )
    _emit_ticket_event(target, now=now, changes=[_change("merged_from", None, source.pk)])
    _ticket_changed(source, now)
    _ticket_changed(target, now)
    return target


@transaction.atomic
def ticket_change_subject(
    *,
    ticket: Ticket,
    subject: str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    now: datetime | None = None,
) -> Ticket:
    now = _now(now)
    subject = subject.strip()
    max_length = Ticket._meta.get_field("subject").max_length
    if not subject:
        raise DomainError("A ticket needs a subject.")
    if len(subject) > max_length:
        raise DomainError(f"A subject has at most {max_length} characters; this one has {len(subject)}.")
    ticket = _lock(ticket)
    if ticket.subject == subject:
        return ticket
    _ensure_mutable(ticket)
    old = ticket.subject
    ticket.subject = subject
    ticket.updated_at = now
    ticket.save(update_fields=["subject", "updated_at"])
    audit_field_change(
        ticket=ticket, field="subject", old=old, new=subject, now=now, actor=actor, actor_label=actor_label
    )
    # No SLA policy matches on the subject, so the clocks are not recomputed.
    _emit_ticket_event(ticket, now=now, changes=[_change("subject", old, subject)])
    return ticket


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    actor: AbstractBaseUser | None,
    status: str | None = None,
    priority: str | None = None,
    subject: str | None = None,
    team: Team | object | None = _UNCHANGED,
    assignee: AbstractBaseUser | object | None = _UNCHANGED,
    tags: Iterable[str] | None = None,
    cc: Iterable[str] | None = None,
    followers: Iterable[AbstractBaseUser] | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Apply several changes at once (all or none); the status goes last so a solve sees the new assignee."""
    now = _now(now)
    ticket = _lock(ticket)
    _ensure_mutable(ticket)
    if subject is not None:
        ticket = ticket_change_subject(ticket=ticket, subject=subject, actor=actor, now=now)
    if team is not _UNCHANGED or assignee is not _UNCHANGED:
        ticket = ticket_assign(ticket=ticket, team=team, assignee=assignee, actor=actor, now=now)
    if priority is not None:
        ticket = ticket_change_priority(ticket=ticket, priority=priority, actor=actor, now=now)
    if tags is not None:
        wanted = set(tag_names(tags))
        current = set(ticket.tags.values_list("name", flat=True))
        if wanted - current:
            ticket = ticket_add_tags(ticket=ticket, names=sorted(wanted - current), actor=actor, now=now)
        if current - wanted:
            ticket = ticket_remove_tags(ticket=ticket, names=sorted(current - wanted), actor=actor, now=now)
    if cc is not None:
        ticket = ticket_set_cc(ticket=ticket, addresses=cc, actor=actor, now=now)
    if followers is not None:
        ticket = ticket_set_followers(ticket=ticket, users=followers, actor=actor, now=now)
    if status is not None:
        ticket = ticket_change_status(ticket=ticket, status=status, actor=actor, now=now)
    return ticket


# A ticket copies at most this many addresses and has at most this many followers (hostile input).
MAX_CC = 20
MAX_FOLLOWERS = 50


def _cc_address(raw: str) -> str:
    address = (raw or "").strip()
    try:
        validate_email(address)
    except ValidationError:
        raise DomainError(
            f"{address[:100]!r} is not an email address; write it like name@example.com."
        ) from None
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


@transaction.atomic
def ticket_set_cc(
    *, ticket: Ticket, addresses: Iterable[str], actor: AbstractBaseUser | None, now: datetime | None = None
) -> Ticket:
    """Set the addresses copied on the ticket's public replies (its CC participants, `TicketParticipant`).

    The customer's own address is dropped (they are the recipient) and our own support addresses are
    refused (mail to them would come back as a new ticket). A removed CC is no longer a participant, so
    their next email opens a new ticket instead of joining this one. Audited as the field `cc`.
    """
    now = _now(now)
    wanted: dict[str, str] = {}
    for raw in addresses:
        address = _cc_address(raw)
        wanted.setdefault(address.lower(), address)
    if len(wanted) > MAX_CC:
        raise DomainError(f"A ticket can copy at most {MAX_CC} addresses.")
    ticket = _lock(ticket)
    _ensure_mutable(ticket)
    wanted.pop((ticket.customer.email or "").lower(), None)
    own = own_addresses()
    for address in wanted.values():
        if is_from_own_address(address, own):
            raise DomainError(
                f"{address} is one of our own support addresses; copying it would loop mail back in."
            )
    participants = {p.email.lower(): p for p in ticket.participants.all()}
    old = sorted(p.email for p in participants.values() if p.is_cc)
    for lowered, address in wanted.items():
        participant = participants.get(lowered)
        if participant is None:
            TicketParticipant.objects.create(ticket=ticket, email=address, is_cc=True, created_at=now)
        elif not participant.is_cc:
            TicketParticipant.objects.filter(pk=participant.pk).update(is_cc=True)
    TicketParticipant.objects.filter(
        pk__in=[p.pk for lowered, p in participants.items() if p.is_cc and lowered not in wanted]
    ).delete()
    new = sorted(participants[key].email if key in participants else a for key, a in wanted.items())
    if [a.lower() for a in old] != [a.lower() for a in new]:
        audit_field_change(
            ticket=ticket, field="cc", old=", ".join(old), new=", ".join(new), now=now, actor=actor
        )
    return ticket


@transaction.atomic
def ticket_set_followers(
    *,
    ticket: Ticket,
    users: Iterable[AbstractBaseUser],
    actor: AbstractBaseUser | None,
    now: datetime | None = None,
) -> Ticket:
    """Set the agents who follow the ticket (told of each update); each must be able to see it.

    Audited as the field `followers` (usernames).
    """
    now = _now(now)
    users = list({user.pk: user for user in users}.values())
    if len(users) > MAX_FOLLOWERS:
        raise DomainError(f"A ticket can have at most {MAX_FOLLOWERS} followers.")
    ticket = _lock(ticket)
    for user in users:
        if not _user_sees_ticket(user, ticket.pk):
            raise DomainError(
                f"{user.get_username()} cannot see {ticket.reference}; only agents of its team can follow it."
            )
    old = sorted(ticket.followers.values_list("username", flat=True))
    ticket.followers.set(users)
    new = sorted(user.get_username() for user in users)
    if old != new:
        audit_field_change(
            ticket=ticket, field="followers", old=", ".join(old), new=", ".join(new), now=now, actor=actor
        )
    return ticket


def tickets_close_solved(
    *, now: datetime | None = None, older_than: timedelta | None = None, batch_size: int = 500
) -> int:
    """Close tickets solved longer ago than `older_than` (default HELPDESK_AUTO_CLOSE_DAYS days).

    Each close is a compare-and-swap on (status, solved_at), so two sweeps at once, or a reopen that
    races the sweep, never close a ticket that is no longer due.
    """
    now = _now(now)
    older_than = older_than if older_than is not None else timedelta(days=settings.HELPDESK_AUTO_CLOSE_DAYS)
    cutoff = now - older_than
    closed = 0
    due = list(
        Ticket.objects.filter(status=Status.SOLVED, solved_at__lte=cutoff)
        .order_by("solved_at")
        .values_list("pk", flat=True)[:batch_size]
    )
    for pk in due:
        with transaction.atomic():
            changed = Ticket.objects.filter(pk=pk, status=Status.SOLVED, solved_at__lte=cutoff).update(
                status=Status.CLOSED, closed_at=now, updated_at=now
            )
            if changed:
                audit_field_change(
                    ticket=Ticket(pk=pk),
                    field="status",
                    old=Status.SOLVED,
                    new=Status.CLOSED,
                    now=now,
                    actor_label="auto-close",
                    details={"rule": f"solved for more than {older_than}"},
                )
                _emit_ticket_event(
                    Ticket.objects.get(pk=pk),
                    now=now,
                    changes=[_change("status", Status.SOLVED.value, Status.CLOSED.value)],
                )
                closed += 1
    return closed


# --- phone calls -----------------------------------------------------------------------------------


def phone_call_record(
    *,
    ticket: Ticket,
    caller: str,
    outcome: str,
    started_at: datetime,
    agent: AbstractBaseUser | None = None,
    direction: str = PhoneCall.Direction.INBOUND,
    queue_wait_seconds: int = 0,
    talk_seconds: int = 0,
    wrap_up_seconds: int = 0,
    external_id: str | None = None,
    scope: str = "",
    notes: str = "",
    now: datetime | None = None,
) -> PhoneCall:
    """Record a call on a ticket; `agent` answered it (inbound) or placed it (outbound).

    `external_id` is unique within `scope`, the namespace of the integration that posted the call.

    Phone measures count an inbound call for the agent who answered it, whoever owns the ticket; an
    abandoned inbound call was answered by nobody, so it keeps no agent and counts as "(unassigned)".
    """
    abandoned = outcome == PhoneCall.Outcome.ABANDONED
    if abandoned and (talk_seconds or wrap_up_seconds):
        raise DomainError("An abandoned call has no talk or wrap-up time.")
    if abandoned and direction == PhoneCall.Direction.INBOUND:
        agent = None
    # Phone first-call resolution of the ticket's earlier calls depends on this one.
    rollup.rollup_mark_ticket(ticket, now=_now(now), also=[started_at])
    return PhoneCall.objects.create(
        ticket=ticket,
        external_id=external_id or None,
        scope=scope,
        caller=caller,
        direction=direction,
        queue_wait_seconds=queue_wait_seconds,
        talk_seconds=talk_seconds,
        wrap_up_seconds=wrap_up_seconds,
        outcome=outcome,
        agent=agent,
        started_at=started_at,
        notes=notes,
        created_at=_now(now),
    )


# --- notifications -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationInput:
    recipient: AbstractBaseUser
    kind: str
    title: str
    body: str = ""
    ticket: Ticket | None = None
    dedupe_key: str = ""


def assignment_notice(ticket: Ticket, assignee: AbstractBaseUser) -> NotificationInput:
    """What the new assignee of a ticket is told, whichever path assigned it."""
    return NotificationInput(
        recipient=assignee,
        kind=Notification.Kind.ASSIGNMENT,
        ticket=ticket,
        title=f"{ticket.reference} was assigned to you",
        body=ticket.subject,
    )


def notification_create(
    *,
    recipient: AbstractBaseUser,
    kind: str,
    title: str,
    body: str = "",
    ticket: Ticket | None = None,
    dedupe_key: str = "",
    now: datetime | None = None,
) -> Notification | None:
    """Tell one person something in-app (and by email if they want that kind); see `notifications_create`."""
    written = notifications_create(
        [NotificationInput(recipient, kind, title, body, ticket, dedupe_key)], now=now
    )
    return written[0] if written else None


def emailed_notification_kinds(user_ids: Iterable[int]) -> dict[int, set[str]]:
    """{user id: the notification kinds they get by email}; users who never chose get the defaults."""
    user_ids = set(user_ids)
    chosen = dict(
        NotificationPreference.objects.filter(user_id__in=user_ids).values_list("user_id", "emailed_kinds")
    )
    default = set(default_emailed_notification_kinds())
    return {user_id: set(chosen[user_id]) if user_id in chosen else default for user_id in user_ids}


def notifications_create(
    items: list[NotificationInput], *, now: datetime | None = None, new_tickets: bool = False
) -> list[Notification]:
    """Create or update in-app notifications in a fixed number of queries; returns those written.

    - An item whose (recipient, dedupe key) already has a notification is skipped: the same event
      notifies once however often it is announced.
    - An item about a ticket whose recipient already has an unread notification of its kind on that
      ticket updates that entry (title, body, time, `occurrences` + 1) instead of adding another; it is
      not emailed again (one unread entry per recipient, ticket and kind is a database constraint).
    - A new entry is emailed through the outbox on commit when its recipient gets that kind by email
      (`NotificationPreference`, else `DEFAULT_EMAILED_NOTIFICATION_KINDS`).

    `new_tickets=True` says the items are about tickets created in this transaction, without dedupe
    keys: nobody else can have an entry on them yet, so there is nothing to read and no race to retry.
    """
    now = _now(now)
    if not items:
        return []
    if new_tickets:
        return _notifications_write(items, now, existing_entries=False)
    for attempt in range(2):
        try:
            # A savepoint: a concurrent writer may add the unread entry between our read and our insert;
            # the constraint refuses ours and the second attempt updates theirs.
            with transaction.atomic():
                return _notifications_write(items, now)
        except IntegrityError:
            if attempt:
                raise
    return []  # pragma: no cover (the loop returns or raises)


def _notifications_refresh(entries: list[Notification], now: datetime) -> None:
    """Write what items refreshed of unread entries (locked by the caller) in one UPDATE joined to a
    VALUES list.

    Django's `bulk_update` builds a CASE over every row for every field: 0.4 s of Python for the 500
    entries a sweep batch refreshes. PostgreSQL and SQLite (3.33+) both name VALUES columns `columnN`.
    """
    table = connection.ops.quote_name(Notification._meta.db_table)
    rows = ", ".join(["(%s, %s, %s, %s, %s)"] * len(entries))
    values = [
        value
        for entry in entries
        for value in (entry.pk, entry.title, entry.body, entry.dedupe_key, entry.occurrences)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET title = v.column2, body = v.column3, dedupe_key = v.column4,"
            f" occurrences = v.column5, created_at = %s"
            f" FROM (VALUES {rows}) AS v WHERE {table}.id = v.column1",
            [connection.ops.adapt_datetimefield_value(now), *values],
        )


def _notifications_write(
    items: list[NotificationInput], now: datetime, existing_entries: bool = True
) -> list[Notification]:
    keyed = [item for item in items if item.dedupe_key]
    existing = set()
    if keyed and existing_entries:
        existing = set(
            Notification.objects.filter(dedupe_key__in={item.dedupe_key for item in keyed}).values_list(
                "recipient_id", "dedupe_key"
            )
        )
    fresh, seen = [], set()
    for item in items:
        key = (item.recipient.pk, item.dedupe_key)
        if item.dedupe_key and (key in existing or key in seen):
            continue
        seen.add(key)
        fresh.append(item)
    about_tickets = [item for item in fresh if item.ticket is not None]
    unread: dict[tuple[int, int, str], Notification] = {}
    if about_tickets and existing_entries:
        unread = {
            (n.recipient_id, n.ticket_id, n.kind): n
            for n in Notification.objects.select_for_update().filter(
                read_at__isnull=True,
                recipient_id__in={item.recipient.pk for item in about_tickets},
                ticket_id__in={item.ticket.pk for item in about_tickets},
                kind__in={item.kind for item in about_tickets},
            )
        }
    new_rows: list[Notification] = []
    updated: dict[int, Notification] = {}
    for item in fresh:
        slot = (item.recipient.pk, item.ticket.pk, item.kind) if item.ticket is not None else None
        entry = unread.get(slot) if slot else None
        if entry is not None:
            entry.title, entry.body, entry.created_at = item.title[:250], item.body, now
            entry.occurrences += 1
            entry.dedupe_key = item.dedupe_key or entry.dedupe_key
            if entry.pk is not None:
                updated[entry.pk] = entry
            continue
        entry = Notification(
            recipient=item.recipient,
            kind=item.kind,
            title=item.title[:250],
            body=item.body,
            ticket=item.ticket,
            dedupe_key=item.dedupe_key,
            created_at=now,
        )
        new_rows.append(entry)
        if slot:
            unread[slot] = entry
    created = Notification.objects.bulk_create(new_rows)
    if updated:
        _notifications_refresh(list(updated.values()), now)
    if created and settings.HELPDESK_NOTIFICATION_EMAILS:
        wanted = emailed_notification_kinds(n.recipient_id for n in created)
        outbox_emails_enqueue(
            kind=OutboundDelivery.Kind.NOTIFICATION,
            emails=[
                QueuedEmail(
                    source_id=notification.pk,
                    email=EmailContent(
                        subject=notification.title,
                        body_text=notification.body or notification.title,
                        to=[notification.recipient.email],
                        headers={"Auto-Submitted": "auto-generated"},
                    ),
                    ticket=notification.ticket,
                )
                for notification in created
                if getattr(notification.recipient, "email", "")
                and notification.kind in wanted[notification.recipient_id]
            ],
            now=now,
        )
    return [*created, *updated.values()]


@transaction.atomic
def notification_preferences_set(*, user: AbstractBaseUser, emailed_kinds: Iterable[str]) -> list[str]:
    """Choose which notification kinds the user also gets by email (the bell shows every kind)."""
    kinds = sorted(set(emailed_kinds))
    unknown = [kind for kind in kinds if kind not in Notification.Kind.values]
    if unknown:
        expected = ", ".join(Notification.Kind.values)
        raise DomainError(f"Unknown notification kind {unknown[0][:50]!r}; expected some of {expected}.")
    NotificationPreference.objects.update_or_create(user=user, defaults={"emailed_kinds": kinds})
    return kinds


def notification_mark_all_read(*, recipient: AbstractBaseUser, now: datetime | None = None) -> int:
    """Mark every unread notification of the recipient read; returns how many changed."""
    return Notification.objects.filter(recipient=recipient, read_at__isnull=True).update(read_at=_now(now))


def notification_mark_read(*, notification: Notification, now: datetime | None = None) -> Notification:
    now = _now(now)
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
    notification.refresh_from_db(fields=["read_at"])
    return notification


# --- customers, teams and agents -------------------------------------------------------------------


@transaction.atomic
def team_update(
    *,
    team: Team,
    assignment_strategy: str | None = None,
    email_address: str | None = None,
    is_default: bool | None = None,
) -> Team:
    """Change a team's settings; arguments left as None keep their value.

    `is_default=True` makes it the one default team (routing's fallback), unmarking the previous one.
    """
    update_fields = []
    if is_default is not None:
        if is_default:
            Team.objects.filter(is_default=True).exclude(pk=team.pk).update(is_default=False)
        team.is_default = is_default
        update_fields.append("is_default")
    if assignment_strategy is not None:
        if assignment_strategy not in Team.AssignmentStrategy.values:
            raise DomainError(
                f"Unknown assignment strategy {assignment_strategy!r}; "
                f"expected one of {', '.join(Team.AssignmentStrategy.values)}."
            )
        team.assignment_strategy = assignment_strategy
        update_fields.append("assignment_strategy")
    if email_address is not None:
        team.email_address = email_address.strip()
        update_fields.append("email_address")
    if update_fields:
        team.save(update_fields=update_fields)
    return team


@transaction.atomic
def agent_set_availability(*, agent: Agent, is_available: bool) -> Agent:
    """Mark an agent available or away (away agents are skipped by automatic assignment)."""
    Agent.objects.filter(pk=agent.pk).update(is_available=is_available)
    agent.is_available = is_available
    return agent
