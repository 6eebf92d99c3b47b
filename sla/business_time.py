"""Business-hours arithmetic for SLA deadlines (pure Python: no Django, safe to import anywhere).

Model
-----
Business time is the set of real instants whose local wall-clock time, in the calendar's IANA zone, falls
inside a business interval:

* ``weekly_hours`` maps a weekday (Monday=0 .. Sunday=6) to ``(start, end)`` wall times. The interval is
  ``[start, end)`` on that weekday's local date; when ``end`` is not after ``start`` it runs past midnight to
  ``end`` on the next local date, so ``(22:00, 06:00)`` on Monday is Monday 22:00 -> Tuesday 06:00 and
  ``(00:00, 00:00)`` is the whole 24-hour day. Overlapping or touching intervals are merged, never double
  counted.
* A holiday removes every instant whose *local date* is the holiday (00:00-24:00), including the part of the
  previous evening's overnight shift that falls after midnight.
* Durations are real elapsed time: a 22:00-06:00 shift lasts 7 hours on the spring-forward night and 9 on
  the fall-back night. Wall times skipped by a DST gap contain no instants; wall times that occur twice count
  twice.

Conventions
-----------
* All datetimes must be timezone-aware (any zone); naive datetimes raise ``ValueError``. Results are returned
  in the calendar's zone.
* Arithmetic is exact to the microsecond (``datetime``'s resolution). ``business_seconds_between`` floors the
  business time to whole seconds; ``add_business_seconds`` returns the exact earliest instant, so a start of
  09:00:00.250 plus 10 seconds is 09:00:10.250.
* Intervals are half-open, so the closing instant itself is not business time. A target consumed exactly
  at closing time is due *at* the closing instant (Tue 17:00), not at the next opening: it is the earliest
  instant at which the required business time has elapsed. Tools that display the next opening instead
  (Matrix42 shows Wed 08:00) correspond to ``next_business_instant(calendar, due)``.

How it stays fast
-----------------
Between two DST transitions the UTC offset is constant, so wall time is UTC time plus a constant and business
time is measured on the wall-clock axis, where the schedule is a weekly periodic pattern: the business time
before any wall instant is ``whole weeks * weekly total + prefix within the week`` (a bisect), and the inverse
is a division plus a bisect. Holidays are prefix sums found by bisect. DST transitions (found once per 16-week
chunk of the UTC axis and cached) split a span into a few runs of constant offset. So the cost does not grow
with the span: a one-year target is a handful of runs, never 365 days of walking.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "BusinessCalendar",
    "add_business_seconds",
    "business_seconds_between",
    "is_business_instant",
    "next_business_instant",
]

# Everything is computed in integer microseconds so that no step rounds.
_MICROSECOND = timedelta(microseconds=1)
_US_PER_SECOND = 1_000_000
_DAY = 86_400 * _US_PER_SECOND
_WEEK = 7 * _DAY
_UTC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# The "wall axis" counts local wall-clock microseconds since 1970-01-01 00:00 (a Thursday); shifting it by
# three days puts week boundaries on Monday 00:00.
_MONDAY_SHIFT = 3 * _DAY

# Instants outside this range cannot be converted to local datetimes (the local date could leave years
# 1..9999), so offsets are sampled no further out and results beyond it raise OverflowError.
_MIN_UTC_US = (datetime.min.replace(tzinfo=UTC) + timedelta(days=2) - _UTC_EPOCH) // _MICROSECOND
_MAX_UTC_US = (datetime.max.replace(tzinfo=UTC) - timedelta(days=2) - _UTC_EPOCH) // _MICROSECOND

# zoneinfo has no public list of transitions, so offsets are sampled on a fixed UTC grid and every change is
# bisected to the exact second (tzdata transitions fall on whole seconds). Sampling would miss an excursion
# that leaves an offset and returns to it between two samples; the shortest such excursion in tzdata is about
# 96 hours (Africa/Freetown, 1939), so a 12-hour grid leaves a wide margin. Several different changes between
# two samples are all found.
_OFFSET_SAMPLE_STEP = 12 * 3600 * _US_PER_SECOND
# Transitions are found and cached per 16-week chunk of the UTC axis: 224 offset samples (about 0.2 ms)
# on a cold cache, and a one-year span crosses only a few chunks.
_CHUNK = 16 * _WEEK


class BusinessCalendar:
    """A weekly business-hours schedule in one IANA time zone, minus holidays.

    Read-only once built (a mapping proxy and a frozenset), so one instance can be shared between threads.

    ``weekly_hours`` maps Monday=0 .. Sunday=6 to ``(start, end)`` naive wall times; missing weekdays are
    closed. An interval whose end is not after its start runs past midnight into the next day, so
    ``(time(0), time(0))`` is a whole day. ``holidays`` are local dates (a mapping such as the result of
    ``sla.holiday_import.public_holidays`` works too: its keys are used).
    """

    __slots__ = (
        "_business_at_holiday",
        "_holiday_day_set",
        "_holiday_starts",
        "_interval_ends",
        "_interval_starts",
        "_measure_before_interval",
        "_measure_through_interval",
        "_removed_before_holiday",
        "_week_total",
        "holidays",
        "timezone",
        "weekly_hours",
        "zone",
    )

    timezone: str
    zone: ZoneInfo
    weekly_hours: Mapping[int, tuple[tuple[time, time], ...]]
    holidays: frozenset[date]

    def __init__(
        self,
        timezone: str,
        weekly_hours: Mapping[int, Iterable[tuple[time, time]]],
        holidays: Iterable[date] = (),
    ) -> None:
        self.zone = _load_zone(timezone)
        self.timezone = timezone
        self.weekly_hours = MappingProxyType(_validated_weekly_hours(weekly_hours))
        self.holidays = _validated_holidays(holidays)

        intervals = _week_intervals(self.weekly_hours)
        self._interval_starts = tuple(start for start, _ in intervals)
        self._interval_ends = tuple(end for _, end in intervals)
        measure_before: list[int] = []
        running_total = 0
        for start, end in intervals:
            measure_before.append(running_total)
            running_total += end - start
        self._measure_before_interval = tuple(measure_before)
        self._measure_through_interval = tuple(
            before + end - start for before, (start, end) in zip(measure_before, intervals, strict=True)
        )
        self._week_total = running_total

        holiday_days = sorted(day.toordinal() - _EPOCH_ORDINAL for day in self.holidays)
        self._holiday_day_set = frozenset(holiday_days)
        self._holiday_starts = tuple(day * _DAY for day in holiday_days)
        # Prefix sums make holidays cost a bisect instead of a walk: the business time each holiday removes
        # (its date's share of the weekly pattern), and the holiday-aware measure at each holiday's start.
        removed_before = [0]
        business_at_holiday = []
        measure = self._periodic_measure_before
        for holiday_start in self._holiday_starts:
            business_at_holiday.append(measure(holiday_start) - removed_before[-1])
            removed_before.append(removed_before[-1] + measure(holiday_start + _DAY) - measure(holiday_start))
        self._removed_before_holiday = tuple(removed_before)
        self._business_at_holiday = tuple(business_at_holiday)

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> BusinessCalendar:
        """A 24/7 calendar: business time is plain elapsed time (useful for "calendar hours" SLAs)."""
        return cls(timezone, {weekday: [(time(0), time(0))] for weekday in range(7)})

    @property
    def weekly_business_seconds(self) -> int:
        """Business seconds in a week without holidays or DST changes (0 means never open)."""
        return self._week_total // _US_PER_SECOND

    def __repr__(self) -> str:
        hours = {weekday: list(pairs) for weekday, pairs in self.weekly_hours.items()}
        holidays = sorted(self.holidays)
        return f"BusinessCalendar({self.timezone!r}, {hours!r}, holidays={holidays!r})"

    # --- Wall-axis arithmetic (offset already applied; see the module docstring) ---

    def _periodic_measure_before(self, wall: int) -> int:
        """Business microseconds of the weekly pattern from the axis origin to ``wall``, ignoring holidays.

        Nondecreasing and continuous, so the business time in ``[a, b)`` is ``f(b) - f(a)``; negative for
        walls before the origin, which is fine because only differences are used.
        """
        weeks, position = divmod(wall + _MONDAY_SHIFT, _WEEK)
        index = bisect_right(self._interval_starts, position) - 1
        if index < 0:
            return weeks * self._week_total
        inside = min(position, self._interval_ends[index]) - self._interval_starts[index]
        return weeks * self._week_total + self._measure_before_interval[index] + inside

    def _earliest_wall_with_periodic_measure(self, measure: int) -> int:
        """Inverse of ``_periodic_measure_before``: the earliest wall instant reaching ``measure``.

        The result lies in ``(start, end]`` of some interval, so a target reached exactly at closing time
        yields the closing instant. Requires at least some business hours.
        """
        weeks, remainder = divmod(measure - 1, self._week_total)
        remainder += 1  # in 1..week_total, so it is reached inside or at the end of an interval
        index = bisect_left(self._measure_through_interval, remainder)
        position = self._interval_starts[index] + remainder - self._measure_before_interval[index]
        return weeks * _WEEK + position - _MONDAY_SHIFT

    def _business_before(self, wall: int) -> int:
        """The periodic measure minus holidays (flat across each): ``[a, b)`` holds ``g(b) - g(a)``."""
        holidays_started = bisect_right(self._holiday_starts, wall)
        if holidays_started and wall < self._holiday_starts[holidays_started - 1] + _DAY:
            return self._business_at_holiday[holidays_started - 1]
        return self._periodic_measure_before(wall) - self._removed_before_holiday[holidays_started]

    def _wall_business(self, wall_from: int, wall_to: int) -> int:
        """Business microseconds in the wall range ``[wall_from, wall_to)`` (``wall_from <= wall_to``)."""
        return self._business_before(wall_to) - self._business_before(wall_from)

    def _wall_advance(self, wall_from: int, amount: int) -> int:
        """Earliest wall instant ``w`` with ``_wall_business(wall_from, w) == amount`` (``amount`` > 0)."""
        target = self._business_before(wall_from) + amount
        # The first holiday by whose start the target is already reached bounds the answer: it lies in the
        # holiday-free stretch before that holiday, where the measure is periodic minus earlier holidays.
        next_holiday = bisect_left(self._business_at_holiday, target)
        return self._earliest_wall_with_periodic_measure(target + self._removed_before_holiday[next_holiday])

    def _is_business_wall(self, wall: int) -> bool:
        if wall // _DAY in self._holiday_day_set:
            return False
        position = (wall + _MONDAY_SHIFT) % _WEEK
        index = bisect_right(self._interval_starts, position) - 1
        return index >= 0 and position < self._interval_ends[index]

    def _next_business_wall(self, wall_from: int) -> int:
        """Earliest business wall instant at or after ``wall_from``. Requires at least some business hours."""
        cursor = wall_from
        while True:
            position = (cursor + _MONDAY_SHIFT) % _WEEK
            index = bisect_right(self._interval_starts, position) - 1
            if index >= 0 and position < self._interval_ends[index]:
                candidate = cursor
            elif index + 1 < len(self._interval_starts):
                candidate = cursor + self._interval_starts[index + 1] - position
            else:
                candidate = cursor + _WEEK - position + self._interval_starts[0]
            if candidate // _DAY not in self._holiday_day_set:
                return candidate
            cursor = (candidate // _DAY + 1) * _DAY  # skip the rest of the holiday


def add_business_seconds(calendar: BusinessCalendar, start: datetime, seconds: int) -> datetime:
    """The earliest instant ``t`` with ``business_seconds_between(calendar, start, t) == seconds``.

    ``seconds == 0`` returns ``start`` (converted to the calendar's zone, like every result). A target
    consumed exactly at closing time returns the closing instant; use ``next_business_instant`` on the result
    to get the next opening instead. Raises ``ValueError`` for a naive ``start``, negative ``seconds`` or a
    calendar that is never open, ``OverflowError`` when the result would be beyond year 9999.
    """
    start_us = _utc_microseconds(start, "start")
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise TypeError(f"seconds must be an int, got {type(seconds).__name__}")
    if seconds < 0:
        raise ValueError(f"seconds must not be negative, got {seconds}")
    if seconds == 0:
        return start.astimezone(calendar.zone)
    if calendar._week_total == 0:
        raise ValueError("the calendar has no business hours, so no amount of business time is ever reached")
    remaining = seconds * _US_PER_SECOND
    # Business time never outruns real time, so this target can only be reached past the supported range.
    if start_us + remaining > _MAX_UTC_US:
        raise OverflowError("the result would be beyond the supported datetime range")
    runs = _offset_runs(calendar.timezone, start_us)
    while True:
        run_start, run_end, offset = next(runs)
        # Advance as if the offset never changed; if that lands inside this run, it is the answer.
        due_wall = calendar._wall_advance(run_start + offset, remaining)
        if due_wall <= run_end + offset:
            return _aware_datetime(due_wall - offset, calendar.zone)
        # Otherwise this run holds less than the remainder: bank it and continue with the next offset.
        remaining -= calendar._wall_business(run_start + offset, run_end + offset)
        if run_end > _MAX_UTC_US:
            raise OverflowError("the result would be beyond the supported datetime range")


def business_seconds_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> int:
    """Business time in ``[start, end)`` in whole seconds (floored); 0 when ``end <= start``."""
    start_us = _utc_microseconds(start, "start")
    end_us = _utc_microseconds(end, "end")
    total = 0
    if end_us > start_us:
        for run_start, run_end, offset in _offset_runs(calendar.timezone, start_us):
            total += calendar._wall_business(run_start + offset, min(run_end, end_us) + offset)
            if run_end >= end_us:
                break  # before the generator computes (on a cold cache) a chunk nobody needs
    return total // _US_PER_SECOND


def is_business_instant(calendar: BusinessCalendar, instant: datetime) -> bool:
    """Whether ``instant`` is business time. Intervals are half-open: opening is inside, closing is not."""
    instant_us = _utc_microseconds(instant, "instant")
    _, _, offset = next(_offset_runs(calendar.timezone, instant_us))
    return calendar._is_business_wall(instant_us + offset)


def next_business_instant(calendar: BusinessCalendar, instant: datetime) -> datetime | None:
    """The earliest business instant at or after ``instant``, in the calendar's zone.

    Returns ``instant`` itself (converted to the calendar's zone) when it is business time, the next opening
    otherwise, and ``None`` for a calendar that is never open.
    """
    instant_us = _utc_microseconds(instant, "instant")
    if calendar._week_total == 0:
        return None
    runs = _offset_runs(calendar.timezone, instant_us)
    while True:
        run_start, run_end, offset = next(runs)
        wall = calendar._next_business_wall(run_start + offset)
        if wall < run_end + offset:
            return _aware_datetime(wall - offset, calendar.zone)
        if run_end > _MAX_UTC_US:
            raise OverflowError("the next business instant is beyond the supported datetime range")


# --- Validation and conversion helpers ---


def _load_zone(key: str) -> ZoneInfo:
    if not isinstance(key, str) or not key:
        raise ValueError(f"timezone must be an IANA zone name such as 'Europe/Copenhagen', got {key!r}")
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown IANA time zone {key!r}") from error


def _validated_weekly_hours(
    weekly_hours: Mapping[int, Iterable[tuple[time, time]]],
) -> dict[int, tuple[tuple[time, time], ...]]:
    if not isinstance(weekly_hours, Mapping):
        raise ValueError(
            "weekly_hours must be a mapping of weekday (0=Monday .. 6=Sunday) to a list of (start, end) "
            f"times, got {type(weekly_hours).__name__}"
        )
    validated: dict[int, tuple[tuple[time, time], ...]] = {}
    for weekday, intervals in weekly_hours.items():
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValueError(f"weekly_hours key {weekday!r} is not a weekday number 0 (Monday) .. 6 (Sunday)")
        if isinstance(intervals, str | bytes | Mapping) or not isinstance(intervals, Iterable):
            raise ValueError(
                f"weekly_hours[{weekday}] must be a list of (start, end) pairs, got {intervals!r}"
            )
        pairs: list[tuple[time, time]] = []
        for interval in intervals:
            if not isinstance(interval, tuple | list) or len(interval) != 2:
                raise ValueError(
                    f"weekly_hours[{weekday}] entries must be (start, end) pairs, got {interval!r}"
                )
            for boundary in interval:
                if not isinstance(boundary, time):
                    raise ValueError(
                        f"weekly_hours[{weekday}] boundaries must be datetime.time values, got {boundary!r}"
                    )
                if boundary.tzinfo is not None:
                    raise ValueError(
                        f"weekly_hours[{weekday}] times must be naive wall times (the calendar's timezone "
                        f"applies), got {boundary!r}"
                    )
            pairs.append((interval[0], interval[1]))
        validated[weekday] = tuple(pairs)
    return validated


def _validated_holidays(holidays: Iterable[date]) -> frozenset[date]:
    if isinstance(holidays, str | bytes) or not isinstance(holidays, Iterable):
        raise ValueError(f"holidays must be an iterable of datetime.date, got {holidays!r}")
    days = list(holidays)  # may be a one-shot iterator
    for day in days:
        # datetime is a date subclass, but a holiday is a whole local date, not an instant.
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ValueError(f"holidays must be datetime.date values (not datetimes), got {day!r}")
    return frozenset(days)


def _week_intervals(weekly_hours: Mapping[int, tuple[tuple[time, time], ...]]) -> list[tuple[int, int]]:
    """Merged, sorted ``[start, end)`` microsecond positions within a Monday-00:00-based week."""
    intervals: list[tuple[int, int]] = []
    for weekday, pairs in weekly_hours.items():
        day_start = weekday * _DAY
        for opening, closing in pairs:
            start = day_start + _time_of_day_microseconds(opening)
            end = day_start + _time_of_day_microseconds(closing)
            if end <= start:
                end += _DAY  # runs past midnight into the next day
            if end > _WEEK:
                # Sunday's overnight shift continues into the following Monday, the start of the pattern.
                intervals.extend([(start, _WEEK), (0, end - _WEEK)])
            else:
                intervals.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _time_of_day_microseconds(moment: time) -> int:
    return ((moment.hour * 60 + moment.minute) * 60 + moment.second) * _US_PER_SECOND + moment.microsecond


def _utc_microseconds(moment: datetime, name: str) -> int:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {moment.isoformat()}")
    # Subtracting aware datetimes with different tzinfo objects compares real instants (only the same tzinfo
    # would subtract wall clocks, and _UTC_EPOCH's UTC has no DST).
    return (moment - _UTC_EPOCH) // _MICROSECOND


def _aware_datetime(utc_us: int, zone: ZoneInfo) -> datetime:
    seconds, microsecond = divmod(utc_us, _US_PER_SECOND)
    try:
        # fromtimestamp sets fold=1 on the second occurrence of a repeated wall time, keeping the instant
        # exact; the sub-second part cannot cross a transition, which falls on a whole second.
        return datetime.fromtimestamp(seconds, zone).replace(microsecond=microsecond)
    except (OverflowError, ValueError) as error:
        raise OverflowError("the result is beyond the supported datetime range") from error


# --- UTC offsets and DST transitions ---


def _utc_offset(zone: ZoneInfo, utc_us: int) -> int:
    """The zone's UTC offset in microseconds at ``utc_us``, a whole second (transitions are whole seconds)."""
    seconds = min(max(utc_us, _MIN_UTC_US), _MAX_UTC_US) // _US_PER_SECOND
    offset = datetime.fromtimestamp(seconds, zone).utcoffset()
    assert offset is not None  # ZoneInfo always has an offset
    return offset // _MICROSECOND


def _first_change_after(zone: ZoneInfo, low: int, low_offset: int, high: int) -> int:
    """The earliest whole second in ``(low, high]`` whose offset differs from ``low_offset``.

    ``low`` and ``high`` are whole seconds and ``high``'s offset must differ from ``low_offset``.
    """
    while high - low > _US_PER_SECOND:
        middle = low + (high - low) // (2 * _US_PER_SECOND) * _US_PER_SECOND
        if _utc_offset(zone, middle) == low_offset:
            low = middle
        else:
            high = middle
    return high


# Shared by every calendar of the zone. lru_cache is thread-safe; two threads missing the same chunk at once
# both compute it, harmlessly, since the result depends only on the arguments.
@functools.lru_cache(maxsize=4096)
def _zone_chunk(zone_key: str, chunk_index: int) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """Offset at the chunk's start, then the transition instants inside it and the offset each one starts."""
    zone = ZoneInfo(zone_key)
    chunk_start = chunk_index * _CHUNK
    chunk_end = chunk_start + _CHUNK
    start_offset = _utc_offset(zone, chunk_start)
    transitions: list[int] = []
    new_offsets: list[int] = []
    low, low_offset = chunk_start, start_offset
    for sample in range(chunk_start + _OFFSET_SAMPLE_STEP, chunk_end + 1, _OFFSET_SAMPLE_STEP):
        sample_offset = _utc_offset(zone, sample)
        while low_offset != sample_offset:
            transition = _first_change_after(zone, low, low_offset, sample)
            low, low_offset = transition, _utc_offset(zone, transition)
            if transition < chunk_end:  # one exactly at the end is the next chunk's starting offset
                transitions.append(transition)
                new_offsets.append(low_offset)
        low, low_offset = sample, sample_offset
    return start_offset, tuple(transitions), tuple(new_offsets)


def _offset_runs(zone_key: str, utc_from: int) -> Iterator[tuple[int, int, int]]:
    """Endless consecutive ``(run_start, run_end, utc_offset)`` from ``utc_from`` on, constant offset in each.

    Runs end at DST transitions and chunk boundaries; consumers stop iterating once they are done.
    """
    chunk_index = utc_from // _CHUNK
    run_start = utc_from
    while True:
        start_offset, transitions, new_offsets = _zone_chunk(zone_key, chunk_index)
        first = bisect_right(transitions, run_start)
        offset = new_offsets[first - 1] if first else start_offset
        for transition, new_offset in zip(transitions[first:], new_offsets[first:], strict=True):
            yield run_start, transition, offset
            run_start, offset = transition, new_offset
        chunk_index += 1
        yield run_start, chunk_index * _CHUNK, offset
        run_start = chunk_index * _CHUNK
