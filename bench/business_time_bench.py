"""Benchmark sla.business_time against a straightforward day-by-day implementation.

Run from the project root: ``.venv/bin/python bench/business_time_bench.py``. The table goes to stdout,
progress to stderr. Both implementations must agree on every result, or the script exits with an error.

The calendar is Europe/Copenhagen, Monday-Friday 09:00-17:00, with Danish public holidays, starting Monday
2025-03-03 09:00, so the longer spans cross both DST changes and a dozen holidays.
"""

from __future__ import annotations

import os
import platform
import sys
import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from timeit import Timer
from zoneinfo import ZoneInfo

# Run as a plain script, the project root is not on sys.path; sla is a top-level package there.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sla import business_time
from sla.business_time import BusinessCalendar, add_business_seconds, business_seconds_between
from sla.holiday_import import public_holidays

ZONE_NAME = "Europe/Copenhagen"
ZONE = ZoneInfo(ZONE_NAME)
OPENING, CLOSING = time(9), time(17)
HOLIDAYS = public_holidays("DK", None, [2025, 2026])
CALENDAR = BusinessCalendar(ZONE_NAME, {weekday: [(OPENING, CLOSING)] for weekday in range(5)}, HOLIDAYS)
START = datetime(2025, 3, 3, 9, 0, tzinfo=ZONE)
HOUR = 3600
TARGETS: dict[str, int] = {
    "1 hour": HOUR,
    "1 business day": 8 * HOUR,
    "30 business days": 30 * 8 * HOUR,
    # All the business time of one calendar year from the start (about 250 days).
    "1 year": business_seconds_between(CALENDAR, START, START.replace(year=START.year + 1)),
}
MEASURE_SECONDS = 0.1  # per timing repeat; five repeats, best one kept


def baseline_add(start: datetime, seconds: int) -> datetime:
    """Day-by-day: build each local date's opening hours as real instants and consume them in order."""
    remaining = timedelta(seconds=seconds)
    start_utc = start.astimezone(UTC)
    day = start.astimezone(ZONE).date()
    while True:
        opening_hours = _baseline_opening_hours(day)
        if opening_hours is not None:
            opens, closes = opening_hours
            begin = max(opens, start_utc)
            if begin < closes:
                if remaining <= closes - begin:
                    return (begin + remaining).astimezone(ZONE)
                remaining -= closes - begin
        day += timedelta(days=1)


def baseline_between(start: datetime, end: datetime) -> int:
    total = timedelta(0)
    start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
    day = start.astimezone(ZONE).date()
    while day <= end.astimezone(ZONE).date():
        opening_hours = _baseline_opening_hours(day)
        if opening_hours is not None:
            opens, closes = opening_hours
            total += max(timedelta(0), min(closes, end_utc) - max(opens, start_utc))
        day += timedelta(days=1)
    return int(total.total_seconds())


def _baseline_opening_hours(day: date) -> tuple[datetime, datetime] | None:
    """The day's 09:00-17:00 in UTC (09:00 and 17:00 are never inside a DST gap or overlap in Copenhagen)."""
    if day.weekday() >= 5 or day in HOLIDAYS:
        return None
    opens = datetime.combine(day, OPENING, tzinfo=ZONE).astimezone(UTC)
    return opens, datetime.combine(day, CLOSING, tzinfo=ZONE).astimezone(UTC)


def seconds_per_call(function: Callable[[], object]) -> float:
    # CPU time of this process, not wall time: other jobs on a shared machine then distort the numbers less.
    timer = Timer(function, timer=clock.process_time)
    calls, _ = timer.autorange()
    calls = max(1, int(calls * MEASURE_SECONDS / 0.2))
    return min(timer.repeat(repeat=5, number=calls)) / calls


def cold_seconds_per_call(function: Callable[[], object]) -> float:
    """A call right after emptying the module's cache of DST transitions, as in a fresh worker process.

    Best of five such calls: a single call is easily inflated by the scheduler.
    """
    durations = []
    for _ in range(5):
        business_time._zone_chunk.cache_clear()
        started = clock.process_time()
        function()
        durations.append(clock.process_time() - started)
    return min(durations)


@dataclass
class Row:
    operation: str
    target: str
    cold: float
    warm: float
    baseline: float


def measure() -> list[Row]:
    rows: list[Row] = []
    steps = 2 * len(TARGETS)
    started = clock.perf_counter()
    for label, seconds in TARGETS.items():
        due = add_business_seconds(CALENDAR, START, seconds)
        if baseline_add(START, seconds) != due or baseline_between(START, due) != seconds:
            raise SystemExit(f"implementations disagree for {label}")
        cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
            (
                "add_business_seconds",
                lambda seconds=seconds: add_business_seconds(CALENDAR, START, seconds),
                lambda seconds=seconds: baseline_add(START, seconds),
            ),
            (
                "business_seconds_between",
                lambda due=due: business_seconds_between(CALENDAR, START, due),
                lambda due=due: baseline_between(START, due),
            ),
        ]
        for operation, ours, baseline in cases:
            print(
                f"[{len(rows) + 1}/{steps}] {operation} {label} ({clock.perf_counter() - started:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
            rows.append(Row(operation, label, cold_seconds_per_call(ours), seconds_per_call(ours), 0.0))
            rows[-1].baseline = seconds_per_call(baseline)
    return rows


def microseconds(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def print_table(rows: list[Row]) -> None:
    print(f"sla.business_time benchmark, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"platform: {platform.platform()}; CPUs: {os.cpu_count()}; load average: {load}")
    print(f"Python {platform.python_version()} ({platform.python_implementation()})")
    print(f"calendar: {ZONE_NAME} Mon-Fri 09:00-17:00, {len(HOLIDAYS)} DK holidays 2025-2026; start {START}")
    print("CPU time per call; 'cold' is a first call with an empty DST-transition cache\n")
    header = ("operation", "target", "ours (cold)", "ours (warm)", "day-by-day", "speed-up")
    lines = [
        (
            row.operation,
            row.target,
            microseconds(row.cold),
            microseconds(row.warm),
            microseconds(row.baseline),
            f"{row.baseline / row.warm:,.1f}x",
        )
        for row in rows
    ]
    widths = [max(len(line[column]) for line in [header, *lines]) for column in range(len(header))]
    for line in [header, tuple("-" * width for width in widths), *lines]:
        print(
            "  ".join(
                cell.ljust(width) if column < 2 else cell.rjust(width)
                for column, (cell, width) in enumerate(zip(line, widths, strict=True))
            )
        )


if __name__ == "__main__":
    print_table(measure())
