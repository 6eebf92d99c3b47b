"""Reads of the ticket domain, including who may see what (one place for the API and the UI)."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When, Window

from tickets.models import PRIORITY_RANK, Notification, Team, Ticket


def user_is_admin(user: AbstractBaseUser) -> bool:
    return bool(user.is_active and user.is_superuser)


@dataclass(frozen=True)
class UserTeams:
    """The teams the visibility rule reads for one user: `ids` they work in (member agent or lead), and
    `led`, those they lead."""

    ids: tuple[int, ...] = ()
    led: tuple[int, ...] = ()


def user_teams(user: AbstractBaseUser) -> UserTeams:
    """The user's `UserTeams`, in one query: every API and desk request asks this."""
    if not user.is_authenticated:
        return UserTeams()
    rows = set(
        Team.objects.filter(Q(agents__user=user) | Q(lead=user)).order_by().values_list("pk", "lead_id")
    )
    return UserTeams(
        ids=tuple(sorted({pk for pk, _ in rows})),
        led=tuple(sorted({pk for pk, lead_id in rows if lead_id == user.pk})),
    )


def user_team_ids(user: AbstractBaseUser) -> list[int]:
    """Teams whose tickets the user works: as a member agent or as the team's lead."""
    return list(user_teams(user).ids)


def ticket_visibility_q(user: AbstractBaseUser, teams: UserTeams | None = None) -> Q:
    """Tickets the user may see: all for admins; otherwise those of the user's teams.

    A ticket without a team (no rule and no default team routed it) is visible to admins and team
    leads, who route it by hand; a ticket assigned to the user stays visible to them even if it moved
    to another team. `teams` is `user_teams(user)` when the caller has it already.
    """
    if user_is_admin(user):
        return Q()
    if not user.is_authenticated:
        return Q(pk__in=[])
    teams = user_teams(user) if teams is None else teams
    # Only the arms that can match reach PostgreSQL: each OR arm is one more index to combine.
    visible = Q(team_id__in=teams.ids) | Q(assignee=user) if teams.ids else Q(assignee=user)
    return visible | Q(team__isnull=True) if teams.led else visible


def _with_relations(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return tickets.select_related("customer", "customer__organization", "team", "assignee").prefetch_related(
        "tags"
    )


def ticket_list(*, user: AbstractBaseUser) -> QuerySet[Ticket]:
    return ticket_rows(Ticket.objects.filter(ticket_visibility_q(user)))


def ticket_rows(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """`tickets` with what a list shows of each: customer, team, assignee, tags and the priority rank."""
    return ticket_with_priority_rank(_with_relations(tickets))


# The columns of a row of the API's ticket list (`tickets.api.serializers.TicketRowSerializer`). Read
# as values: building five model instances per row (ticket, customer, organization, team, assignee)
# and prefetching tags through the ORM cost more Python than the rest of a list request.
TICKET_ROW_FIELDS = (
    "id",
    "reference",
    "subject",
    "status",
    "priority",
    "channel",
    "team_id",
    "follow_up_of_id",
    "merged_into_id",
    "created_at",
    "updated_at",
    "first_response_at",
    "solved_at",
    "closed_at",
    "reopen_count",
    "customer_id",
    "customer__name",
    "customer__email",
    "customer__organization_id",
    "customer__is_vip",
    "assignee_id",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
)


def ticket_list_rows(tickets: QuerySet[Ticket]) -> QuerySet[dict]:
    """`tickets` (a `ticket_list`, filtered) as dicts of TICKET_ROW_FIELDS, without their tags.

    The annotations stay in each row: cursor pagination reads its position from the order's first
    column, which may be one (`priority_rank`, `next_sla_due_or_last`).
    """
    return tickets.prefetch_related(None).values(*TICKET_ROW_FIELDS, *tickets.query.annotations)


def ticket_tag_names(ticket_ids: Iterable[int]) -> dict[int, list[str]]:
    """{ticket id: its tag names in name order} for these tickets, in one query."""
    names: dict[int, list[str]] = {}
    tagged = Ticket.tags.through.objects.filter(ticket_id__in=ticket_ids).order_by("tag__name")
    for ticket_id, name in tagged.values_list("ticket_id", "tag__name"):
        names.setdefault(ticket_id, []).append(name)
    return names


def ticket_after_write(*, pk: int) -> Ticket:
    """The ticket as a write left it, for answering that write.

    Not filtered by visibility on purpose: an agent who transfers a ticket to another team gets
    the result of their own change, though they cannot read the ticket afterwards.
    """
    return ticket_rows(Ticket.objects.all()).get(pk=pk)


def ticket_get(*, user: AbstractBaseUser, pk: int) -> Ticket:
    """The ticket if the user may see it; raises Ticket.DoesNotExist otherwise (a 404, never a 403)."""
    return ticket_list(user=user).get(pk=pk)


def notification_list(*, user: AbstractBaseUser, unread_only: bool = False) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(recipient=user).select_related("ticket")
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications


def notification_unread_latest(*, user: AbstractBaseUser, limit: int) -> tuple[int, list[Notification]]:
    """How many notifications the user has unread, and the latest `limit` of them, in one query (the
    count is a window over every unread one, read off the first row)."""
    unread = notification_list(user=user, unread_only=True).annotate(unread_total=Window(Count("pk")))
    latest = list(unread[:limit])
    return (latest[0].unread_total if latest else 0), latest


def ticket_with_priority_rank(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Annotate `priority_rank` (low=0 … urgent=3) so tickets sort by urgency, not alphabetically."""
    return tickets.annotate(
        priority_rank=Case(
            *(When(priority=priority, then=Value(rank)) for priority, rank in PRIORITY_RANK.items()),
            default=Value(0),
            output_field=IntegerField(),
        )
    )


# The orders a ticket list can take: name → fields (the first carries the cursor position). A new
# order such as "next SLA due" adds an entry here and annotates its column in `ticket_list`.
TICKET_ORDERINGS: dict[str, tuple[str, ...]] = {
    "created": ("created_at", "pk"),
    "-created": ("-created_at", "-pk"),
    "updated": ("updated_at", "pk"),
    "-updated": ("-updated_at", "-pk"),
    "priority": ("priority_rank", "created_at", "pk"),
    "-priority": ("-priority_rank", "created_at", "pk"),
    # Soonest SLA due first, tickets without a running clock last (TicketFilterSet annotates the column).
    "next_sla_due": ("next_sla_due_or_last", "pk"),
    # Best search match first (`tickets.search.ticket_search` annotates the rank); the default with `q`.
    "relevance": ("-search_rank", "-pk"),
}
DEFAULT_TICKET_ORDERING = "-created"
SEARCH_TICKET_ORDERING = "relevance"


def ticket_ordering_name(requested: str | None, search_text: str | None) -> str:
    """The order a ticket list takes: the one asked for, else relevance when searching, else newest first."""
    if requested:
        return requested
    return SEARCH_TICKET_ORDERING if (search_text or "").strip() else DEFAULT_TICKET_ORDERING
