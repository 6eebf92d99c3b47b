"""Fixed-edge value histograms of whole seconds, and percentiles read from them with a proven error bound
(pure: no Django imports).

The daily metrics rollup (`tickets.reporting.rollup`) keeps, per day and group, how many durations fell
into each bucket. Buckets are fixed for all time, so histograms of any days and groups add up by bucket:

- 0 ≤ v < 64 s: one bucket per second (exact);
- from 64 s on: edges at ⌊64 · 2^(k/16)⌋, so a bucket is at most 4.4 % (plus one second) wide.

`percentile_cont` follows PostgreSQL's (and `tickets.reporting.stats`'s) interpolation between the two
nearest ranks, but places each rank at the middle of the bucket that holds it. So the estimate is off
from the exact percentile by at most half the width of the widest bucket involved: `error_bound(v)` for
the upper of the two ranks' values v, which is at most 2.22 % of v plus half a second, and zero below 64 s.
"""

from bisect import bisect_right
from collections.abc import Iterable

LINEAR_LIMIT = 64
STEPS_PER_DOUBLING = 16
MAX_SECONDS = 2**40  # about 35,000 years: far beyond any duration; larger values share the last bucket


def _edges() -> tuple[int, ...]:
    edges = list(range(LINEAR_LIMIT + 1))
    k = 0
    while edges[-1] < MAX_SECONDS:
        k += 1
        edge = int(LINEAR_LIMIT * 2 ** (k / STEPS_PER_DOUBLING))
        if edge > edges[-1]:
            edges.append(edge)
    return tuple(edges)


#: EDGES[b] is the lowest value of bucket b; bucket b holds EDGES[b] ≤ v < EDGES[b + 1].
EDGES = _edges()


def bucket_of(seconds: int) -> int:
    """The bucket of a non-negative whole number of seconds."""
    return max(0, bisect_right(EDGES, seconds) - 1)


def bucket_bounds(bucket: int) -> tuple[int, int]:
    """The lowest and highest whole-second value of a bucket."""
    high = EDGES[bucket + 1] - 1 if bucket + 1 < len(EDGES) else EDGES[bucket]
    return EDGES[bucket], high


def bucket_value(bucket: int) -> float:
    """The value a rank in this bucket is placed at: the middle of the bucket."""
    low, high = bucket_bounds(bucket)
    return (low + high) / 2


def error_bound(seconds: float) -> float:
    """How far a percentile estimate may be from the exact one whose upper rank's value is `seconds`."""
    low, high = bucket_bounds(bucket_of(int(seconds)))
    return (high - low) / 2


def percentile_cont(counts: Iterable[tuple[int, int]], fraction: float) -> float | None:
    """The interpolated percentile of a histogram given as (bucket, count) pairs in any order."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"A percentile fraction is between 0 and 1, not {fraction}.")
    ordered = sorted((bucket, n) for bucket, n in counts if n)
    total = sum(n for _, n in ordered)
    if not total:
        return None
    position = fraction * (total - 1)
    lower = int(position)
    upper = min(lower + 1, total - 1)
    weight = position - lower
    low_value = high_value = None
    seen = 0
    for bucket, n in ordered:
        seen += n
        if low_value is None and lower < seen:
            low_value = bucket_value(bucket)
        if upper < seen:
            high_value = bucket_value(bucket)
            break
    return low_value + (high_value - low_value) * weight


#: The percentiles the metrics report, in tenths: the median and p90.
PERCENTILE_TENTHS = (5, 9)


def percentile_ranks(total: int) -> set[int]:
    """The ranks (0-based, in value order) that the reported percentiles of `total` values interpolate."""
    ranks = set()
    for tenths in PERCENTILE_TENTHS:
        lower = tenths * (total - 1) // 10
        ranks.update((lower, min(lower + 1, total - 1)))
    return ranks


def percentile_from_segments(
    segments: Iterable[tuple[int, int, int]], total: int, fraction: float
) -> float | None:
    """`percentile_cont` from the buckets that hold the needed ranks only: (bucket, ranks before it,
    ranks up to and including it) for a histogram of `total` values (the database picks them)."""
    if not total:
        return None
    position = fraction * (total - 1)
    lower = int(position)
    upper = min(lower + 1, total - 1)
    values = {}
    for bucket, before, through in segments:
        for rank in (lower, upper):
            if before <= rank < through:
                values[rank] = bucket_value(bucket)
    return values[lower] + (values[upper] - values[lower]) * (position - lower)
