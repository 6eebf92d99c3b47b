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
    message = str(error.value)
    assert old not in message.replace(transitions.LABELS[old].lower(), "")  # labels, never slugs
    assert "_" not in message
    if old != "closed":
        assert f"can't {'go back to' if new == 'new' else 'be set to'} {transitions.LABELS[new]}." in message
        assert "You can set it to " in message


def test_a_refusal_names_the_statuses_in_human_words():
    with pytest.raises(TransitionError) as error:
        check_transition("pending", "new")
    assert (
        str(error.value)
        == "A pending ticket can't go back to New. You can set it to Open, On hold or Solved."
    )


def test_allowed_targets_follow_the_lifecycle_order():
    assert transitions.allowed_targets("on_hold") == ["open", "pending", "solved"]
    assert transitions.allowed_targets("closed") == []


def test_closed_is_terminal_and_says_so():
    with pytest.raises(TransitionError, match="A closed ticket can't change any more"):
        check_transition("closed", "open")


def test_unknown_status_is_rejected_by_name():
    with pytest.raises(ValueError, match="Unknown status 'archived'"):
        check_transition("open", "archived")


def test_only_solved_to_open_counts_as_a_reopen():
    assert transitions.is_reopen("solved", "open")
    assert not transitions.is_reopen("pending", "open")
