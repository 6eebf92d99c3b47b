"""Routing on arrival: rules set team, priority, tags and skills; the team's strategy picks an agent.

Every intake path calls `ticket_route` right after `ticket_create`, except a new email ticket, which is
routed before it is written (`route_plan`, `route_assignee`; tickets/email/services.py). See
docs/intake-channels.md.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from tickets import services, transitions
from tickets.config_cache import cached, config_snapshot
from tickets.intake.matching import Candidate, keyword_found, pick_least_loaded, pick_round_robin
from tickets.models import Agent, AuditEntry, Message, RoutingRule, Skill, Status, Team, Ticket

ROUTING = "routing"


@dataclass(frozen=True)
class RuleMatch:
    rule: RoutingRule
    reasons: list[str]


def _routing_text(ticket: Ticket) -> str:
    bodies = ticket.messages.filter(author_role=Message.AuthorRole.CUSTOMER).values_list(
        "body_text", flat=True
    )
    return "\n".join([ticket.subject, *bodies])


def rule_matches(
    *, rule: RoutingRule, ticket: Ticket, received_at_address: str, text: str
) -> RuleMatch | None:
    """Whether every condition of `rule` holds for the ticket; with the reasons, for the audit trail."""
    reasons = []
    if rule.channels:
        if ticket.channel not in rule.channels:
            return None
        reasons.append(f"channel {ticket.channel}")
    if rule.received_at_addresses:
        address = received_at_address.strip().lower()
        if not address or address not in {a.strip().lower() for a in rule.received_at_addresses}:
            return None
        reasons.append(f"received at {address}")
    if rule.keywords:
        keyword = keyword_found(rule.keywords, text)
        if keyword is None:
            return None
        reasons.append(f"keyword {keyword!r}")
    organization_ids = {o.pk for o in rule.organizations.all()}
    if organization_ids:
        if ticket.customer.organization_id not in organization_ids:
            return None
        reasons.append(f"organization {ticket.customer.organization}")
    if rule.vip != RoutingRule.VipCondition.ANY:
        if ticket.customer.is_vip != (rule.vip == RoutingRule.VipCondition.VIP):
            return None
        reasons.append("VIP customer" if ticket.customer.is_vip else "non-VIP customer")
    return RuleMatch(rule=rule, reasons=reasons or ["no conditions (catch-all)"])


def _active_rules() -> list[RoutingRule]:
    return list(
        RoutingRule.objects.filter(is_active=True)
        .select_related("set_team")
        .prefetch_related("organizations", "add_required_skills")
        .order_by("position", "pk")
    )


def _first_matching_rule(*, ticket: Ticket, received_at_address: str, text: str) -> RuleMatch | None:
    for rule in cached("routing_rules", _active_rules):
        match = rule_matches(rule=rule, ticket=ticket, received_at_address=received_at_address, text=text)
        if match is not None:
            return match
    return None


@dataclass(frozen=True)
class RoutePlan:
    """What routing decides for a ticket before anything is written: the rule, the team and why."""

    match: RuleMatch | None
    team: Team | None
    chosen_by: str
    label: str  # the actor label of the changes routing makes

    @property
    def rule(self) -> RoutingRule | None:
        return self.match.rule if self.match else None


def route_plan(
    *, ticket: Ticket, received_at_address: str, arrival_team_reason: str, text: str | None = None
) -> RoutePlan:
    """The first matching rule and the team it gives (else the ticket's own team, else the default team).

    `text` is what keywords are matched in (the subject and the customer's messages); given, it saves
    reading the ticket's messages, so a ticket that is not written yet can be planned.
    """
    match = None
    if cached("routing_rules", _active_rules):
        if text is None:
            text = _routing_text(ticket)
        match = _first_matching_rule(ticket=ticket, received_at_address=received_at_address, text=text)
    rule = match.rule if match else None
    if rule is not None and rule.set_team is not None:
        team, chosen_by = rule.set_team, f"rule {rule.name!r}"
    elif ticket.team_id is not None:
        team, chosen_by = ticket.team, arrival_team_reason
    else:
        team = default_team()
        chosen_by = "the default team (no rule matched)" if team else "nothing: no rule and no default team"
    if rule is not None:
        label = f"{ROUTING}: rule {rule.name!r}"
    else:
        label = f"{ROUTING}: {chosen_by}" if team is not None else ROUTING
    return RoutePlan(match=match, team=team, chosen_by=chosen_by, label=label)


def default_team() -> Team | None:
    """The team marked default in the admin, else the team HELPDESK_DEFAULT_TEAM names, else None."""
    name = settings.HELPDESK_DEFAULT_TEAM
    return cached(f"default_team:{name}", lambda: _default_team(name))


def _default_team(name: str) -> Team | None:
    team = Team.objects.filter(is_default=True).first()
    if team is None and name:
        team = Team.objects.filter(name=name).first()
    return team


def team_for_address(address: str) -> Team | None:
    """The team whose email address this is (case-insensitive), if any."""
    teams = cached(
        "teams_by_address",
        lambda: {team.email_address.lower(): team for team in Team.objects.exclude(email_address="")},
    )
    return teams.get(address.strip().lower())


def _candidates(team: Team, agents) -> tuple[list[Candidate], dict[int, Agent]]:
    """Available agents of the team with their load (unsolved tickets assigned to them, in any team), and
    the agents with their users by id, read in the same statement."""
    load = (
        Ticket.objects.filter(assignee=OuterRef("user"), status__in=transitions.UNSOLVED)
        .order_by()
        .values("assignee")
        .annotate(count=Count("pk"))
        .values("count")
    )
    rows = list(
        agents.filter(teams=team, is_available=True)
        .select_related("user")
        .annotate(load=Coalesce(Subquery(load, output_field=IntegerField()), Value(0)))
    )
    candidates = [Candidate(agent_id=a.pk, load=a.load, capacity=a.capacity) for a in rows]
    return candidates, {agent.pk: agent for agent in rows}


def route_assignee(*, team: Team, skills: Callable[[], list[Skill]]) -> tuple[Agent | None, str]:
    """The agent the team's strategy picks for a ticket needing `skills()`, and why (or why nobody).

    Locks the team row (SELECT … FOR UPDATE): assignments within a team serialise on it, so concurrent
    routings see each other's round-robin pointer and load. A round-robin pick moves the pointer.
    """
    if team.assignment_strategy == Team.AssignmentStrategy.QUEUE:
        return None, "team works from the queue"
    team = Team.objects.select_for_update().get(pk=team.pk)
    agent, reason = _pick_agent(team=team, skills=skills)
    if agent is not None and team.assignment_strategy == Team.AssignmentStrategy.ROUND_ROBIN:
        Team.objects.filter(pk=team.pk).update(round_robin_last_agent=agent)
    return agent, reason


def _pick_agent(*, team: Team, skills: Callable[[], list[Skill]]) -> tuple[Agent | None, str]:
    """The agent the team's strategy picks, and why (or why nobody). The caller holds the team row lock."""
    strategy = team.assignment_strategy
    agents = Agent.objects.all()
    if strategy == Team.AssignmentStrategy.SKILL_BASED:
        skills = sorted(skills(), key=lambda skill: skill.name)
        if skills:
            qualified = (
                Agent.objects.filter(skills__in=skills)
                .annotate(matched=Count("skills", filter=Q(skills__in=skills), distinct=True))
                .filter(matched=len(skills))
                .values("pk")
            )
            agents = agents.filter(pk__in=qualified)
        candidates, by_id = _candidates(team, agents)
        skill_names = ", ".join(s.name for s in skills) or "none required"
        if not candidates:
            return (
                None,
                f"left in queue: no available agent of {team} has all required skills ({skill_names})",
            )
        picked = pick_least_loaded(candidates)
        if picked is None:
            return None, f"left in queue: every agent with the required skills ({skill_names}) is at capacity"
        reason = f"skill-based: has all required skills ({skill_names}); least loaded"
    else:
        candidates, by_id = _candidates(team, agents)
        if not candidates:
            return None, f"left in queue: no available agent in {team}"
        if strategy == Team.AssignmentStrategy.ROUND_ROBIN:
            picked = pick_round_robin(candidates, team.round_robin_last_agent_id)
            reason = "round-robin: next available agent after the team's last assignment"
        else:
            picked = pick_least_loaded(candidates)
            reason = "least loaded"
        if picked is None:
            return None, f"left in queue: every available agent in {team} is at capacity"
    reason += f" ({picked.load} of {picked.capacity} unsolved tickets before this one)"
    return by_id[picked.agent_id], reason


@transaction.atomic
def ticket_route(
    *,
    ticket: Ticket,
    received_at_address: str = "",
    arrival_team_reason: str = "the team it arrived with",
    now: datetime | None = None,
) -> Ticket:
    """Apply the first matching routing rule, then the team's assignment strategy; audit the decision.

    The team comes from the rule; without one the ticket keeps the team it arrived with (an
    integration's default team, the web form topic's team: `arrival_team_reason` says which), else the
    default team (`default_team`). A ticket that already has an assignee
    keeps it. Assignments within a team serialise on the team row (SELECT … FOR UPDATE), so two
    concurrent routings see each other's round-robin pointer and load.
    """
    with config_snapshot():  # rules, teams and SLA policies from the per-process cache, at one version
        return _route(
            ticket=ticket,
            received_at_address=received_at_address,
            arrival_team_reason=arrival_team_reason,
            now=now or timezone.now(),
        )


def _route(*, ticket: Ticket, received_at_address: str, arrival_team_reason: str, now: datetime) -> Ticket:
    ticket = Ticket.objects.select_for_update().select_related("customer").get(pk=ticket.pk)
    if ticket.status == Status.CLOSED:
        return ticket
    plan = route_plan(
        ticket=ticket, received_at_address=received_at_address, arrival_team_reason=arrival_team_reason
    )
    rule, label, team = plan.rule, plan.label, plan.team

    if rule is not None and rule.set_priority and rule.set_priority != ticket.priority:
        ticket = services.ticket_change_priority(
            ticket=ticket, priority=rule.set_priority, actor_label=label, now=now
        )
    if rule is not None and rule.add_tags:
        ticket = services.ticket_add_tags(ticket=ticket, names=rule.add_tags, actor_label=label, now=now)
    if rule is not None:
        _add_required_skills(ticket=ticket, skills=list(rule.add_required_skills.all()), label=label, now=now)
    if team is not None and team.pk != ticket.team_id:
        ticket = services.ticket_assign(ticket=ticket, team=team, actor_label=label, now=now)

    assignee = None
    if team is None:
        reason = "left unassigned: no rule or default team gives this ticket a team"
    elif ticket.assignee_id is not None:
        reason = "kept its assignee"
    else:
        agent, reason = route_assignee(
            team=team, skills=lambda: list(ticket.required_skills.order_by("name"))
        )
        if agent is not None:
            assignee = agent.user
            ticket = services.ticket_assign(ticket=ticket, assignee=assignee, actor_label=label, now=now)
    routed_audit_entry(
        ticket=ticket,
        plan=plan,
        received_at_address=received_at_address,
        assignee=assignee,
        reason=reason,
        now=now,
    ).save()
    return ticket


def routed_audit_entry(
    *,
    ticket: Ticket,
    plan: RoutePlan,
    received_at_address: str,
    assignee: AbstractBaseUser | None,
    reason: str,
    now: datetime,
) -> AuditEntry:
    """The (unsaved) audit row recording a routing decision and why it was taken."""
    rule, team, match = plan.rule, plan.team, plan.match
    return services.audit_entry(
        ticket=ticket,
        action=AuditEntry.Action.ROUTED,
        now=now,
        actor_label=plan.label,
        field="team",
        new_value=team or "",
        details={
            "rule_id": rule.pk if rule else None,
            "rule_name": rule.name if rule else None,
            "matched_on": match.reasons if match else [],
            "received_at_address": received_at_address,
            "team": team.name if team else None,
            "team_chosen_by": plan.chosen_by,
            "strategy": team.assignment_strategy if team else None,
            "assignee": assignee.get_username() if assignee else None,
            "assignment_reason": reason,
        },
    )


def _add_required_skills(*, ticket: Ticket, skills: list, label: str, now: datetime) -> None:
    existing = set(ticket.required_skills.values_list("pk", flat=True))
    for skill in skills:
        if skill.pk in existing:
            continue
        ticket.required_skills.add(skill)
        services.audit_field_change(
            ticket=ticket, field="required_skills", old="", new=skill.name, now=now, actor_label=label
        )
