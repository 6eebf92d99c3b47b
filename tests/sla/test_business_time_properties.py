"""Property-based tests of sla.business_time against a brute-force minute-stepping oracle.

Calendars have minute-aligned boundaries and every zone used has minute-aligned offsets and transitions, so
each real minute is either wholly business time or wholly not; the oracle walks the UTC axis one minute at a
time and asks zoneinfo for the local wall clock, sharing no code with the module under test. Windows are at
most ten days long and are anchored on DST changes (including Lord Howe's 30-minute one and Chatham's
+12:45/+13:45), a year boundary and quiet dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.business_time import (
    BusinessCalendar,
    add_business_seconds,
    business_seconds_between,
    is_business_instant,
    next_business_instant,
)

MINUTE = timedelta(minutes=1)
MINUTES_PER_DAY = 24 * 60
WINDOW_DAYS = 10

# Local dates of clock changes in 2024 (both directions) plus a year boundary and a quiet date per zone.
ANCHOR_DATES: dict[str, list[date]] = {
    "UTC": [date(2024, 12, 31), date(2024, 6, 12)],
    "Asia/Kolkata": [date(2024, 12, 31), date(2024, 2, 29)],
    "Europe/Copenhagen": [date(2024, 3, 31), date(2024, 10, 27), date(2024, 12, 31)],
    "America/New_York": [date(2024, 3, 10), date(2024, 11, 3), date(2024, 12, 31)],
    "Australia/Lord_Howe": [date(2024, 4, 7), date(2024, 10, 6), date(2024, 12, 31)],
    "Pacific/Chatham": [date(2024, 4, 7), date(2024, 9, 29)],
}

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,  # the oracle takes tens of milliseconds per example
    database=None,  # keep the shared working tree free of .hypothesis/ files
    suppress_health_check=[HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Scenario:
    """A calendar, its plain-minutes description for the oracle, and a window of instants to probe."""

    zone: ZoneInfo
    weekly_minutes: dict[int, list[tuple[int, int]]]
    holidays: frozenset[date]
    window_start: datetime  # UTC, minute-aligned
    window_end: datetime
    calendar: BusinessCalendar = field(init=False)

    def __post_init__(self) -> None:
        weekly_hours = {
            weekday: [(_minute_to_time(start), _minute_to_time(end)) for start, end in pairs]
            for weekday, pairs in self.weekly_minutes.items()
        }
        object.__setattr__(self, "calendar", BusinessCalendar(self.zone.key, weekly_hours, self.holidays))

    def minutes(self) -> list[datetime]:
        count = (self.window_end - self.window_start) // MINUTE
        return [self.window_start + index * MINUTE for index in range(count)]


def _minute_to_time(minute_of_day: int) -> time:
    return time(minute_of_day // 60, minute_of_day % 60)


def oracle_is_business(scenario: Scenario, instant: datetime) -> bool:
    """Straight from the definition: is the local wall clock of ``instant`` inside a business interval?"""
    local = instant.astimezone(scenario.zone)
    if local.date() in scenario.holidays:
        return False
    minute_of_day = local.hour * 60 + local.minute
    weekday = local.weekday()
    for start, end in scenario.weekly_minutes.get(weekday, []):
        same_day_end = end if end > start else MINUTES_PER_DAY
        if start <= minute_of_day < same_day_end:
            return True
    # The part after midnight of yesterday's overnight intervals (end not after start).
    for start, end in scenario.weekly_minutes.get((weekday - 1) % 7, []):
        if end <= start and minute_of_day < end:
            return True
    return False


def oracle_seconds_between(scenario: Scenario, start: datetime, end: datetime) -> int:
    business_minutes = 0
    instant = start
    while instant < end:
        business_minutes += oracle_is_business(scenario, instant)
        instant += MINUTE  # aware UTC datetimes: plain real-time steps
    return business_minutes * 60


def oracle_add_minutes(scenario: Scenario, start: datetime, minutes: int) -> datetime | None:
    """Earliest instant after ``minutes`` business minutes from ``start``, or None beyond the window."""
    remaining = minutes
    instant = start
    while instant < scenario.window_end:
        if oracle_is_business(scenario, instant):
            remaining -= 1
            if remaining == 0:
                return instant + MINUTE  # the end of the minute that completes the target
        instant += MINUTE
    return None


minute_boundaries = st.one_of(
    st.integers(0, 47).map(lambda half_hours: half_hours * 30),  # collide with DST change times
    st.integers(0, MINUTES_PER_DAY - 1),
)
intervals = st.one_of(
    st.tuples(minute_boundaries, minute_boundaries),  # end <= start means overnight (start == end: 24h)
    st.just((0, 0)),  # a whole day
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone_key = draw(st.sampled_from(sorted(ANCHOR_DATES)))
    zone = ZoneInfo(zone_key)
    anchor = draw(st.sampled_from(ANCHOR_DATES[zone_key]))
    day_lists = draw(st.lists(st.lists(intervals, min_size=1, max_size=3), min_size=7, max_size=7))
    # At least one open weekday: never-open calendars have their own hand-written tests.
    closed_weekdays = draw(st.sets(st.integers(0, 6), max_size=6))
    weekly_minutes = {
        weekday: pairs for weekday, pairs in enumerate(day_lists) if weekday not in closed_weekdays
    }
    holiday_offsets = draw(st.sets(st.integers(-7, WINDOW_DAYS + 3), max_size=4))
    holidays = frozenset(anchor + timedelta(days=offset) for offset in holiday_offsets)
    anchor_midnight = datetime.combine(anchor, time(0), tzinfo=zone).astimezone(UTC)
    # Days and minutes are drawn separately: one wide integer range would mostly yield tiny windows.
    window_start = anchor_midnight + _draw_minutes(draw, min_days=-5, max_days=0)
    window_end = window_start + _draw_minutes(draw, min_days=0, max_days=WINDOW_DAYS - 1)
    return Scenario(zone, weekly_minutes, holidays, window_start, window_end)


def _draw_minutes(draw: st.DrawFn, min_days: int, max_days: int) -> timedelta:
    days = draw(st.integers(min_days, max_days))
    return days * timedelta(days=1) + draw(st.integers(0, MINUTES_PER_DAY - 1)) * MINUTE


def utc(instant: datetime) -> datetime:
    """Compare in UTC: PEP 495 makes == across zones False inside a repeated (fall-back) hour."""
    return instant.astimezone(UTC)


def _in_any_zone(draw: st.DrawFn, scenario: Scenario, instant: datetime) -> datetime:
    """The same instant expressed in UTC, the calendar's zone or an unrelated zone."""
    zone = draw(st.sampled_from([UTC, scenario.zone, ZoneInfo("Asia/Tokyo")]))
    return instant.astimezone(zone)


@PROPERTY_SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_business_seconds_between_matches_minute_oracle(scenario: Scenario, data: st.DataObject) -> None:
    start = _in_any_zone(data.draw, scenario, scenario.window_start)
    end = _in_any_zone(data.draw, scenario, scenario.window_end)
    expected = oracle_seconds_between(scenario, scenario.window_start, scenario.window_end)
    assert business_seconds_between(scenario.calendar, start, end) == expected
    # Reversed or empty spans are zero, never negative.
    assert business_seconds_between(scenario.calendar, end, start) == (
        expected if utc(start) == utc(end) else 0
    )


@PROPERTY_SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_add_business_seconds_matches_minute_oracle(scenario: Scenario, data: st.DataObject) -> None:
    business_minutes = oracle_seconds_between(scenario, scenario.window_start, scenario.window_end) // 60
    minutes = data.draw(st.integers(1, max(business_minutes, 1)))
    expected = oracle_add_minutes(scenario, scenario.window_start, minutes)
    start = _in_any_zone(data.draw, scenario, scenario.window_start)
    result = add_business_seconds(scenario.calendar, start, minutes * 60)
    if expected is None:  # the window holds less business time than drawn: only "later than the window"
        assert result >= scenario.window_end
    else:
        assert utc(result) == expected
    assert result.tzinfo == scenario.zone


@PROPERTY_SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_add_returns_earliest_instant_reaching_any_target(scenario: Scenario, data: st.DataObject) -> None:
    calendar = scenario.calendar
    # Any whole number of seconds, not only minutes, and a start that is not minute-aligned.
    start = scenario.window_start + timedelta(seconds=data.draw(st.integers(0, 59)))
    seconds = data.draw(st.integers(1, 4 * 24 * 3600))
    result = add_business_seconds(calendar, start, seconds)
    assert business_seconds_between(calendar, start, result) == seconds
    # Earliest: one microsecond sooner the target has not been reached.
    # (in UTC: Python subtracts from a zone-aware datetime on the wall clock, which lands in a DST gap)
    just_before = utc(result) - timedelta(microseconds=1)
    assert business_seconds_between(calendar, start, just_before) < seconds
    # The earliest instant always lies inside business time or at its closing edge.
    assert is_business_instant(calendar, just_before)


@PROPERTY_SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_add_of_elapsed_business_time_never_passes_the_end(scenario: Scenario, data: st.DataObject) -> None:
    calendar = scenario.calendar
    span_seconds = int((scenario.window_end - scenario.window_start).total_seconds())
    end = scenario.window_start + timedelta(seconds=data.draw(st.integers(0, span_seconds)))
    elapsed = business_seconds_between(calendar, scenario.window_start, end)
    result = add_business_seconds(calendar, scenario.window_start, elapsed)
    assert scenario.window_start <= result <= end
    assert business_seconds_between(calendar, result, end) == 0


@PROPERTY_SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_business_seconds_between_is_additive(scenario: Scenario, data: st.DataObject) -> None:
    span_seconds = int((scenario.window_end - scenario.window_start).total_seconds())
    first, second = sorted(data.draw(st.integers(0, span_seconds)) for _ in range(2))
    middle = scenario.window_start + timedelta(seconds=first)
    end = scenario.window_start + timedelta(seconds=second)
    calendar = scenario.calendar
    assert business_seconds_between(calendar, scenario.window_start, middle) + business_seconds_between(
        calendar, middle, end
    ) == business_seconds_between(calendar, scenario.window_start, end)


@PROPERTY_SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_sub_second_spans_floor_to_whole_seconds(scenario: Scenario, data: st.DataObject) -> None:
    """Exact microsecond arithmetic underneath, floored once at the end, so splits lose at most a second."""
    span_us = (scenario.window_end - scenario.window_start) // timedelta(microseconds=1)
    first, second = sorted(data.draw(st.integers(0, span_us)) for _ in range(2))
    middle = scenario.window_start + timedelta(microseconds=first)
    end = scenario.window_start + timedelta(microseconds=second)
    calendar = scenario.calendar
    whole = business_seconds_between(calendar, scenario.window_start, end)
    parts = business_seconds_between(calendar, scenario.window_start, middle) + business_seconds_between(
        calendar, middle, end
    )
    assert parts in (whole, whole - 1)


@PROPERTY_SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_business_instant_and_next_opening_match_oracle(scenario: Scenario, data: st.DataObject) -> None:
    minutes = scenario.minutes()
    if not minutes:
        return
    index = data.draw(st.integers(0, len(minutes) - 1))
    instant = minutes[index]
    calendar = scenario.calendar
    assert is_business_instant(calendar, instant) == oracle_is_business(scenario, instant)

    following = next((later for later in minutes[index:] if oracle_is_business(scenario, later)), None)
    result = next_business_instant(calendar, _in_any_zone(data.draw, scenario, instant))
    if following is not None:
        assert result is not None
        assert utc(result) == following
    else:
        assert result is not None
        assert result >= scenario.window_end
