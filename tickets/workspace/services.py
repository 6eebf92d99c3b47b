"""Writes of the agent workspace; ticket changes themselves always go through `tickets.services`."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import available_timezones

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from tickets import services
from tickets.exceptions import DomainError
from tickets.models import (
    DeskProfile,
    Macro,
    Message,
    Priority,
    SavedView,
    Status,
    Team,
    Ticket,
    TicketPresence,
)
from tickets.permissions import can_manage_team
from tickets.selectors import ticket_list, user_team_ids

BULK_ACTIONS = ("assign", "status", "priority", "tag", "merge")


@dataclass(frozen=True)
class BulkResult:
    ticket_id: int
    reference: str
    ok: bool
    error: str = ""


@transaction.atomic
def presence_touch(
    *, ticket: Ticket, user: AbstractBaseUser, activity: str, now: datetime | None = None
) -> TicketPresence:
    """Record that the user has the ticket open (viewing or typing) as of now."""
    if activity not in TicketPresence.Activity.values:
        raise DomainError(f"Unknown activity {activity!r}; expected 'viewing' or 'typing'.")
    presence, _ = TicketPresence.objects.update_or_create(
        ticket=ticket,
        user=user,
        defaults={"activity": activity, "last_seen_at": now or timezone.now()},
    )
    return presence


def _bulk_one(*, ticket: Ticket, user: AbstractBaseUser, action: str, value: str, target: Ticket | None):
    if action == "assign":
        if value == "":
            return services.ticket_assign(ticket=ticket, assignee=None, actor=user)
        if value == "me":
            return services.ticket_assign(ticket=ticket, assignee=user, actor=user)
        assignee = get_user_model().objects.filter(pk=int(value)).first() if value.isdigit() else None
        if assignee is None:
            raise DomainError("Choose an agent to assign to.")
        return services.ticket_assign(ticket=ticket, assignee=assignee, actor=user)
    if action == "status":
        if value not in Status.values:
            raise DomainError(f"Unknown status {value!r}.")
        return services.ticket_change_status(ticket=ticket, status=value, actor=user)
    if action == "priority":
        if value not in Priority.values:
            raise DomainError(f"Unknown priority {value!r}.")
        return services.ticket_change_priority(ticket=ticket, priority=value, actor=user)
    if action == "tag":
        return services.ticket_add_tags(ticket=ticket, names=[value], actor=user)
    assert target is not None
    return services.ticket_merge(source=ticket, target=target, actor=user)


def tickets_bulk_update(
    *, user: AbstractBaseUser, ticket_ids: Sequence[int], action: str, value: str = ""
) -> list[BulkResult]:
    """Apply one action to many tickets, each in its own transaction, reporting per ticket.

    Not atomic as a whole on purpose: one closed ticket in a selection of fifty must not undo the
    other forty-nine. Ids the user may not see are reported as not found, like the API's 404.
    """
    if action not in BULK_ACTIONS:
        raise DomainError(f"Unknown bulk action {action!r}; expected one of {', '.join(BULK_ACTIONS)}.")
    value = value.strip()
    visible = {t.pk: t for t in ticket_list(user=user).filter(pk__in=ticket_ids)}
    target = None
    if action == "merge":
        ref = value.upper()
        target = ticket_list(user=user).filter(reference=ref).first() or (
            ticket_list(user=user).filter(pk=int(value)).first() if value.isdigit() else None
        )
        if target is None:
            raise DomainError(f"No ticket {value!r} that you can see to merge into; give its reference.")
    if action == "tag" and not value:
        raise DomainError("Type the tag to add.")
    results = []
    for ticket_id in dict.fromkeys(ticket_ids):
        ticket = visible.get(ticket_id)
        if ticket is None:
            results.append(BulkResult(ticket_id, f"#{ticket_id}", False, "No such ticket that you can see."))
            continue
        if target is not None and ticket.pk == target.pk:
            continue
        try:
            _bulk_one(ticket=ticket, user=user, action=action, value=value, target=target)
        except DomainError as error:
            results.append(BulkResult(ticket_id, ticket.reference or f"#{ticket_id}", False, str(error)))
        else:
            results.append(BulkResult(ticket_id, ticket.reference or f"#{ticket_id}", True))
    return results


@transaction.atomic
def saved_view_create(
    *, owner: AbstractBaseUser, name: str, query: str, team: Team | None = None
) -> SavedView:
    """Save a queue view; `team` shares it with a team the owner works in."""
    name = name.strip()
    if not name:
        raise DomainError("Give the view a name.")
    if len(name) > 80:
        raise DomainError("Keep the view's name under 80 characters.")
    if len(query) > 1000:
        raise DomainError("This view has too many filters to save; remove some.")
    if team is not None and team.pk not in user_team_ids(owner):
        raise DomainError(f"You can share views only with your own teams, not with {team}.")
    return SavedView.objects.create(owner=owner, name=name, query=query, team=team)


@transaction.atomic
def saved_view_delete(*, saved_view: SavedView, user: AbstractBaseUser) -> None:
    """Its owner deletes a view; a shared one also its team's lead (or an admin)."""
    allowed = saved_view.owner_id == user.pk or (
        saved_view.team is not None and can_manage_team(user, saved_view.team)
    )
    if not allowed:
        raise DomainError("Only the person who saved this view, or the team's lead, can delete it.")
    saved_view.delete()


def message_record_macro(*, message: Message, macro: Macro) -> None:
    """Remember the canned response a reply was written from (similar tickets suggest it first)."""
    Message.objects.filter(pk=message.pk).update(macro=macro)


@transaction.atomic
def ticket_link_similar(*, ticket: Ticket, similar: Ticket, actor: AbstractBaseUser) -> Message:
    """Link a solved ticket like this one, as an internal note the team sees in the thread."""
    return services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=actor,
        visibility=Message.Visibility.INTERNAL,
        body_text=f"Similar solved ticket: {similar.reference} {similar.subject}",
    )


@transaction.atomic
def desk_profile_update(*, user: AbstractBaseUser, time_zone: str) -> DeskProfile:
    """Set the time zone the user's desk pages show times in ("" for the installation's)."""
    if time_zone and time_zone not in available_timezones():
        raise DomainError(f"{time_zone!r} is not a time zone; pick one from the list, e.g. 'Europe/Lisbon'.")
    profile, _ = DeskProfile.objects.update_or_create(user=user, defaults={"time_zone": time_zone})
    return profile
