"""The breach forecast model (pure) on scenarios whose outcome is known by hand."""

from sla.forecast import AgentOnTeam, WaitingTicket, count_breaches, forecast, simulate, suggest_reassignments

HOUR = 3600
HALF = 30 * 60


def agent(user_id, available=True, capacity=10, open_tickets=0, skills=()):
    return AgentOnTeam(user_id, available, capacity, open_tickets, frozenset(skills))


def ticket(ticket_id, due_in, assignee=None, skills=()):
    return WaitingTicket(ticket_id, due_in, assignee, frozenset(skills))


def test_one_agent_works_her_tickets_earliest_due_first_and_the_last_one_is_late():
    # Ana holds three tickets due in 1 h, 1 h 30 and 1 h 20; each takes 30 minutes.
    tickets = [ticket(1, HOUR, 7), ticket(2, 90 * 60, 7), ticket(3, 80 * 60, 7)]
    outcomes = {o.ticket_id: o for o in simulate(tickets, [agent(7)], HALF)}
    assert (outcomes[1].finish_in, outcomes[3].finish_in, outcomes[2].finish_in) == (HALF, HOUR, 90 * 60)
    assert [outcomes[i].breaches for i in (1, 2, 3)] == [False, False, False]
    # A fourth ticket due in 100 minutes would finish at 120: it breaches.
    late = simulate([*tickets, ticket(4, 100 * 60, 7)], [agent(7)], HALF)
    assert [o.ticket_id for o in late if o.breaches] == [4]


def test_an_away_assignees_tickets_breach_at_their_due_time_if_nothing_changes():
    outcomes = simulate(
        [ticket(1, HOUR, 7), ticket(2, 5 * HOUR, 7)], [agent(7, available=False), agent(8)], HALF
    )
    assert all(o.breaches and o.worker_id is None for o in outcomes)
    assert count_breaches(outcomes) == {2: 1, 4: 1, 8: 2}


def test_unassigned_tickets_go_to_the_agent_free_soonest_with_the_skills_and_spare_capacity():
    agents = [agent(7, skills=[1]), agent(8, capacity=2, open_tickets=2, skills=[1, 2]), agent(9, skills=[2])]
    outcomes = {
        o.ticket_id: o
        for o in simulate([ticket(1, HOUR, skills=[2]), ticket(2, HOUR, skills=[1])], agents, HALF)
    }
    assert outcomes[1].worker_id == 9  # 8 has the skill but no spare capacity
    assert outcomes[2].worker_id == 7
    nobody = simulate([ticket(3, HOUR, skills=[3])], agents, HALF)
    assert nobody[0].worker_id is None and nobody[0].breaches


def test_suggestions_move_a_doomed_ticket_to_an_agent_who_can_finish_it_in_time():
    # Ana has two tickets due within 40 minutes: the second would finish at 60. Ben is free.
    tickets = [ticket(1, 30 * 60, 7), ticket(2, 40 * 60, 7)]
    agents = [agent(7), agent(8)]
    outcomes = simulate(tickets, agents, HALF)
    assert [o.ticket_id for o in outcomes if o.breaches] == [2]
    suggestions = suggest_reassignments(tickets, agents, HALF, outcomes)
    assert [(s.ticket_id, s.from_user_id, s.to_user_id, s.finish_in) for s in suggestions] == [
        (2, 7, 8, HALF)
    ]
    result = forecast(tickets, agents, HALF)
    assert result.breaches_within == {2: 1, 4: 1, 8: 1}
    assert result.breaches_within_after_suggestions == {2: 0, 4: 0, 8: 0}


def test_no_suggestion_when_nobody_could_finish_in_time_or_has_room():
    tickets = [ticket(1, 10 * 60, 7), ticket(2, 20 * 60, 7)]
    # Ben is free but a touch takes 30 minutes: neither ticket can be saved by moving it.
    assert (
        suggest_reassignments(
            tickets, [agent(7), agent(8)], HALF, simulate(tickets, [agent(7), agent(8)], HALF)
        )
        == []
    )
    full = [agent(7), agent(8, capacity=1, open_tickets=1)]
    tickets = [ticket(1, HOUR, 7), ticket(2, HOUR, 7), ticket(3, HOUR, 7)]
    assert suggest_reassignments(tickets, full, HALF, simulate(tickets, full, HALF)) == []
