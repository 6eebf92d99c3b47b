"""Reads for the agent workspace, built on `tickets.selectors` so the UI sees exactly what the API sees."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, DateTimeField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from helpdesk.pagination import CappedCountPaginator, capped_counts
from tickets import transitions
from tickets.adapters import sla as sla_adapter
from tickets.mail.forwards import ForwardedMessage, attached_message, split_forward
from tickets.mail.remote_images import BlockedHtml, block_remote_images
from tickets.models import (
    NO_SLA_DUE,
    Agent,
    Attachment,
    Channel,
    DeskProfile,
    Macro,
    Message,
    SavedView,
    Status,
    Team,
    Ticket,
    TicketPresence,
)
from tickets.permissions import led_team_ids, visible_agents_q
from tickets.selectors import (
    UserTeams,
    ticket_list,
    ticket_visibility_q,
    ticket_with_priority_rank,
    user_is_admin,
    user_teams,
)
from tickets.workspace.macro_text import render_macro

PRESENCE_TTL = timedelta(seconds=30)
# Queue views are counted up to this many (see queue_counts).
COUNT_CAP = CappedCountPaginator.CAP


@dataclass(frozen=True)
class QueueView:
    slug: str
    label: str
    sla_state: str = ""  # set for views that need SLA data
    leads_only: bool = False  # shown to team leads and admins


QUEUE_VIEWS = (
    QueueView("mine", "My open tickets"),
    QueueView("unassigned", "Unassigned in my teams"),
    QueueView("unrouted", "Unrouted (no team)", leads_only=True),
    QueueView("breaching", "Breaching soon", sla_adapter.BREACHING_SOON),
    QueueView("breached", "Breached", sla_adapter.BREACHED_VIEW),
    QueueView("pending", "Pending"),
    QueueView("open", "All open"),
    QueueView("solved", "Solved"),
    QueueView("closed", "Closed"),
    QueueView("all", "All tickets"),
)
QUEUE_VIEW_BY_SLUG = {view.slug: view for view in QUEUE_VIEWS}
DEFAULT_QUEUE_VIEW = "mine"


def desk_time_zone(user: AbstractBaseUser) -> ZoneInfo:
    """The zone the user's desk pages show times in: their profile's, else the installation's."""
    name = DeskProfile.objects.filter(user=user).values_list("time_zone", flat=True).first()
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):  # a zone the tz database no longer has
        return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class DeskTeams:
    """What the queue page needs to know of teams, from one query: every team (the team filter's
    choices), the user's own among them (member or lead: whom a saved view may be shared with), and the
    user's `UserTeams` for the visibility rule."""

    all: list[Team]
    mine: list[Team]
    user_teams: UserTeams


def desk_teams(user: AbstractBaseUser) -> DeskTeams:
    member = Agent.teams.through.objects.filter(team_id=OuterRef("pk"), agent__user_id=user.pk)
    teams = list(Team.objects.annotate(is_member=Exists(member)).order_by("name", "pk"))
    mine = [team for team in teams if team.is_member or team.lead_id == user.pk]
    led = [team.pk for team in teams if team.lead_id == user.pk]
    return DeskTeams(
        all=teams,
        mine=mine,
        user_teams=UserTeams(ids=tuple(sorted(t.pk for t in mine)), led=tuple(sorted(led))),
    )


def queue_views(user: AbstractBaseUser, teams: UserTeams | None = None) -> list[QueueView]:
    """The views the user has: Unrouted only for team leads and admins, who are the ones to route.

    `teams` is `user_teams(user)` when the caller has it already."""
    led = led_team_ids(user) if teams is None else teams.led
    is_lead = user_is_admin(user) or bool(led)
    return [view for view in QUEUE_VIEWS if is_lead or not view.leads_only]


def _my_team_ids(user: AbstractBaseUser) -> QuerySet[Team]:
    """The user's teams (member or lead) as a subquery, so views filter on it without a query of their own."""
    return Team.objects.filter(Q(agents__user=user) | Q(lead=user)).values("pk")


def _view_q(user: AbstractBaseUser, slug: str, teams: UserTeams | None) -> Q:
    unsolved = Q(status__in=transitions.UNSOLVED)
    if slug == "mine":
        return unsolved & Q(assignee=user)
    if slug == "unassigned":
        if user_is_admin(user):
            mine = Q()
        else:
            mine = Q(team_id__in=_my_team_ids(user) if teams is None else teams.ids)
        return unsolved & Q(assignee__isnull=True) & mine
    if slug == "unrouted":
        return unsolved & Q(team__isnull=True)
    if slug in ("pending", "solved", "closed"):
        return Q(status=slug)
    if slug == "all":
        return Q()
    return unsolved


# Views whose own filter admits only tickets the visibility rule lets the user see (their own tickets,
# their teams' unassigned ones): they leave the rule out, whose OR of team and assignee would keep the
# planner from walking the view's index (it took the bitmap of every candidate and sorted it instead).
SELF_VISIBLE_VIEWS = frozenset({"mine", "unassigned"})


def _view_where(user: AbstractBaseUser, slug: str, visible: Q, teams: UserTeams | None) -> Q:
    where = _view_q(user, slug, teams)
    return where if slug in SELF_VISIBLE_VIEWS else where & visible


# Each view's tickets are one `filter()` of one Q: the counts build a queryset per view on every page,
# and each further `filter()` copied the query built so far.


def _view_tickets(
    user: AbstractBaseUser, slug: str, visible: Q, now: datetime, teams: UserTeams | None = None
) -> QuerySet[Ticket]:
    where = _view_where(user, slug, visible, teams)
    state = QUEUE_VIEW_BY_SLUG[slug].sla_state
    return Ticket.objects.filter(where & sla_adapter.sla_state_q(state, now) if state else where)


def _view_count_arms(
    user: AbstractBaseUser, slug: str, visible: Q, now: datetime, teams: UserTeams
) -> QuerySet[Ticket] | tuple[QuerySet[Ticket], ...]:
    """The view's tickets for its count; an SLA view's as disjoint arms (`sla_adapter.sla_state_arms`)."""
    state = QUEUE_VIEW_BY_SLUG[slug].sla_state
    if not state:
        return _view_tickets(user, slug, visible, now, teams)
    where = _view_where(user, slug, visible, teams)
    return tuple(Ticket.objects.filter(where & arm) for arm in sla_adapter.sla_state_arms(state, now))


def queue_tickets(
    *, user: AbstractBaseUser, view: str, now: datetime, teams: UserTeams | None = None
) -> QuerySet[Ticket]:
    """The tickets of one queue view, visible to the user, with everything a row shows but its tags
    (`tickets.selectors.ticket_tag_names`) preloaded.

    `teams` is `user_teams(user)` when the caller has it already (else it costs a query)."""
    teams = user_teams(user) if teams is None else teams
    tickets = _view_tickets(user, view, ticket_visibility_q(user, teams), now, teams)
    # A row shows no team, and its tags come from `ticket_tag_names` (the ORM's prefetch of tag
    # instances cost more Python than the page's list query).
    return ticket_with_priority_rank(tickets.select_related("customer", "customer__organization", "assignee"))


def queue_counts(
    *,
    user: AbstractBaseUser,
    now: datetime,
    teams: UserTeams | None = None,
    views: list[QueueView] | None = None,
) -> dict[str, int]:
    """{view slug: count} of the user's views in one query, each counted up to `COUNT_CAP` ("1,000+").

    Exact counts would read every unsolved ticket of the user's teams, and for the views of solved and
    closed tickets a year of them, on every page view; capped, each reads at most `COUNT_CAP` + 1 rows
    through the indexes of its view, whatever the data size. `teams` and `views` are `user_teams(user)`
    and `queue_views(user)` when the caller has them already."""
    teams = user_teams(user) if teams is None else teams
    visible = ticket_visibility_q(user, teams)
    views = queue_views(user, teams) if views is None else views
    querysets = {view.slug: _view_count_arms(user, view.slug, visible, now, teams) for view in views}
    return capped_counts(querysets, COUNT_CAP)


def saved_view_list_q(
    *, user: AbstractBaseUser, team_ids: Iterable[int] | None = None
) -> QuerySet[SavedView]:
    """Saved views the user sees: their own and those shared with their teams (`team_ids` when the caller
    has them already)."""
    teams = _my_team_ids(user) if team_ids is None else team_ids
    return SavedView.objects.filter(Q(owner=user) | Q(team_id__in=teams)).select_related("team", "owner")


def my_teams(user: AbstractBaseUser) -> QuerySet[Team]:
    """The teams the user works in (member or lead)."""
    return Team.objects.filter(pk__in=_my_team_ids(user))


def saved_view_list(*, user: AbstractBaseUser, team_ids: Iterable[int] | None = None) -> list[SavedView]:
    """`saved_view_list_q`, own views first, then by name."""
    views = saved_view_list_q(user=user, team_ids=team_ids)
    return sorted(views, key=lambda view: (view.owner_id != user.pk, view.name.lower(), view.pk))


def presence_others(*, ticket: Ticket, user: AbstractBaseUser, now: datetime) -> list[TicketPresence]:
    """Other people who had this ticket open within the presence TTL, typists first."""
    return list(
        TicketPresence.objects.filter(ticket=ticket, last_seen_at__gte=now - PRESENCE_TTL)
        .exclude(user=user)
        .select_related("user")
        .order_by("-activity", "user__username")
    )


def macro_list(*, ticket: Ticket) -> QuerySet[Macro]:
    """Global macros and those of the ticket's team."""
    return Macro.objects.filter(Q(team__isnull=True) | Q(team_id=ticket.team_id)).prefetch_related("add_tags")


def macro_get(*, ticket: Ticket, pk: int) -> Macro:
    return macro_list(ticket=ticket).get(pk=pk)


def macro_render(*, macro: Macro, ticket: Ticket, agent: AbstractBaseUser) -> str:
    customer = ticket.customer
    return render_macro(
        macro.body,
        {
            "customer": {"name": customer.name, "first_name": customer.first_name, "email": customer.email},
            "ticket": {"reference": ticket.reference, "subject": ticket.subject},
            "agent": {
                "name": agent.get_full_name() or agent.get_username(),
                "first_name": agent.first_name or agent.get_username(),
            },
        },
    )


# Attached messages larger than this are offered as files only (the summary would need them in memory).
MAX_ATTACHED_MESSAGE_BYTES = 5 * 1024 * 1024
ATTACHED_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})


def ticket_thread(*, ticket: Ticket, show_remote_images_of: int | None = None) -> list[Message]:
    """The ticket's messages for the ticket page, each with what forwarding and attaching tell about it.

    `message.forward` is the inline forward of an email (who forwarded it is the author; the forwarded
    message's sender, date and subject are in it), or None; `attachment.as_message` summarises an attached
    `message/rfc822` part so it is shown as a message rather than an opaque file, or None.
    `message.display_html` is its HTML with remote images blocked (tracking pixels), except for the
    message `show_remote_images_of`; `message.remote_images_blocked` counts the blocked images.
    """
    messages = list(
        ticket.messages.select_related("author_user", "author_customer").prefetch_related("attachments")
    )
    for position, message in enumerate(messages):
        if message.pk == show_remote_images_of:
            shown = BlockedHtml(html=message.body_html, blocked=0)
        else:
            shown = block_remote_images(message.body_html)
        message.display_html, message.remote_images_blocked = shown.html, shown.blocked
        message.forward = None
        if message.channel == Channel.EMAIL and message.author_role == Message.AuthorRole.CUSTOMER:
            # Only the first message carries the ticket's subject, which tells an Outlook forward ("FW:").
            subject = ticket.subject if position == 0 else ""
            message.forward = split_forward(message.full_text or message.body_text, subject=subject)
        for attachment in message.attachments.all():
            attachment.as_message = _attached_message(attachment)
    return messages


def _attached_message(attachment: Attachment) -> ForwardedMessage | None:
    if attachment.content_type not in ATTACHED_MESSAGE_TYPES or not attachment.file:
        return None
    if attachment.size > MAX_ATTACHED_MESSAGE_BYTES:
        return None
    try:
        with attachment.file.open("rb") as handle:
            return attached_message(handle.read(MAX_ATTACHED_MESSAGE_BYTES))
    except OSError:
        return None


def customer_other_tickets(*, user: AbstractBaseUser, ticket: Ticket, limit: int = 20) -> list[Ticket]:
    """The customer's other tickets on every channel, as far as the user may see them."""
    return list(
        ticket_list(user=user)
        .filter(customer_id=ticket.customer_id)
        .exclude(pk=ticket.pk)
        .order_by("-created_at", "-pk")[:limit]
    )


def assignable_agent_names(*, user: AbstractBaseUser, team_ids: Iterable[int]) -> list[tuple[int, str]]:
    """(user id, name as `Agent.__str__` gives it) of the agents the user sees, by username: the queue's
    bulk "Assign to" choices, read as values (forty agents as model instances cost more than their query).
    `team_ids` are the user's teams."""
    agents = Agent.objects.filter(pk__in=Agent.objects.filter(visible_agents_q(user, team_ids))).order_by(
        "user__username"
    )
    names = agents.values_list("user_id", "user__first_name", "user__last_name", "user__username")
    return [(pk, f"{first} {last}".strip() or username) for pk, first, last, username in names]


def assignable_agents(*, team_id: int | None) -> QuerySet[Agent]:
    return Agent.objects.filter(teams=team_id).select_related("user").order_by("user__username")


def away_agent(assignee: AbstractBaseUser | None, *, current_id: int | None) -> Agent | None:
    """The agent a change would newly assign if they are marked away (the desk asks before doing it)."""
    if assignee is None or assignee.pk == current_id:
        return None
    return Agent.objects.filter(user=assignee, is_available=False).select_related("user").first()


def status_choices(status: str) -> list[tuple[str, str]]:
    """The current status and those it may move to (tickets/transitions.py), as (value, label)."""
    allowed = {status, *transitions.ALLOWED_TRANSITIONS.get(status, ())}
    return [(value, transitions.LABELS[value]) for value in transitions.ALL_STATUSES if value in allowed]


def reply_statuses(status: str) -> list[str]:
    """The statuses a reply may be sent as ("Send as pending", "Send as solved") from `status`."""
    allowed = {status, *transitions.ALLOWED_TRANSITIONS.get(status, ())}
    return [value for value in (transitions.PENDING, transitions.SOLVED) if value in allowed]


@dataclass
class BoardRow:
    agent: Agent
    open: int = 0
    pending: int = 0
    breaching: int = 0
    breached: int = 0
    load: int = 0  # unsolved tickets assigned to the agent in every team, against `agent.capacity`

    @property
    def over_capacity(self) -> bool:
        return self.load >= self.agent.capacity


@dataclass
class TeamBoard:
    team: Team
    unassigned: int = 0
    rows: list[BoardRow] = field(default_factory=list)


def board_team_ids(user: AbstractBaseUser) -> list[int]:
    if user_is_admin(user):
        return list(Team.objects.values_list("pk", flat=True))
    return led_team_ids(user)


def team_board(*, user: AbstractBaseUser, now: datetime) -> list[TeamBoard]:
    """Per led team: per agent open/pending/breaching/breached counts, their load against capacity, and
    the number of unassigned tickets (listed by `board_unassigned`).

    A fixed number of queries whatever the number of teams, agents and tickets.
    """
    team_ids = board_team_ids(user)
    teams = {team.pk: TeamBoard(team=team) for team in Team.objects.filter(pk__in=team_ids)}
    memberships = list(
        Agent.teams.through.objects.filter(team_id__in=team_ids)
        .select_related("agent__user")
        .order_by("agent__user__username")
    )
    # One pass over the unsolved tickets of the board's teams and of its agents in any team: capacity is
    # the agent's, not one team's, so their load counts tickets of teams that are not on this board too.
    agent_user_ids = sorted({membership.agent.user_id for membership in memberships})
    unsolved = Ticket.objects.filter(
        Q(team_id__in=team_ids) | Q(assignee_id__in=agent_user_ids), status__in=sorted(transitions.UNSOLVED)
    )
    measures = {
        "open": Count("pk"),
        "pending": Count("pk", filter=Q(status=Status.PENDING)),
        "breaching": Count("pk", filter=sla_adapter.sla_state_q(sla_adapter.BREACHING_SOON, now)),
        "breached": Count("pk", filter=sla_adapter.sla_state_q(sla_adapter.BREACHED_VIEW, now)),
    }
    per_agent: dict[tuple[int | None, int | None], dict] = {}
    loads: dict[int, int] = {}
    for row in unsolved.order_by().values("team_id", "assignee_id").annotate(**measures):
        per_agent[row["team_id"], row["assignee_id"]] = row
        if row["assignee_id"] is not None:
            loads[row["assignee_id"]] = loads.get(row["assignee_id"], 0) + row["open"]
    for membership in memberships:
        counts = per_agent.get((membership.team_id, membership.agent.user_id), {})
        teams[membership.team_id].rows.append(
            BoardRow(
                agent=membership.agent,
                open=counts.get("open", 0),
                pending=counts.get("pending", 0),
                breaching=counts.get("breaching", 0),
                breached=counts.get("breached", 0),
                load=loads.get(membership.agent.user_id, 0),
            )
        )
    for (team_id, assignee_id), counts in per_agent.items():
        if assignee_id is None and team_id in teams:
            teams[team_id].unassigned = counts["open"]
    return list(teams.values())


def board_unassigned(*, user: AbstractBaseUser) -> QuerySet[Ticket]:
    """Every unassigned unsolved ticket of the teams on the user's board, most urgent SLA first (tickets
    without a running clock last, older first among equals), as the index `ticket_next_sla_due` orders."""
    last = Value(NO_SLA_DUE, output_field=DateTimeField())
    return (
        Ticket.objects.filter(
            team_id__in=board_team_ids(user), status__in=transitions.UNSOLVED, assignee__isnull=True
        )
        .select_related("team", "customer")
        .annotate(next_sla_due_or_last=Coalesce("next_sla_due_at", last))
        .order_by("next_sla_due_or_last", "pk")
    )
