import itertools

import pytest

from tickets import transitions
from tickets.transitions import ALL_STATUSES, ALLOWED_TRANSITIONS, TransitionError, check_transition

ALLOWED = [
    ("new", "open"),
    ("new", "pending"),
    ("new", "on_hold"),
    ("new", "solved"),
    ("open", "pending"),
    ("open", "on_hold"),
    ("open", "solved"),
    ("pending", "open"),
    ("pending", "on_hold"),
    ("pending", "solved"),
    ("on_hold", "open"),
    ("on_hold", "pending"),
    ("on_hold", "solved"),
    ("solved", "open"),
    ("solved", "closed"),
]
REFUSED = [
    pair
    for pair in itertools.product(ALL_STATUSES, ALL_STATUSES)
    if pair not in ALLOWED and pair[0] != pair[1]
]


def test_the_table_lists_exactly_the_documented_transitions():
    table = {(old, new) for old, targets in ALLOWED_TRANSITIONS.items() for new in targets}
    assert table == set(ALLOWED)


@pytest.mark.parametrize(("old", "new"), ALLOWED)
def test_allowed_transition_passes(old, new):
    check_transition(old, new)


@pytest.mark.parametrize(("old", "new"), REFUSED)
def test_refused_transition_raises_a_clear_error(old, new):
    with pytest.raises(TransitionError) as error:
        check_transition(old, new)
    assert f"from {old!r} to {new!r}" in str(error.value)
    assert "allowed from" in str(error.value)


def test_closed_is_terminal_and_says_so():
    with pytest.raises(TransitionError, match="closed tickets are immutable"):
        check_transition("closed", "open")


def test_unknown_status_is_rejected_by_name():
    with pytest.raises(ValueError, match="Unknown status 'archived'"):
        check_transition("open", "archived")


def test_only_solved_to_open_counts_as_a_reopen():
    assert transitions.is_reopen("solved", "open")
    assert not transitions.is_reopen("pending", "open")
