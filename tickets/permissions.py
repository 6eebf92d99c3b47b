"""Who may see and do what, in one place for the API, the admin dashboard and the agent UI.

Rules:
- An admin (active superuser) sees and acts on everything.
- An agent sees and acts on the tickets of their teams (and tickets assigned to them), following
  `tickets.selectors.ticket_visibility_q`. Anything else answers 404, never 403, so ids of other
  teams' tickets, messages and attachments reveal nothing.
- A team lead (`Team.lead`) is treated as a member of the team, and also manages the team's
  settings and its agents' availability, and sees the team's metrics.
- Customers and organizations: an agent sees the customers who have at least one ticket they can
  see, and the organizations of those customers. A customer with no such ticket is unknown to them.
- Teams: every helpdesk user may list all teams (names are needed to transfer tickets); only the
  lead or an admin may change one.
- Agents: an agent sees the agents who share a team with them; availability may be changed by the
  agent themself, a lead of one of the agent's teams, or an admin.
- Users who are neither agents, team leads nor admins may not use the API at all (403).
"""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, Q
from rest_framework import permissions

from tickets.models import Agent, Customer, Team, Ticket
from tickets.selectors import ticket_visibility_q, user_is_admin, user_team_ids


def user_is_helpdesk_staff(user: AbstractBaseUser) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    return Agent.objects.filter(user=user).exists() or Team.objects.filter(lead=user).exists()


def led_team_ids(user: AbstractBaseUser) -> list[int]:
    if not user.is_authenticated:
        return []
    return list(Team.objects.filter(lead=user).values_list("pk", flat=True))


def can_manage_team(user: AbstractBaseUser, team: Team) -> bool:
    return user_is_admin(user) or (user.is_authenticated and team.lead_id == user.pk)


def can_set_agent_availability(user: AbstractBaseUser, agent: Agent) -> bool:
    if user_is_admin(user) or agent.user_id == user.pk:
        return True
    return agent.teams.filter(lead=user).exists()


def visible_tickets_q(user: AbstractBaseUser) -> Q:
    return ticket_visibility_q(user)


def visible_customers_q(user: AbstractBaseUser) -> Q:
    if user_is_admin(user):
        return Q()
    visible = Ticket.objects.filter(ticket_visibility_q(user), customer=OuterRef("pk"))
    return Q(Exists(visible))


def visible_organizations_q(user: AbstractBaseUser) -> Q:
    if user_is_admin(user):
        return Q()
    customers = Customer.objects.filter(visible_customers_q(user), organization=OuterRef("pk"))
    return Q(Exists(customers))


def visible_agents_q(user: AbstractBaseUser, team_ids: Iterable[int] | None = None) -> Q:
    """`team_ids` is `user_team_ids(user)` when the caller has it already."""
    if user_is_admin(user):
        return Q()
    return Q(teams__in=user_team_ids(user) if team_ids is None else team_ids) | Q(user=user)


def metrics_team_ids(user: AbstractBaseUser) -> list[int] | None:
    """Teams whose metrics the user may read: None means all (admins), [] means none."""
    if user_is_admin(user):
        return None
    return led_team_ids(user)


class IsHelpdeskStaff(permissions.BasePermission):
    message = "This API is for agents, team leads and admins; ask an admin to add you as an agent."

    def has_permission(self, request, view) -> bool:
        return user_is_helpdesk_staff(request.user)


class IsTeamLeadOrAdmin(permissions.BasePermission):
    message = "Only team leads and admins may do this."

    def has_permission(self, request, view) -> bool:
        return user_is_admin(request.user) or bool(led_team_ids(request.user))
