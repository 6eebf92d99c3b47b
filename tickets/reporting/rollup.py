"""Keeps the daily metrics rollup (`tickets.reporting.models`) equal to the raw tables.

Days are local days of the installation's time zone (`TIME_ZONE`). Only today is read from the raw tables
(`metrics.rolled_before()`); a day is computed once it is over, and again whenever a change marks it:

- `rollup_mark_ticket` / `rollup_mark_days`: the ticket services mark the computed days a change moves
  (the days of the ticket's creation, first reply, solve, close, calls and SLA outcomes; the old solve
  day on a reopen; the solve days of the customer's tickets that a new ticket makes repeat contacts);
  `rollup_mark_instants`: the survey services mark the days of an answer and of its invitation's sending.
- `rollup_sweep` (beat task `tickets_rollup_metrics`): recomputes the days that are marked, or over and
  never computed, oldest first, each claimed with a lease so two workers never compute one day and
  a crashed worker's day is taken again once the lease ran out. The recent days (`metrics.recent_days()`
  before today), where the SLA sweep can still place a breach nobody marks, are also recomputed when
  their last computation is older than `RECOMPUTE_RECENT` (a watermark per day: `computed_at`), and the
  day that has just left them once more. Recomputing is idempotent: a day's rows are deleted and
  rewritten from the raw tables in one transaction.
- `rollup_backfill` (`manage.py metrics_rollup_backfill`): computes a span of days, a chunk at a time.

A mark that arrives while its day is being computed survives (the day's `dirty_at` is cleared only if it
still holds the value read before computing), so the next sweep computes the day again.
"""

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Q
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from tickets.adapters.sla import ClockState, SlaClock
from tickets.models import PhoneCall, Ticket
from tickets.reporting import histogram, metrics, sums
from tickets.reporting.models import Grain, MetricsHistogram, MetricsRollup, MetricsRollupDay, Span

LEASE = timedelta(minutes=15)
#: Days before today the sweep makes sure exist (so every day that ends gets computed even when nothing
#: marked it), beyond the recent days; older gaps are the backfill's.
CATCH_UP_DAYS = 7
#: How old the computation of a recent day may get before the sweep recomputes it unmarked.
RECOMPUTE_RECENT = timedelta(hours=1)
SWEEP_MAX_DAYS = 31
INSERT_BATCH = 5000
#: First key of the PostgreSQL advisory locks that serialise rewriting one month's or week's rows (the
#: second names the span and its first day); any constant unused elsewhere.
SPAN_LOCK = 16_0001


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _local_day(instant: datetime) -> date:
    return timezone.localtime(instant, _tz()).date()


def _markable() -> Q:
    # A day never computed is read raw and will be computed from the data as it is then: no mark needed.
    # A day being computed for the first time is claimed: marking it keeps the change from being lost.
    return Q(computed_at__isnull=False) | Q(claimed_until__isnull=False)


def rollup_mark_days(days: Iterable[date], *, now: datetime) -> int:
    """Mark computed days as changed (today is read raw: no mark needed); returns how many."""
    today = metrics.rolled_before(now=now)
    stale = sorted({day for day in days if day < today})
    if not stale:
        return 0
    return MetricsRollupDay.objects.filter(_markable(), day__in=stale).update(dirty_at=now)


def rollup_mark_instants(instants: Iterable[datetime | None], *, now: datetime) -> int:
    """Mark the computed days of these instants as changed (a survey answer marks the day of its first
    answer and the day its invitation was sent); returns how many."""
    return rollup_mark_days([_local_day(instant) for instant in instants if instant is not None], now=now)


def rollup_mark_ticket(ticket: Ticket, *, now: datetime, also: Iterable[datetime | None] = ()) -> int:
    """Mark the computed days on which `ticket`'s figures sit (and the days of `also`) as changed, in one
    statement; returns how many days.

    A ticket created today costs no query, except when it is opened (`created_at` is `now`): then the
    solves of its customer's tickets in the repeat-contact window before it become repeat contacts.
    """
    today = metrics.rolled_before(now=now)
    also = [instant for instant in also if instant is not None]
    created = _local_day(ticket.created_at)
    tz = _tz()
    window = timedelta(days=settings.HELPDESK_REPEAT_CONTACT_DAYS)
    came_back_to = (
        Ticket.objects.filter(
            customer_id=ticket.customer_id,
            solved_at__gte=ticket.created_at - window,
            solved_at__lt=ticket.created_at,
        )
        .order_by()
        .annotate(d=TruncDate("solved_at", tzinfo=tz))
        .values("d")
    )
    if created >= today and all(_local_day(instant) >= today for instant in also):
        if ticket.created_at != now:
            return 0
        return MetricsRollupDay.objects.filter(_markable(), day__in=came_back_to, day__lt=today).update(
            dirty_at=now
        )
    instants = [ticket.created_at, ticket.first_response_at, ticket.solved_at, ticket.closed_at, *also]
    days = {_local_day(instant) for instant in instants if instant is not None}
    calls = PhoneCall.objects.filter(ticket_id=ticket.pk).order_by()
    outcomes = SlaClock.objects.filter(
        ticket_id=ticket.pk, state__in=[ClockState.ACHIEVED, ClockState.BREACHED]
    ).order_by()
    touched = (
        Q(day__in=sorted(days))
        | Q(day__in=calls.annotate(d=TruncDate("started_at", tzinfo=tz)).values("d"))
        | Q(
            day__in=outcomes.annotate(d=TruncDate(Coalesce("breached_at", "stopped_at"), tzinfo=tz)).values(
                "d"
            )
        )
        # An old ticket (an import) can be the repeat contact of its customer's tickets solved before it.
        | Q(day__in=came_back_to)
    )
    return MetricsRollupDay.objects.filter(_markable(), touched, day__lt=today).update(dirty_at=now)


def rollup_compute(first: date, last: date) -> int:
    """Rewrite the rollup rows of the days first..last from the raw tables; returns the rows written."""
    tz = _tz()
    common = {
        "filters": metrics.MetricsFilters(),
        "scope": None,
        "ranges": [metrics.range_bounds(first, last, tz)],
        "grouping": metrics.ROLLUP,
        "tz": tz,
    }
    with transaction.atomic():
        MetricsRollup.objects.filter(day__gte=first, day__lte=last).delete()
        MetricsHistogram.objects.filter(day__gte=first, day__lte=last, span=Span.DAY).delete()
        if connection.vendor == "postgresql":
            written = _insert_sums(metrics.family_querysets(base=None, **common))
            written += _insert_histograms(metrics.value_querysets(**common))
        else:
            written = _create_rows(common)
        written += _insert_coarser_grains(first, last)
        written += _rewrite_spans(first, last)
    return written


def _keys_sql(alias: str = "") -> str:
    return ", ".join(f"{alias}{name}" for name in metrics.ROLLUP_KEYS)


def _execute(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _insert_sums(querysets: list) -> int:
    """PostgreSQL: every family's grouped rows summed per group straight into the rollup, in one statement."""
    parts, params = [], []
    for queryset, names in querysets:
        sql, query_params = queryset.query.sql_with_params()
        columns = ", ".join(name if name in names else f"0 AS {name}" for name in sums.SUM_COLUMNS)
        parts.append(f"SELECT {_keys_sql()}, {columns} FROM ({sql}) AS family")
        params.extend(query_params)
    totals = ", ".join(f"COALESCE(SUM({name}), 0)" for name in sums.SUM_COLUMNS)
    return _execute(
        f"INSERT INTO {MetricsRollup._meta.db_table} (grain, day, team_id, agent_id, channel, priority, "
        f"{', '.join(sums.SUM_COLUMNS)}) SELECT {Grain.FULL}, {_keys_sql()}, {totals} "
        f"FROM ({' UNION ALL '.join(parts)}) AS families GROUP BY {_keys_sql()}",
        params,
    )


HISTOGRAM_GROUP = ("grain", "span", "day", "team_id", "agent_id", "channel", "priority", '"column"')


def _ranks_sql() -> str:
    """Whether a cumulated row (`below`, `count`, `total`) holds one of the ranks that its histogram's
    median and p90 interpolate, in integer arithmetic (exact floors, the same in PostgreSQL and SQLite)."""
    conditions = []
    for tenths in histogram.PERCENTILE_TENTHS:
        lower = f"({tenths} * (total - 1) / 10)"
        for rank in (lower, f"(CASE WHEN {lower} + 1 < total THEN {lower} + 1 ELSE total - 1 END)"):
            conditions.append(f"(below <= {rank} AND {rank} < below + count)")
    return " OR ".join(conditions)


def _insert_cumulated(counted: str, params: list) -> int:
    """Insert histogram rows from `counted`, a SELECT of the columns `HISTOGRAM_GROUP`, bucket and count
    (one row per histogram and bucket), adding each row's `below`, `total` (window sums over its
    histogram) and `ranked`."""
    group = ", ".join(HISTOGRAM_GROUP)
    histogram_of = f"PARTITION BY {group}"
    return _execute(
        f"INSERT INTO {MetricsHistogram._meta.db_table} ({group}, bucket, count, below, total, ranked) "
        f"SELECT {group}, bucket, count, below, total, {_ranks_sql()} FROM (SELECT {group}, bucket, count, "
        # Integers, so that the ranks divide as integers (a sum of bigints is numeric in PostgreSQL).
        f"CAST(SUM(count) OVER ({histogram_of} ORDER BY bucket) - count AS BIGINT) AS below, "
        f"CAST(SUM(count) OVER ({histogram_of}) AS BIGINT) AS total "
        f"FROM ({counted}) AS counted) AS cumulated",
        params,
    )


def _insert_histograms(querysets: list) -> int:
    """PostgreSQL: the duration values counted per group, column and bucket (`width_bucket` on the fixed
    edges, the same buckets as `histogram.bucket_of`), straight into the histogram table."""
    parts, params = [], []
    for queryset, indexes in querysets:
        sql, query_params = queryset.query.sql_with_params()
        pairs = ", ".join(f"({index}, family.c{i})" for i, index in enumerate(indexes))
        parts.append(
            f"SELECT {_keys_sql('family.')}, value.col, width_bucket(value.v, %s::bigint[]) - 1 AS bucket "
            f"FROM ({sql}) AS family CROSS JOIN LATERAL (VALUES {pairs}) AS value (col, v) "
            "WHERE value.v IS NOT NULL"
        )
        params.extend([list(histogram.EDGES), *query_params])
    keys = ", ".join(
        f"{key} AS {column}" for key, column in zip(metrics.ROLLUP_KEYS, HISTOGRAM_GROUP[2:7], strict=True)
    )
    return _insert_cumulated(
        f'SELECT {Grain.FULL} AS grain, {Span.DAY} AS span, {keys}, col AS "column", bucket, '
        f"COUNT(*) AS count FROM ({' UNION ALL '.join(parts)}) AS val GROUP BY {_keys_sql()}, col, bucket",
        params,
    )


def _create_rows(common: dict) -> int:
    """SQLite (the embedded default, small): the same rows built in Python."""
    rows = [
        MetricsRollup(day=day, team_id=team, agent_id=agent, channel=channel, priority=priority, **values)
        for (day, team, agent, channel, priority), values in metrics.family_sums(base=None, **common).items()
    ]
    buckets = []
    for ((day, team, agent, channel, priority), column), counts in metrics.family_values(**common).items():
        below, total = 0, sum(counts.values())
        ranks = histogram.percentile_ranks(total)
        for bucket, count in sorted(counts.items()):
            buckets.append(
                MetricsHistogram(
                    day=day,
                    team_id=team,
                    agent_id=agent,
                    channel=channel,
                    priority=priority,
                    column=column,
                    bucket=bucket,
                    count=count,
                    below=below,
                    total=total,
                    ranked=any(below <= rank < below + count for rank in ranks),
                )
            )
            below += count
    MetricsRollup.objects.bulk_create(rows, batch_size=INSERT_BATCH)
    MetricsHistogram.objects.bulk_create(buckets, batch_size=INSERT_BATCH)
    return len(rows) + len(buckets)


def _insert_coarser_grains(first: date, last: date) -> int:
    """The day-and-team and the day grains, summed from the full grain of the same days."""
    written = 0
    rollup_table, histogram_table = MetricsRollup._meta.db_table, MetricsHistogram._meta.db_table
    totals = ", ".join(f"SUM({name})" for name in sums.SUM_COLUMNS)
    columns = ", ".join(sums.SUM_COLUMNS)
    # A typed NULL: an untyped one would come out of the cumulating subquery as text.
    everyone = "CAST(NULL AS BIGINT)"
    for grain, team, agent in (
        (Grain.TEAM, "team_id", everyone),
        (Grain.DAY, everyone, everyone),
        (Grain.TEAM_AGENT, "team_id", "agent_id"),
    ):
        group_by = ", ".join(["day", *(name for name in (team, agent) if name != everyone)])
        written += _execute(
            f"INSERT INTO {rollup_table} (grain, day, team_id, agent_id, channel, priority, {columns}) "
            f"SELECT {grain}, day, {team}, {agent}, '', '', {totals} FROM {rollup_table} "
            f"WHERE grain = {Grain.FULL} AND day >= %s AND day <= %s GROUP BY {group_by}",
            [first, last],
        )
        written += _insert_cumulated(
            f"SELECT {grain} AS grain, {Span.DAY} AS span, day, {team} AS team_id, {agent} AS agent_id, "
            f"'' AS channel, '' AS priority, \"column\", bucket, SUM(count) AS count FROM {histogram_table} "
            f"WHERE grain = {Grain.FULL} AND day >= %s AND day <= %s "
            f'GROUP BY {group_by}, "column", bucket',
            [first, last],
        )
    return written


def _rewrite_spans(first: date, last: date) -> int:
    """The month and week rows (`Span.MONTH`, `Span.WEEK`) of the coarser grains for every month and week
    that first..last touches, summed again from their day rows, so they always equal them."""
    spans, month = [], first.replace(day=1)
    while month <= last:
        spans.append((Span.MONTH, month, metrics.next_month(month)))
        month = metrics.next_month(month)
    week = first - timedelta(days=first.weekday())
    while week <= last:
        spans.append((Span.WEEK, week, week + timedelta(days=7)))
        week += timedelta(days=7)
    table, written = MetricsHistogram._meta.db_table, 0
    for span, start, following in spans:
        if connection.vendor == "postgresql":
            # Two workers computing days of one month (or week) must not rewrite its rows at the same time:
            # the second's DELETE would miss the first's uncommitted rows and the month would count twice.
            # The lock is held to the end of the transaction; the second then sees the first's rows.
            _execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [SPAN_LOCK, span * 1_000_000 + start.toordinal()]
            )
        MetricsHistogram.objects.filter(span=span, day=start).delete()
        written += _insert_cumulated(
            f"SELECT grain, {span} AS span, %s AS day, team_id, agent_id, '' AS channel, "
            f"'' AS priority, \"column\", bucket, SUM(count) AS count FROM {table} "
            f"WHERE grain IN ({Grain.TEAM}, {Grain.DAY}, {Grain.TEAM_AGENT}) AND span = {Span.DAY} "
            f'AND day >= %s AND day < %s GROUP BY grain, team_id, agent_id, "column", bucket',
            [start, start, following],
        )
    return written


def _claim(days: list[date], now: datetime) -> dict[date, datetime | None]:
    """Lease the days that nobody holds; {claimed day: its dirty_at when claimed}."""
    MetricsRollupDay.objects.bulk_create([MetricsRollupDay(day=day) for day in days], ignore_conflicts=True)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    claimed = {}
    for day in days:
        if MetricsRollupDay.objects.filter(free, day=day).update(claimed_until=now + LEASE):
            claimed[day] = MetricsRollupDay.objects.values_list("dirty_at", flat=True).get(day=day)
    return claimed


def _finish(claimed: dict[date, datetime | None], now: datetime) -> None:
    for day, dirty_at in claimed.items():
        unchanged = Q(dirty_at__isnull=True) if dirty_at is None else Q(dirty_at=dirty_at)
        done = MetricsRollupDay.objects.filter(unchanged, day=day).update(
            computed_at=now, dirty_at=None, claimed_until=None
        )
        if not done:  # marked again while computing: keep the mark for the next sweep
            MetricsRollupDay.objects.filter(day=day).update(computed_at=now, claimed_until=None)


def rollup_sweep(*, now: datetime | None = None, max_days: int = SWEEP_MAX_DAYS) -> int:
    """Compute the days before today that are marked, never computed, or recent and computed longer than
    `RECOMPUTE_RECENT` ago (and the day before the recent ones, until it was computed once after it left
    them); returns how many days."""
    now = now or timezone.now()
    today = metrics.rolled_before(now=now)
    settled = metrics.settled_before(now=now)
    ensured = [today - timedelta(days=n) for n in range(1, metrics.recent_days() + CATCH_UP_DAYS + 1)]
    MetricsRollupDay.objects.bulk_create(
        [MetricsRollupDay(day=day) for day in ensured], ignore_conflicts=True
    )
    # A day still changes unmarked until it leaves the recent days (at today's midnight for the day
    # before them): it is computed once more after that, as the recent days are every hour.
    left = settled - timedelta(days=1)
    left_at = metrics.range_bounds(today, today, _tz())[0]
    due = list(
        MetricsRollupDay.objects.filter(
            Q(computed_at__isnull=True)
            | Q(dirty_at__isnull=False)
            | Q(day__gte=settled, computed_at__lt=now - RECOMPUTE_RECENT)
            | Q(day=left, computed_at__lt=left_at),
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
            day__lt=today,
        )
        .order_by("day")
        .values_list("day", flat=True)[:max_days]
    )
    claimed = _claim(due, now)
    for first, last in metrics.day_runs(sorted(claimed)):
        rollup_compute(first, last)
    _finish(claimed, now)
    return len(claimed)


def rollup_backfill(
    *,
    since: date | None = None,
    until: date | None = None,
    chunk_days: int = 31,
    now: datetime | None = None,
    progress: Callable[[date, date, int], None] | None = None,
) -> int:
    """Compute every day before today from `since` (default: the first ticket's day) to `until`,
    `chunk_days` at a time; returns how many days. Safe beside the sweep: days another worker holds are
    skipped."""
    now = now or timezone.now()
    yesterday = metrics.rolled_before(now=now) - timedelta(days=1)
    until = min(until or yesterday, yesterday)
    if since is None:
        first_ticket = Ticket.objects.aggregate(first=Min("created_at"))["first"]
        if first_ticket is None:
            return 0
        since = _local_day(first_ticket)
    done, current = 0, since
    while current <= until:
        # A chunk ends with its month at the latest, so each month's rows are summed up once.
        last = min(
            until, current + timedelta(days=chunk_days - 1), metrics.next_month(current) - timedelta(days=1)
        )
        days = [current + timedelta(days=n) for n in range((last - current).days + 1)]
        claimed = _claim(days, now)
        rows = sum(rollup_compute(first, end) for first, end in metrics.day_runs(sorted(claimed)))
        _finish(claimed, now)
        done += len(claimed)
        if progress:
            progress(current, last, rows)
        current = last + timedelta(days=1)
    if connection.vendor == "postgresql":
        # Fresh statistics, so the planner knows how many rows a year of the rollup holds.
        for model in (MetricsRollup, MetricsHistogram, MetricsRollupDay):
            _execute(f"ANALYZE {model._meta.db_table}", [])
    return done
