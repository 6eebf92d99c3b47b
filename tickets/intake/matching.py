"""Pure routing computations: keyword matching and picking an agent (no Django imports)."""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def keyword_found(keywords: Iterable[str], text: str) -> str | None:
    """The first keyword that occurs in `text` as a whole word or phrase, ignoring case; else None.

    "bill" does not match "billing"; "refund request" matches "Refund  request" (any whitespace).
    """
    for keyword in keywords:
        words = keyword.split()
        if not words:
            continue
        pattern = r"(?<!\w)" + r"\s+".join(re.escape(word) for word in words) + r"(?!\w)"
        if re.search(pattern, text, flags=re.IGNORECASE):
            return keyword
    return None


@dataclass(frozen=True)
class Candidate:
    agent_id: int
    load: int
    capacity: int

    @property
    def has_room(self) -> bool:
        return self.load < self.capacity


def pick_least_loaded(candidates: Sequence[Candidate]) -> Candidate | None:
    """The agent with the lowest load relative to capacity; ties go to the smaller load, then the lower id.

    Agents at or over capacity are never picked.
    """
    with_room = [c for c in candidates if c.has_room]
    if not with_room:
        return None
    return min(with_room, key=lambda c: (c.load / c.capacity, c.load, c.agent_id))


def pick_round_robin(candidates: Sequence[Candidate], last_agent_id: int | None) -> Candidate | None:
    """The next agent with room after `last_agent_id` in id order, wrapping around."""
    with_room = sorted((c for c in candidates if c.has_room), key=lambda c: c.agent_id)
    if not with_room:
        return None
    if last_agent_id is not None:
        for candidate in with_room:
            if candidate.agent_id > last_agent_id:
                return candidate
    return with_room[0]
