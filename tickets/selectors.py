"""Reads of the ticket domain, including who may see what (one place for the API and the UI)."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from .models import Notification, Team, Ticket


def user_is_admin(user: AbstractBaseUser) -> bool:
    return bool(user.is_active and user.is_superuser)


def user_team_ids(user: AbstractBaseUser) -> list[int]:
    """Teams whose tickets the user works: as a member agent or as the team's lead."""
    if not user.is_authenticated:
        return []
    member = Team.objects.filter(agents__user=user).values_list("pk", flat=True)
    led = Team.objects.filter(lead=user).values_list("pk", flat=True)
    return sorted(set(member) | set(led))


def ticket_visibility_q(user: AbstractBaseUser) -> Q:
    """Tickets the user may see: all for admins; otherwise those of the user's teams.

    A ticket without a team is visible to admins only (routing always sets a team), and a ticket
    assigned to the user stays visible to them even if it moved to another team.
    """
    if user_is_admin(user):
        return Q()
    if not user.is_authenticated:
        return Q(pk__in=[])
    return Q(team_id__in=user_team_ids(user)) | Q(assignee=user)


def ticket_list(*, user: AbstractBaseUser) -> QuerySet[Ticket]:
    return (
        Ticket.objects.filter(ticket_visibility_q(user))
        .select_related("customer", "customer__organization", "team", "assignee")
        .prefetch_related("tags")
    )


def ticket_get(*, user: AbstractBaseUser, pk: int) -> Ticket:
    """The ticket if the user may see it; raises Ticket.DoesNotExist otherwise (a 404, never a 403)."""
    return ticket_list(user=user).get(pk=pk)


def notification_list(*, user: AbstractBaseUser, unread_only: bool = False) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(recipient=user).select_related("ticket")
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications
