"""Descriptive statistics over already-sorted value lists (pure: no Django imports).

`percentile_cont` matches PostgreSQL's `percentile_cont` (linear interpolation between the two
nearest ranks), so the SQLite fallback of `tickets.reporting.metrics` reports the same numbers.
"""

from collections.abc import Sequence


def percentile_cont(sorted_values: Sequence[float], fraction: float) -> float | None:
    if not 0 <= fraction <= 1:
        raise ValueError(f"A percentile fraction is between 0 and 1, not {fraction}.")
    if not sorted_values:
        return None
    position = fraction * (len(sorted_values) - 1)
    lower = int(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    weight = position - lower
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * weight


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None
