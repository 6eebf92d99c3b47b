import threading

import pytest
from django.db import connection

from tests import factories
from tickets import services
from tickets.intake.routing import ticket_route
from tickets.models import AuditEntry, Channel, Priority, RoutingRule, Status, Team, Ticket

pytestmark = pytest.mark.django_db


def routed(ticket: Ticket, **kwargs) -> Ticket:
    ticket_route(ticket=ticket, **kwargs)
    return Ticket.objects.get(pk=ticket.pk)


def decision(ticket: Ticket) -> AuditEntry:
    return ticket.audit_entries.get(action=AuditEntry.Action.ROUTED)


def agent_in(team: Team, **kwargs):
    return factories.AgentFactory(teams=[team], **kwargs)


@pytest.fixture
def billing(db):
    return factories.TeamFactory(name="Billing")


# --- conditions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("channel", "matches"), [(Channel.CHAT, True), (Channel.EMAIL, False)])
def test_channel_condition(billing, channel, matches):
    factories.RoutingRuleFactory(channels=[Channel.CHAT, Channel.PHONE], set_team=billing)
    ticket = routed(factories.ticket(channel=channel))
    assert (ticket.team == billing) is matches


@pytest.mark.parametrize(
    ("address", "matches"),
    [("Billing@Acme.test", True), ("billing@acme.test", True), ("support@acme.test", False), ("", False)],
)
def test_receiving_address_condition_ignores_case(billing, address, matches):
    factories.RoutingRuleFactory(
        received_at_addresses=["billing@acme.test", "Mailbox Billing"], set_team=billing
    )
    ticket = routed(factories.ticket(), received_at_address=address)
    assert (ticket.team == billing) is matches


def test_receiving_address_condition_also_matches_a_mailbox_or_integration_name(billing):
    factories.RoutingRuleFactory(received_at_addresses=["Mailbox Billing"], set_team=billing)
    assert routed(factories.ticket(), received_at_address="mailbox billing").team == billing


@pytest.mark.parametrize(
    ("subject", "body", "matches"),
    [
        ("INVOICE wrong", "hello", True),
        ("Hello", "About my Invoice from May", True),
        ("Invoices", "preinvoice stuff", False),
        ("Hello", "nothing here", False),
    ],
)
def test_keyword_condition_looks_at_subject_and_body_whole_words(billing, subject, body, matches):
    factories.RoutingRuleFactory(keywords=["invoice", "refund"], set_team=billing)
    ticket = routed(factories.ticket(subject=subject, body_text=body))
    assert (ticket.team == billing) is matches


def test_organization_condition(billing):
    acme = factories.OrganizationFactory()
    factories.RoutingRuleFactory(organizations=[acme], set_team=billing)
    member = factories.CustomerFactory(organization=acme)
    outsider = factories.CustomerFactory()
    assert routed(factories.ticket(customer=member)).team == billing
    assert routed(factories.ticket(customer=outsider)).team is None


@pytest.mark.parametrize(
    ("vip_condition", "is_vip", "matches"),
    [
        (RoutingRule.VipCondition.VIP, True, True),
        (RoutingRule.VipCondition.VIP, False, False),
        (RoutingRule.VipCondition.NON_VIP, False, True),
        (RoutingRule.VipCondition.NON_VIP, True, False),
        (RoutingRule.VipCondition.ANY, True, True),
    ],
)
def test_vip_condition(billing, vip_condition, is_vip, matches):
    factories.RoutingRuleFactory(vip=vip_condition, set_team=billing)
    ticket = routed(factories.ticket(customer=factories.CustomerFactory(is_vip=is_vip)))
    assert (ticket.team == billing) is matches


def test_all_conditions_of_a_rule_must_hold(billing):
    factories.RoutingRuleFactory(channels=[Channel.WEB], keywords=["refund"], set_team=billing)
    assert routed(factories.ticket(channel=Channel.WEB, subject="refund please")).team == billing
    assert routed(factories.ticket(channel=Channel.EMAIL, subject="refund please")).team is None
    assert routed(factories.ticket(channel=Channel.WEB, subject="hello", body_text="hi")).team is None


def test_first_matching_rule_by_position_wins_and_inactive_rules_are_skipped(billing):
    sales = factories.TeamFactory(name="Sales")
    vip_team = factories.TeamFactory(name="VIP")
    factories.RoutingRuleFactory(name="inactive", position=1, is_active=False, set_team=vip_team)
    factories.RoutingRuleFactory(name="catch-all", position=30, set_team=sales)
    rule = factories.RoutingRuleFactory(name="invoices", position=20, keywords=["invoice"], set_team=billing)
    ticket = routed(factories.ticket(subject="invoice"))
    assert ticket.team == billing
    entry = decision(ticket)
    assert entry.details["rule_id"] == rule.pk
    assert entry.details["rule_name"] == "invoices"
    assert entry.details["matched_on"] == ["keyword 'invoice'"]
    assert entry.actor_label == "routing: rule 'invoices'"
    assert routed(factories.ticket(subject="hello", body_text="hi")).team == sales


# --- actions --------------------------------------------------------------------------------------


def test_rule_actions_set_priority_tags_and_required_skills_with_audit(billing):
    german = factories.SkillFactory(name="german")
    factories.RoutingRuleFactory(
        set_team=billing,
        set_priority=Priority.HIGH,
        add_tags=["Billing", "from-rule"],
        add_required_skills=[german],
    )
    ticket = routed(factories.ticket())
    assert ticket.team == billing
    assert ticket.priority == Priority.HIGH
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["billing", "from-rule"]
    assert list(ticket.required_skills.all()) == [german]
    fields = set(ticket.audit_entries.values_list("field", flat=True))
    assert {"team", "priority", "tags", "required_skills"} <= fields


def test_without_a_matching_rule_the_default_team_setting_applies(settings, billing):
    settings.HELPDESK_DEFAULT_TEAM = "Billing"
    ticket = routed(factories.ticket())
    assert ticket.team == billing
    entry = decision(ticket)
    assert entry.details["rule_id"] is None
    assert entry.details["team"] == "Billing"
    assert entry.details["team_chosen_by"] == "the default team (no rule matched)"
    assert entry.actor_label == "routing: the default team (no rule matched)"


def test_the_team_marked_default_in_the_admin_wins_over_the_setting(settings, billing):
    settings.HELPDESK_DEFAULT_TEAM = "Other"
    factories.TeamFactory(name="Other")
    services.team_update(team=billing, is_default=True)
    assert routed(factories.ticket()).team == billing


def test_marking_a_second_team_default_unmarks_the_first(billing):
    other = factories.TeamFactory(name="Other")
    services.team_update(team=billing, is_default=True)
    services.team_update(team=other, is_default=True)
    assert list(Team.objects.filter(is_default=True)) == [other]


def test_a_ticket_without_rule_or_default_team_stays_unassigned_and_says_why(settings):
    settings.HELPDESK_DEFAULT_TEAM = ""
    ticket = routed(factories.ticket())
    assert ticket.team is None
    assert "no rule or default team" in decision(ticket).details["assignment_reason"]


def test_a_team_given_at_intake_is_kept_when_no_rule_sets_one(settings, billing):
    settings.HELPDESK_DEFAULT_TEAM = "Other"
    factories.TeamFactory(name="Other")
    assert routed(factories.ticket(team=billing)).team == billing


def test_routing_a_closed_ticket_does_nothing(billing, ticket):
    factories.RoutingRuleFactory(set_team=billing)
    services.ticket_change_status(ticket=ticket, status=Status.SOLVED)
    services.ticket_change_status(ticket=ticket, status=Status.CLOSED)
    assert routed(ticket).team != billing
    assert not ticket.audit_entries.filter(action=AuditEntry.Action.ROUTED).exists()


# --- assignment strategies ------------------------------------------------------------------------


def test_queue_strategy_leaves_the_ticket_unassigned(billing):
    agent_in(billing)
    ticket = routed(factories.ticket(team=billing))
    assert ticket.assignee is None
    assert decision(ticket).details["assignment_reason"] == "team works from the queue"


def test_round_robin_rotates_through_available_agents_and_persists_the_pointer(billing):
    billing.assignment_strategy = Team.AssignmentStrategy.ROUND_ROBIN
    billing.save()
    first, away, second = agent_in(billing), agent_in(billing, is_available=False), agent_in(billing)
    assignees = [routed(factories.ticket(team=billing)).assignee for _ in range(3)]
    assert assignees == [first.user, second.user, first.user]
    billing.refresh_from_db()
    assert billing.round_robin_last_agent == first
    assert away.user not in assignees


def test_round_robin_skips_agents_at_capacity(billing):
    billing.assignment_strategy = Team.AssignmentStrategy.ROUND_ROBIN
    billing.save()
    full = agent_in(billing, capacity=1)
    other = agent_in(billing)
    factories.ticket(team=billing, assignee=full.user)
    assert [routed(factories.ticket(team=billing)).assignee for _ in range(2)] == [other.user, other.user]


def test_least_loaded_picks_the_lowest_load_relative_to_capacity(billing):
    billing.assignment_strategy = Team.AssignmentStrategy.LEAST_LOADED
    billing.save()
    big = agent_in(billing, capacity=10)
    small = agent_in(billing, capacity=2)
    for _ in range(3):
        factories.ticket(team=billing, assignee=big.user)  # 30 %
    factories.ticket(team=billing, assignee=small.user)  # 50 %
    solved = factories.ticket(team=billing, assignee=big.user)
    services.ticket_change_status(ticket=solved, status=Status.SOLVED)  # solved tickets are no load
    ticket = routed(factories.ticket(team=billing))
    assert ticket.assignee == big.user
    assert "least loaded (3 of 10" in decision(ticket).details["assignment_reason"]


def test_least_loaded_skips_away_agents_and_agents_at_capacity(billing):
    billing.assignment_strategy = Team.AssignmentStrategy.LEAST_LOADED
    billing.save()
    agent_in(billing, is_available=False)
    full = agent_in(billing, capacity=1)
    factories.ticket(team=billing, assignee=full.user)
    ticket = routed(factories.ticket(team=billing))
    assert ticket.assignee is None
    assert "at capacity" in decision(ticket).details["assignment_reason"]


def test_a_team_with_only_away_agents_leaves_the_ticket_in_queue(billing):
    billing.assignment_strategy = Team.AssignmentStrategy.LEAST_LOADED
    billing.save()
    agent_in(billing, is_available=False)
    ticket = routed(factories.ticket(team=billing))
    assert ticket.assignee is None
    assert "no available agent" in decision(ticket).details["assignment_reason"]


def test_skill_based_picks_the_least_loaded_agent_with_all_required_skills(billing):
    billing.assignment_strategy = Team.AssignmentStrategy.SKILL_BASED
    billing.save()
    german, sap = factories.SkillFactory(name="german"), factories.SkillFactory(name="sap")
    agent_in(billing, skills=[german])  # lacks sap
    busy_expert = agent_in(billing, skills=[german, sap])
    free_expert = agent_in(billing, skills=[german, sap])
    agent_in(billing, skills=[german, sap], is_available=False)
    factories.ticket(team=billing, assignee=busy_expert.user)
    factories.RoutingRuleFactory(set_team=billing, add_required_skills=[german, sap])
    ticket = routed(factories.ticket())
    assert ticket.assignee == free_expert.user
    assert "german, sap" in decision(ticket).details["assignment_reason"]


def test_skill_based_leaves_the_ticket_in_queue_when_nobody_has_the_skills(billing):
    billing.assignment_strategy = Team.AssignmentStrategy.SKILL_BASED
    billing.save()
    agent_in(billing, skills=[factories.SkillFactory(name="german")])
    factories.RoutingRuleFactory(
        set_team=billing, add_required_skills=[factories.SkillFactory(name="japanese")]
    )
    ticket = routed(factories.ticket())
    assert ticket.assignee is None
    reason = decision(ticket).details["assignment_reason"]
    assert reason.startswith("left in queue") and "japanese" in reason


def test_skill_based_without_required_skills_is_least_loaded(billing):
    billing.assignment_strategy = Team.AssignmentStrategy.SKILL_BASED
    billing.save()
    busy, free = agent_in(billing), agent_in(billing)
    factories.ticket(team=billing, assignee=busy.user)
    assert routed(factories.ticket(team=billing)).assignee == free.user


def test_a_ticket_with_an_assignee_keeps_it(billing):
    billing.assignment_strategy = Team.AssignmentStrategy.LEAST_LOADED
    billing.save()
    chosen = agent_in(billing)
    agent_in(billing)
    ticket = routed(factories.ticket(team=billing, assignee=chosen.user))
    assert ticket.assignee == chosen.user
    assert decision(ticket).details["assignment_reason"] == "kept its assignee"


def test_the_routing_decision_records_team_strategy_and_assignee(billing):
    billing.assignment_strategy = Team.AssignmentStrategy.ROUND_ROBIN
    billing.save()
    agent = agent_in(billing)
    rule = factories.RoutingRuleFactory(name="everything", set_team=billing)
    ticket = routed(factories.ticket(), received_at_address="support@acme.test")
    details = decision(ticket).details
    assert details == {
        "rule_id": rule.pk,
        "rule_name": "everything",
        "matched_on": ["no conditions (catch-all)"],
        "received_at_address": "support@acme.test",
        "team": "Billing",
        "team_chosen_by": "rule 'everything'",
        "strategy": "round_robin",
        "assignee": agent.user.username,
        "assignment_reason": details["assignment_reason"],
    }
    assert details["assignment_reason"].startswith("round-robin")


def test_routing_runs_a_bounded_number_of_queries(billing, django_assert_max_num_queries):
    billing.assignment_strategy = Team.AssignmentStrategy.SKILL_BASED
    billing.save()
    for _ in range(5):
        agent_in(billing, skills=[factories.SkillFactory(name="german")])
    for position in range(10):
        factories.RoutingRuleFactory(position=position, keywords=[f"word{position}"], set_team=billing)
    factories.RoutingRuleFactory(
        position=99, set_team=billing, add_required_skills=[factories.SkillFactory(name="german")]
    )
    ticket = factories.ticket()
    # The same for 1 or 100 rules and agents. Each change (team, then assignee) makes one webhook-subscription
    # lookup; the SLA hook costs 2 queries (any active policy? any open clock?) on the team change only,
    # since policies never match on the assignee; each change also counts a station (one UPDATE);
    # the assignment notice queues its email in the outbox (one INSERT) after reading the assignee's
    # unread assignment entry (one per ticket and kind, written in a savepoint pair) and their email
    # preferences; each change also reads the ticket's followers.
    with django_assert_max_num_queries(40):
        ticket_route(ticket=ticket)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_round_robin_routings_pick_different_agents():
    team = factories.TeamFactory(assignment_strategy=Team.AssignmentStrategy.ROUND_ROBIN)
    agents = [agent_in(team), agent_in(team)]
    tickets = [factories.ticket(team=team), factories.ticket(team=team)]
    barrier = threading.Barrier(2)
    errors = []

    def route(ticket: Ticket) -> None:
        try:
            barrier.wait()
            ticket_route(ticket=ticket)
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=route, args=(t,)) for t in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assignees = {Ticket.objects.get(pk=t.pk).assignee_id for t in tickets}
    assert assignees == {a.user_id for a in agents}
    team.refresh_from_db()
    assert team.round_robin_last_agent in agents
