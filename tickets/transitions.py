"""The one table of allowed ticket status changes (pure: no Django imports).

Statuses are plain strings so this module stays importable anywhere; `tickets.models.Status`
uses the same values.
"""

from tickets.exceptions import DomainError

NEW = "new"
OPEN = "open"
PENDING = "pending"  # waiting on the customer
ON_HOLD = "on_hold"  # waiting on a third party
SOLVED = "solved"
CLOSED = "closed"

ALL_STATUSES = (NEW, OPEN, PENDING, ON_HOLD, SOLVED, CLOSED)

# What people read; `tickets.models.Status` uses the same labels.
LABELS = {
    NEW: "New",
    OPEN: "Open",
    PENDING: "Pending",
    ON_HOLD: "On hold",
    SOLVED: "Solved",
    CLOSED: "Closed",
}

# Closed is terminal: a closed ticket is immutable and later messages open a linked follow-up.
# Only solved tickets close (by the auto-close sweep or by hand); merging is the one other way in,
# see MERGE_CLOSABLE.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    NEW: frozenset({OPEN, PENDING, ON_HOLD, SOLVED}),
    OPEN: frozenset({PENDING, ON_HOLD, SOLVED}),
    PENDING: frozenset({OPEN, ON_HOLD, SOLVED}),
    ON_HOLD: frozenset({OPEN, PENDING, SOLVED}),
    SOLVED: frozenset({OPEN, CLOSED}),
    CLOSED: frozenset(),
}

# A merged-away ticket is closed whatever its status, as long as it is not closed already.
MERGE_CLOSABLE = frozenset({NEW, OPEN, PENDING, ON_HOLD, SOLVED})

# Statuses that count as "unsolved" work in queues and backlogs.
UNSOLVED = frozenset({NEW, OPEN, PENDING, ON_HOLD})

# A customer message moves these statuses back to open (solved -> open is a reopen).
REOPENED_BY_CUSTOMER_REPLY = frozenset({PENDING, SOLVED})


class TransitionError(DomainError):
    """A status change that the lifecycle does not allow, explained in the words of the desk."""

    def __init__(self, old: str, new: str) -> None:
        self.old = old
        self.new = new
        super().__init__(refusal(old, new))


def allowed_targets(old: str) -> list[str]:
    """The statuses a ticket in `old` may move to, in lifecycle order."""
    return [status for status in ALL_STATUSES if status in ALLOWED_TRANSITIONS.get(old, ())]


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def refusal(old: str, new: str) -> str:
    """'A pending ticket can't go back to New. You can set it to Open, On hold or Solved.'"""
    if old == CLOSED:
        return "A closed ticket can't change any more; a new customer message opens a follow-up ticket."
    going = "go back to" if new == NEW else "be set to"
    targets = _join([LABELS[status] for status in allowed_targets(old)])
    return f"{_A_TICKET[old]} can't {going} {LABELS[new]}. You can set it to {targets}."


_A_TICKET = {
    NEW: "A new ticket",
    OPEN: "An open ticket",
    PENDING: "A pending ticket",
    ON_HOLD: "A ticket on hold",
    SOLVED: "A solved ticket",
}


def check_transition(old: str, new: str) -> None:
    # str() turns enum members (Django's TextChoices) into their plain values for clear messages.
    old, new = str(old), str(new)
    if old not in ALLOWED_TRANSITIONS:
        raise ValueError(f"Unknown status {old!r}; expected one of {', '.join(ALL_STATUSES)}.")
    if new not in ALLOWED_TRANSITIONS:
        raise ValueError(f"Unknown status {new!r}; expected one of {', '.join(ALL_STATUSES)}.")
    if new not in ALLOWED_TRANSITIONS[old]:
        raise TransitionError(old, new)


def is_reopen(old: str, new: str) -> bool:
    return old == SOLVED and new == OPEN
