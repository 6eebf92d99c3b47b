import pytest

from tickets.intake.matching import Candidate, keyword_found, pick_least_loaded, pick_round_robin


@pytest.mark.parametrize(
    ("keywords", "text", "expected"),
    [
        (["refund"], "I want a REFUND now", "refund"),
        (["refund"], "Refunds are slow", None),
        (["bill"], "billing question", None),
        (["invoice", "bill"], "Where is my bill?", "bill"),
        (["credit card"], "my Credit\n  Card was charged twice", "credit card"),
        (["c++"], "a c++ compiler", "c++"),
        (["  "], "anything", None),
        ([], "anything", None),
    ],
)
def test_keywords_match_whole_words_ignoring_case(keywords, text, expected):
    assert keyword_found(keywords, text) == expected


def test_least_loaded_is_relative_to_capacity_and_skips_full_agents():
    candidates = [
        Candidate(agent_id=1, load=5, capacity=10),  # 50 %
        Candidate(agent_id=2, load=3, capacity=4),  # 75 %
        Candidate(agent_id=3, load=2, capacity=2),  # full
    ]
    assert pick_least_loaded(candidates).agent_id == 1
    assert pick_least_loaded([Candidate(agent_id=3, load=2, capacity=2)]) is None
    assert pick_least_loaded([Candidate(agent_id=4, load=0, capacity=0)]) is None


def test_least_loaded_breaks_ties_by_smaller_load_then_id():
    candidates = [Candidate(agent_id=7, load=2, capacity=4), Candidate(agent_id=5, load=1, capacity=2)]
    assert pick_least_loaded(candidates).agent_id == 5
    assert pick_least_loaded([Candidate(9, 0, 3), Candidate(8, 0, 5)]).agent_id == 8


def test_round_robin_takes_the_next_agent_after_the_pointer_and_wraps():
    candidates = [Candidate(agent_id=i, load=0, capacity=5) for i in (4, 2, 9)]
    assert pick_round_robin(candidates, None).agent_id == 2
    assert pick_round_robin(candidates, 2).agent_id == 4
    assert pick_round_robin(candidates, 4).agent_id == 9
    assert pick_round_robin(candidates, 9).agent_id == 2
    # The pointer's agent left the team: continue after its id.
    assert pick_round_robin(candidates, 5).agent_id == 9


def test_round_robin_skips_full_agents():
    candidates = [Candidate(1, 0, 5), Candidate(2, 5, 5), Candidate(3, 0, 5)]
    assert pick_round_robin(candidates, 1).agent_id == 3
    assert pick_round_robin([Candidate(2, 5, 5)], None) is None
