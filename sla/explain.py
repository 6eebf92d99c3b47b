"""Why is this SLA clock due then? The arithmetic behind one clock, rebuilt from its event timeline.

Pure (no Django): the caller passes the clock's snapshot, its events in order and the business calendar.
The walk folds measured time at exactly the instants the engine folds it (pause, stop, cancel, pin and
a change of calendar), with the same `business_seconds_between`, and finds the due instant with the same
`add_business_seconds` from the same start, so the explanation's figures are the engine's figures; a
test holds the two equal on every clock of a generated set.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sla.business_time import BusinessCalendar, add_business_seconds, business_seconds_between

# Windows listed in the due arithmetic before the rest is summarised (a long target spans weeks).
MAX_WINDOWS = 40

# Event kinds, as stored by the engine (sla.models.SlaEvent.Kind values).
APPLIED = "applied"
PAUSED = "paused"
RESUMED = "resumed"
FULFILLED = "fulfilled"
BREACHED = "breached"
WARNED = "warned"
RECOMPUTED = "recomputed"
CANCELLED = "cancelled"
PINNED = "pinned"


@dataclass(frozen=True)
class EventView:
    kind: str
    at: datetime
    target_seconds: int
    business_hours: bool
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ClockView:
    """The clock row as the engine left it (only what the explanation needs)."""

    metric: str
    state: str
    target_seconds: int
    business_hours: bool
    pinned_due_at: datetime | None
    stopped_at: datetime | None


@dataclass(frozen=True)
class Segment:
    """A stretch during which the clock measured: from `start` to `end` (None: still measuring)."""

    start: datetime
    end: datetime | None
    started_by: str
    ended_by: str
    business_seconds: int
    calendar_seconds: int
    on_previous_calendar: bool = False


@dataclass(frozen=True)
class Window:
    """One stretch of business hours the remaining time is counted through, with the running total."""

    start: datetime
    end: datetime
    seconds: int
    cumulative: int


@dataclass(frozen=True)
class TimelineEntry:
    kind: str
    at: datetime
    reason: str
    elapsed_seconds: int | None


@dataclass
class Explanation:
    metric: str
    state: str
    unit: str  # "business" or "calendar"
    target_seconds: int
    segments: list[Segment]
    timeline: list[TimelineEntry]
    elapsed_seconds: int  # measured before the open segment: the engine's folded elapsed time
    measuring_since: datetime | None  # start of the open segment, from which the remainder counts
    remaining_seconds: int  # target minus elapsed when last scheduled (negative: exceeded)
    due_at: datetime | None
    due_rule: str  # computed, pinned, breached, stopped, paused, never
    windows: list[Window]
    windows_omitted: int
    holidays_skipped: list[date]
    closed_seconds_skipped: (
        int  # wall-clock seconds between measuring_since and due_at outside business hours
    )
    final_seconds: int | None  # measured time when stopped
    steps: list[str]


def _unit_seconds(segments: Iterable[Segment], business: bool) -> int:
    return sum(s.business_seconds if business else s.calendar_seconds for s in segments)


def _reason(event: EventView) -> str:
    details = event.details
    for key in ("reason", "detected_by"):
        if details.get(key):
            return str(details[key])
    if event.kind == PINNED:
        return "due time pinned" if details.get("pinned_due_at") else "pinned due time removed"
    if event.kind == RECOMPUTED:
        return "policy or target changed"
    if event.kind == APPLIED:
        return "policy applied"
    return event.kind


def business_windows(
    calendar: BusinessCalendar, start: datetime, end: datetime
) -> tuple[list[tuple[datetime, datetime]], list[date]]:
    """The business-hours stretches within [start, end) and the holidays that removed hours in it."""
    zone = calendar.zone
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    windows: list[tuple[datetime, datetime]] = []
    holidays: list[date] = []
    day = local_start.date() - timedelta(days=1)  # an interval of the day before may run past midnight
    while day <= local_end.date():
        intervals = calendar.weekly_hours.get(day.weekday(), ())
        if day in calendar.holidays:
            if intervals and local_start.date() <= day <= local_end.date():
                holidays.append(day)
        else:
            for open_at, close_at in intervals:
                window_start = datetime.combine(day, open_at, tzinfo=zone)
                window_end = datetime.combine(
                    day if close_at > open_at else day + timedelta(days=1), close_at, tzinfo=zone
                )
                clipped = (max(window_start, local_start), min(window_end, local_end))
                if clipped[0] < clipped[1]:
                    windows.append(clipped)
        day += timedelta(days=1)
    return windows, holidays


def _human(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}h{minutes:02d}m"
    return f"{sign}{text}{secs:02d}s" if secs else f"{sign}{text}"


def explain_clock(
    clock: ClockView,
    events: Sequence[EventView],
    calendar: BusinessCalendar,
    tz: ZoneInfo,
) -> Explanation:
    """Rebuild one clock's measured time and due instant from its events (creation order), in `tz`."""
    segments: list[Segment] = []
    timeline: list[TimelineEntry] = []
    open_start: datetime | None = None
    open_by = ""
    target, business = clock.target_seconds, clock.business_hours
    due_at: datetime | None = None
    due_rule = "paused"
    frozen = False  # after a breach the engine never reschedules the clock
    pinned: datetime | None = None
    scheduled_from: datetime | None = None
    scheduled_remaining = target
    breached_at: datetime | None = None

    def fold(at: datetime, by: str, previous_business: int | None = None) -> None:
        nonlocal open_start
        if open_start is None or at <= open_start:
            return
        calendar_seconds = int((at - open_start).total_seconds())
        on_previous = previous_business is not None
        business_seconds = (
            previous_business if on_previous else business_seconds_between(calendar, open_start, at)
        )
        segments.append(Segment(open_start, at, open_by, by, business_seconds, calendar_seconds, on_previous))
        open_start = at

    def schedule() -> None:
        nonlocal due_at, due_rule, scheduled_from, scheduled_remaining
        if frozen:
            return
        elapsed = _unit_seconds(segments, business)
        scheduled_remaining = target - elapsed
        scheduled_from = open_start
        if open_start is None:
            due_at, due_rule = pinned, "pinned" if pinned else "paused"
            return
        if pinned is not None:
            due_at, due_rule = pinned, "pinned"
        elif scheduled_remaining <= 0:
            due_at, due_rule = open_start, "computed"
        elif not business:
            due_at, due_rule = open_start + timedelta(seconds=scheduled_remaining), "computed"
        elif calendar.weekly_business_seconds == 0:
            due_at, due_rule = None, "never"
        else:
            due_at, due_rule = add_business_seconds(calendar, open_start, scheduled_remaining), "computed"

    for event in events:
        kind, at = event.kind, event.at
        if kind in (APPLIED, RESUMED):
            target, business = event.target_seconds, event.business_hours
            open_start, open_by = at, _reason(event)
            schedule()
        elif kind in (PAUSED, FULFILLED, CANCELLED):
            fold(at, _reason(event))
            open_start = None
            if kind == PAUSED:
                schedule()
        elif kind == RECOMPUTED:
            target, business = event.target_seconds, event.business_hours
            reported = event.details.get("elapsed")
            folded = isinstance(reported, int) and reported != _unit_seconds(segments, business)
            if open_start is not None and folded:
                # The engine folded here: the calendar changed, and the time so far stays as measured
                # on the previous one (the event reports the total in the target's unit).
                previous = reported - _unit_seconds(segments, True) if business else None
                fold(at, "calendar changed", previous_business=previous)
            schedule()
        elif kind == PINNED:
            fold(at, "due time pinned")
            value = event.details.get("pinned_due_at")
            pinned = datetime.fromisoformat(value) if isinstance(value, str) else None
            schedule()
        elif kind == BREACHED:
            frozen = True
            breached_at = at
        timeline.append(
            TimelineEntry(kind, at.astimezone(tz), _reason(event), _unit_seconds(segments, business))
        )

    if open_start is not None:
        segments.append(Segment(open_start, None, open_by, "", 0, 0))
    closed = [s for s in segments if s.end is not None]
    elapsed = _unit_seconds(closed, business)
    final = elapsed if clock.stopped_at is not None else None
    windows: list[Window] = []
    omitted = 0
    holidays: list[date] = []
    closed_skipped = 0
    counted = due_rule == "computed" and scheduled_from is not None and due_at is not None
    if clock.stopped_at is not None:
        due_rule = "stopped"
    elif breached_at is not None and due_rule != "pinned":
        due_rule = "breached"
    if counted and due_at > scheduled_from:
        if business:
            spans, holidays = business_windows(calendar, scheduled_from, due_at)
        else:
            spans = [(scheduled_from, due_at)]
        total = 0
        for start, end in spans:
            seconds = (
                business_seconds_between(calendar, start, end)
                if business
                else int((end - start).total_seconds())
            )
            total += seconds
            if len(windows) < MAX_WINDOWS:
                windows.append(Window(start.astimezone(tz), end.astimezone(tz), seconds, total))
            else:
                omitted += 1
        closed_skipped = int((due_at - scheduled_from).total_seconds()) - total

    timeline.sort(key=lambda entry: entry.at)
    explanation = Explanation(
        metric=clock.metric,
        state=clock.state,
        unit="business" if business else "calendar",
        target_seconds=target,
        segments=[
            Segment(
                s.start.astimezone(tz),
                s.end.astimezone(tz) if s.end else None,
                s.started_by,
                s.ended_by,
                s.business_seconds,
                s.calendar_seconds,
                s.on_previous_calendar,
            )
            for s in segments
        ],
        timeline=timeline,
        elapsed_seconds=elapsed,
        measuring_since=open_start.astimezone(tz) if open_start else None,
        remaining_seconds=scheduled_remaining,
        due_at=due_at.astimezone(tz) if due_at else None,
        due_rule=due_rule,
        windows=windows,
        windows_omitted=omitted,
        holidays_skipped=holidays,
        closed_seconds_skipped=closed_skipped,
        final_seconds=final,
        steps=[],
    )
    explanation.steps = _steps(explanation, scheduled_from.astimezone(tz) if scheduled_from else None)
    return explanation


def _steps(e: Explanation, counted_from: datetime | None) -> list[str]:
    """The arithmetic in words, one line per step."""
    unit = f"{e.unit} time"
    lines = [f"Target: {_human(e.target_seconds)} of {unit}."]
    for s in e.segments:
        if s.end is None:
            lines.append(f"Measuring since {s.start:%a %d %b %H:%M} ({s.started_by}).")
            continue
        measured = s.business_seconds if e.unit == "business" else s.calendar_seconds
        note = " on the previous calendar" if s.on_previous_calendar else ""
        lines.append(
            f"{s.start:%a %d %b %H:%M} → {s.end:%a %d %b %H:%M} ({s.started_by} → {s.ended_by}): "
            f"{_human(measured)} counted{note}."
        )
    if e.final_seconds is not None:
        verdict = "within" if e.final_seconds <= e.target_seconds else "over"
        lines.append(f"Stopped: {_human(e.final_seconds)} measured, {verdict} the target.")
        return lines
    lines.append(
        f"Elapsed {_human(e.elapsed_seconds)}; remaining {_human(e.target_seconds)} - "
        f"{_human(e.target_seconds - e.remaining_seconds)} = {_human(e.remaining_seconds)}."
    )
    if e.due_rule == "pinned":
        lines.append(f"Due time pinned by a lead: {e.due_at:%a %d %b %Y %H:%M %Z}.")
    elif e.due_rule == "never":
        lines.append("The calendar has no business hours, so the clock is never due.")
    elif e.due_rule == "paused":
        lines.append("Paused: no due time until the clock resumes.")
    elif e.due_at is not None and counted_from is not None:
        if e.holidays_skipped:
            days = ", ".join(f"{day:%a %d %b}" for day in e.holidays_skipped)
            lines.append(f"Holidays skipped: {days}.")
        if e.closed_seconds_skipped:
            lines.append(f"Closed hours skipped: {_human(e.closed_seconds_skipped)}.")
        lines.append(
            f"{counted_from:%a %d %b %H:%M} + {_human(e.remaining_seconds)} of {unit} = "
            f"due {e.due_at:%a %d %b %Y %H:%M:%S %Z}."
        )
        if e.due_rule == "breached":
            lines.append("The clock ran past that instant: breached.")
    return lines
