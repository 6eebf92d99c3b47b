"""The daily metrics rollup: the same numbers as the raw tables, kept current by marks and the sweep."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla import services as sla_services
from sla.models import Metric
from surveys import services as survey_services
from tests import factories
from tests.tickets.test_metrics_additivity import ADDITIVE, _build
from tests.tickets.test_metrics_additivity import START as scenario_start
from tests.tickets.test_metrics_additivity import tickets as scenarios
from tickets import services
from tickets.adapters.sla import SlaMetric
from tickets.adapters.surveys import SCALES, SurveyInvitation
from tickets.models import Message, Priority, Status, Ticket
from tickets.reporting import histogram, rollup, stats, sums
from tickets.reporting.metrics import (
    DURATIONS,
    GROUP_BY_CHOICES,
    UNASSIGNED_FILTER,
    MetricsFilters,
    recent_days,
    settled_before,
    ticket_metrics,
)
from tickets.reporting.models import Grain, MetricsHistogram, MetricsRollup, MetricsRollupDay, Span

pytestmark = pytest.mark.django_db

START, END = date(2026, 3, 1), date(2026, 3, 31)
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)  # long after the scenario: every day of it is settled


# --- histograms: the error bound --------------------------------------------------------------------


@given(
    values=st.lists(st.integers(0, 10**8), min_size=1, max_size=60),
    fraction=st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]),
)
def test_histogram_percentiles_are_within_half_a_bucket_of_the_exact_ones(values, fraction):
    values.sort()
    exact = stats.percentile_cont(values, fraction)
    counts: dict[int, int] = {}
    for value in values:
        counts[histogram.bucket_of(value)] = counts.get(histogram.bucket_of(value), 0) + 1
    estimate = histogram.percentile_cont(counts.items(), fraction)
    upper = values[min(int(fraction * (len(values) - 1)) + 1, len(values) - 1)]
    assert abs(estimate - exact) <= histogram.error_bound(upper)
    assert histogram.error_bound(upper) <= 0.0222 * upper + 0.5


def test_histogram_buckets_are_exact_below_64_seconds_and_cover_every_value():
    assert [histogram.bucket_value(histogram.bucket_of(v)) for v in range(64)] == list(range(64))
    for value in (64, 65, 1000, 3600, 86_400, 10**9, 2**40 + 5):
        low, high = histogram.bucket_bounds(histogram.bucket_of(value))
        assert low <= value and (value <= high or value >= histogram.MAX_SECONDS)
    assert histogram.percentile_cont([], 0.5) is None
    with pytest.raises(ValueError):
        histogram.percentile_cont([(1, 1)], 1.5)


def test_the_rollup_names_every_sla_metric():
    assert tuple(SlaMetric.values) == sums.SLA_METRICS


# --- the rollup agrees with the raw tables ----------------------------------------------------------


def _without_percentiles(result: dict) -> dict:
    def strip(group: dict) -> dict:
        return {
            **group,
            **{
                name: {k: v for k, v in group[name].items() if k not in ("median", "p90")}
                for name in DURATIONS
            },
        }

    return {**result, "groups": [strip(g) for g in result["groups"]], "totals": strip(result["totals"])}


def _assert_same(rolled: dict, raw: dict, bound_seconds: float) -> None:
    """Equal everywhere, except medians and p90s: within the histogram bound (and rounding to 4 places)."""
    assert _without_percentiles(rolled) == _without_percentiles(raw)
    for rolled_group, raw_group in zip(
        [*rolled["groups"], rolled["totals"]], [*raw["groups"], raw["totals"]], strict=True
    ):
        for name in DURATIONS:
            for stat in ("median", "p90"):
                exact, estimate = raw_group[name][stat], rolled_group[name][stat]
                assert (exact is None) == (estimate is None), (name, stat)
                if exact is not None:
                    assert abs(estimate - exact) <= bound_seconds / 3600 + 1e-4, (name, stat, exact, estimate)


def _bound() -> float:
    """The histogram error bound for the scenario: half the widest bucket any duration fell into."""
    values = []
    for column in sums.DURATION_COLUMNS:
        values += [v for v in Ticket.objects.values_list(f"metrics__{column}", flat=True) if v is not None]
    return max((histogram.error_bound(v) for v in values), default=0)


def _compare_all(
    filters_list: tuple[MetricsFilters, ...] = (MetricsFilters(),),
    group_bys: tuple[str, ...] = GROUP_BY_CHOICES,
) -> None:
    bound = _bound()
    for filters in filters_list:
        for group_by in group_bys:
            common = {"tickets": Ticket.objects.all(), "start": START, "end": END, "group_by": group_by}
            raw = ticket_metrics(filters=filters, **common)
            rolled = ticket_metrics(filters=filters, scope_teams=None, **common)
            _assert_same(rolled, raw, bound)


def _sla_policy() -> None:
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={
            (Priority.NORMAL, Metric.FIRST_RESPONSE): (3600, False),
            (Priority.NORMAL, Metric.RESOLUTION): (4 * 3600, False),
        },
    )


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=scenarios)
def test_rollup_and_raw_tables_give_the_same_metrics_on_random_scenarios(db, specs, time_machine):
    time_machine.move_to(NOW, tick=False)
    with transaction.atomic():
        _sla_policy()
        team = factories.TeamFactory()
        users = [factories.AgentFactory(teams=[team]).user for _ in range(2)]
        customers = [factories.CustomerFactory() for _ in range(3)]
        _build(specs, team, users, customers)
        assert rollup.rollup_backfill(since=date(2026, 2, 20), until=date(2026, 4, 30), chunk_days=17) == 70
        _compare_all()
        _compare_all(
            (
                MetricsFilters(team=team.pk),
                MetricsFilters(agent=users[0].pk),
                MetricsFilters(agent=UNASSIGNED_FILTER),
                MetricsFilters(channel="email", priority="normal"),
            ),
            group_bys=("week", "agent"),
        )
        # Agent and team rows plus "(unassigned)" still add up to the totals when read from the rollup.
        for group_by in ("agent", "team"):
            result = ticket_metrics(
                tickets=Ticket.objects.all(), start=START, end=END, group_by=group_by, scope_teams=None
            )
            for name in ADDITIVE:
                assert sum(g[name] for g in result["groups"]) == result["totals"][name], (group_by, name)
        transaction.set_rollback(True)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=scenarios)
def test_the_rollup_of_the_days_before_today_follows_a_live_desk_by_its_marks(db, specs, time_machine):
    """The scenario played in order of creation with the sweep running before each new ticket, as beat
    would: every day before the end's day is then in the rollup, computed while the desk still changed it
    (replies, solves, reopens, reassignments, calls, repeat contacts); only marks keep it right."""
    end = datetime(2026, 3, 11, 12, tzinfo=UTC)  # after every instant of the scenario
    time_machine.move_to(end, tick=False)
    with transaction.atomic():
        _sla_policy()
        team = factories.TeamFactory()
        users = [factories.AgentFactory(teams=[team]).user for _ in range(2)]
        customers = [factories.CustomerFactory() for _ in range(3)]
        for spec in sorted(specs, key=lambda spec: spec["hours"]):
            rollup.rollup_sweep(now=scenario_start + timedelta(hours=spec["hours"]))
            _build([spec], team, users, customers)
        # Not swept since the last ticket: the days computed before it are right through their marks.
        _compare_all(group_bys=("day", "agent", "team"))
        rollup.rollup_sweep(now=end)
        assert not MetricsRollupDay.objects.filter(dirty_at__isnull=False).exists()
        _compare_all(group_bys=("day", "month", "agent"))
        transaction.set_rollback(True)


@pytest.fixture
def month(time_machine):
    """A month of tickets on two teams, every day of it settled, and the rollup backfilled."""
    time_machine.move_to(NOW, tick=False)
    _sla_policy()
    teams = [factories.TeamFactory(name=name) for name in ("A", "B")]
    agents = [factories.AgentFactory(teams=[team]).user for team in teams]
    tickets = []
    for day in (1, 4, 5, 8, 12, 15, 19, 22, 26, 28):
        when = datetime(2026, 3, day, 8, tzinfo=UTC)
        team, agent = teams[day % 2], agents[day % 2]
        ticket = factories.ticket(team=team, assignee=agent, now=when)
        services.message_add(
            ticket=ticket,
            author_role=Message.AuthorRole.AGENT,
            author_user=agent,
            body_text="On it",
            now=when + timedelta(minutes=7 * day),
        )
        if day % 3:
            solved_at = when + timedelta(hours=day)
            services.ticket_change_status(ticket=ticket, status=Status.SOLVED, now=solved_at)
            # Surveys: sent an hour after the solve, answered (most of them) a day and a half later.
            invitation = factories.sent_survey(ticket=ticket, now=solved_at + timedelta(hours=1))
            if day % 4:
                survey_services.survey_response_record(
                    invitation=invitation, answers={"csat": day % 5 + 1}, now=solved_at + timedelta(hours=37)
                )
        factories.phone_call(ticket=ticket, started_at=when, queue_wait_seconds=day, agent=agent)
        tickets.append(ticket)
    rollup.rollup_backfill(since=date(2026, 3, 1), until=date(2026, 3, 31))
    return teams, agents, tickets


def test_scoped_readers_get_the_same_numbers_from_the_rollup(month):
    teams, _, _ = month
    for group_by in GROUP_BY_CHOICES:
        common = {"start": START, "end": END, "group_by": group_by}
        raw = ticket_metrics(tickets=Ticket.objects.filter(team_id__in=[teams[0].pk]), **common)
        rolled = ticket_metrics(
            tickets=Ticket.objects.filter(team_id__in=[teams[0].pk]), scope_teams=[teams[0].pk], **common
        )
        _assert_same(rolled, raw, _bound())
    # The rollup path really reads the rollup: a forged row shows.
    MetricsRollup.objects.filter(team_id=teams[0].pk).update(created=F("created") + 1)
    forged = ticket_metrics(
        tickets=Ticket.objects.all(), start=START, end=END, group_by="team", scope_teams=[teams[0].pk]
    )
    # Grouped by team with a lead's scope, the report reads the day-and-team grain.
    rows = MetricsRollup.objects.filter(grain=Grain.TEAM, team_id=teams[0].pk, day__gte=START, day__lte=END)
    rows = rows.count()
    assert forged["totals"]["tickets_created"] == 6 + rows
    assert MetricsHistogram.objects.exists()


def test_a_change_to_a_settled_ticket_marks_its_days_and_reads_them_raw_until_the_sweep(month):
    _, _, tickets = month
    ticket = tickets[2]  # created 03-05, solved 03-05 13:00
    other = factories.AgentFactory(teams=[ticket.team]).user
    services.ticket_assign(ticket=ticket, assignee=other, now=NOW)
    dirty = set(MetricsRollupDay.objects.filter(dirty_at__isnull=False).values_list("day", flat=True))
    assert date(2026, 3, 5) in dirty
    _compare_all(group_bys=("day", "agent"))  # the marked days come from the raw tables meanwhile
    assert rollup.rollup_sweep(now=NOW) >= len(dirty)
    assert not MetricsRollupDay.objects.filter(dirty_at__isnull=False).exists()
    _assert_histograms_consistent()
    _compare_all(group_bys=("month", "agent"))
    by_agent = ticket_metrics(
        tickets=Ticket.objects.all(), start=START, end=END, group_by="agent", scope_teams=None
    )
    assert {g["key"]: g["tickets_solved"] for g in by_agent["groups"]}[
        str(other.pk)
    ] == 0  # solved by agent 1
    assert {g["key"]: g["backlog"] for g in by_agent["groups"]}.get(str(other.pk), 0) == 0


def _assert_histograms_consistent() -> None:
    """Every histogram's `below` and `total` cumulate its counts, `ranked` marks the buckets of its median's
    and p90's ranks, and every month and week row is the sum of its day rows of the same grain and group."""
    histograms: dict = defaultdict(list)
    days: dict = defaultdict(int)
    spans: dict = {}
    for row in MetricsHistogram.objects.values():
        group = tuple(row[name] for name in ("grain", "team_id", "agent_id", "channel", "priority", "column"))
        cell = tuple(row[name] for name in ("bucket", "count", "below", "total", "ranked"))
        histograms[row["span"], row["day"], group].append(cell)
        day = row["day"]
        if row["span"] == Span.DAY and row["grain"] != Grain.FULL:
            for span, first in (
                (Span.MONTH, day.replace(day=1)),
                (Span.WEEK, day - timedelta(day.weekday())),
            ):
                days[span, first, group, row["bucket"]] += row["count"]
        elif row["span"] != Span.DAY:
            spans[row["span"], day, group, row["bucket"]] = row["count"]
    for rows in histograms.values():
        rows.sort()
        total, below = sum(cell[1] for cell in rows), 0
        ranks = histogram.percentile_ranks(total)
        for _, count, row_below, row_total, ranked in rows:
            assert (row_below, row_total) == (below, total)
            assert ranked == any(below <= rank < below + count for rank in ranks)
            below += count
    assert {span for span, *_ in spans} == {Span.MONTH, Span.WEEK}
    assert spans == dict(days)


def test_reading_whole_months_and_weeks_takes_their_rows(month):
    teams, _, _ = month
    readers = ({"tickets": Ticket.objects.all()}, {"tickets": Ticket.objects.filter(team=teams[0])})
    scopes = (None, [teams[0].pk])

    def read(group_by: str, start: date = START, end: date = END) -> list[dict]:
        return [
            ticket_metrics(**reader, start=start, end=end, group_by=group_by, scope_teams=scope)
            for reader, scope in zip(readers, scopes, strict=True)
        ]

    four_weeks = (date(2026, 3, 2), date(2026, 3, 29))  # Monday to Sunday
    by_month, by_agent, by_day = read("month"), read("agent"), read("day")
    by_weeks = read("agent", *four_weeks), read("team", *four_weeks), read("week", *four_weeks)
    _assert_histograms_consistent()
    MetricsHistogram.objects.filter(span=Span.DAY).exclude(grain=Grain.FULL).delete()
    assert read("month") == by_month and read("agent") == by_agent
    assert (read("agent", *four_weeks), read("team", *four_weeks), read("week", *four_weeks)) == by_weeks
    assert read("day") != by_day  # days are read from their own rows


def test_a_reopen_marks_the_day_of_the_solve_it_forgets(month):
    _, _, tickets = month
    solved = tickets[2]  # solved 03-05
    services.message_add(
        ticket=Ticket.objects.get(pk=solved.pk),
        author_role=Message.AuthorRole.CUSTOMER,
        body_text="Still broken",
        now=NOW,
    )
    assert MetricsRollupDay.objects.filter(day=date(2026, 3, 5), dirty_at__isnull=False).exists()
    _compare_all(group_bys=("day", "agent"))
    rollup.rollup_sweep(now=NOW)
    _compare_all(group_bys=("day", "agent"))


def test_a_new_ticket_costs_one_query_that_marks_its_customers_recent_solves_and_later_changes_none(month):
    _, _, tickets = month
    solved = tickets[2]  # solved 2026-03-05 13:00
    opened = datetime(2026, 3, 9, 9, tzinfo=UTC)
    unrelated = factories.ticket(now=opened)  # another customer: nothing to mark
    assert not MetricsRollupDay.objects.filter(dirty_at__isnull=False).exists()
    with CaptureQueriesContext(connection) as captured:
        assert rollup.rollup_mark_ticket(unrelated, now=opened) == 0
    assert len(captured.captured_queries) == 1
    with CaptureQueriesContext(connection) as captured:
        assert rollup.rollup_mark_ticket(unrelated, now=opened + timedelta(minutes=5)) == 0
    assert len(captured.captured_queries) == 0  # a later change to a ticket of today touches only today
    # The customer's ticket solved four days before becomes a repeat contact: its solve day is marked.
    factories.ticket(customer=solved.customer, now=opened)
    dirty = MetricsRollupDay.objects.filter(dirty_at__isnull=False).values_list("day", flat=True)
    assert list(dirty) == [date(2026, 3, 5)]
    # The next day the ticket's own day is in the rollup: a change to it marks that day like any other.
    other = factories.AgentFactory(teams=[solved.team]).user
    services.ticket_assign(ticket=unrelated, assignee=other, now=opened + timedelta(days=1))
    assert sorted(dirty.all()) == [date(2026, 3, 5), date(2026, 3, 9)]


def test_an_old_call_recorded_now_marks_its_day(month):
    _, agents, tickets = month
    services.phone_call_record(
        ticket=tickets[0],
        caller="+4512345678",
        outcome="answered",
        started_at=datetime(2026, 3, 20, 9, tzinfo=UTC),
        agent=agents[1],
        now=NOW,
    )
    assert MetricsRollupDay.objects.filter(day=date(2026, 3, 20), dirty_at__isnull=False).exists()
    _compare_all(group_bys=("week", "agent"))


def test_the_rollup_keeps_the_survey_scales():
    assert dict(SCALES) == sums.SURVEY_SCALES


def test_an_admin_reads_surveys_from_the_rollup_and_a_changed_answer_marks_its_days(month):
    teams, agents, _ = month
    filters_list = (MetricsFilters(), MetricsFilters(team=teams[1].pk), MetricsFilters(agent=agents[0].pk))
    _compare_all(filters_list, group_bys=("day", "month", "agent", "channel"))
    result = ticket_metrics(
        tickets=Ticket.objects.all(), start=START, end=END, group_by="day", scope_teams=None
    )
    assert result["totals"]["csat_responses"] == 5 and result["totals"]["surveys_sent"] == 8
    # The rollup path reads the rollup's survey sums: a forged row shows (not for a lead: a scope follows
    # the tickets' current teams, the rollup the invitations' teams at solve time).
    day = MetricsRollup.objects.filter(grain=Grain.DAY, survey_sent__gt=0).order_by("day").first()
    MetricsRollup.objects.filter(pk=day.pk).update(survey_sent=F("survey_sent") + 1)
    forged = ticket_metrics(
        tickets=Ticket.objects.all(), start=START, end=END, group_by="day", scope_teams=None
    )
    assert forged["totals"]["surveys_sent"] == 9
    MetricsRollup.objects.filter(pk=day.pk).update(survey_sent=F("survey_sent") - 1)
    # The answer to the survey of 03-01 (sent that day, answered on 03-02) is changed on 03-20: it keeps its
    # place, so the days of the answer and of the sending are marked.
    invitation = SurveyInvitation.objects.get(ticket__created_at__date=date(2026, 3, 1))
    survey_services.survey_response_record(
        invitation=invitation, answers={"csat": 5}, now=datetime(2026, 3, 20, 9, tzinfo=UTC)
    )
    dirty = set(MetricsRollupDay.objects.filter(dirty_at__isnull=False).values_list("day", flat=True))
    assert dirty == {date(2026, 3, 1), date(2026, 3, 2)}
    _compare_all(filters_list, group_bys=("day", "month", "agent"))
    rollup.rollup_sweep(now=NOW)
    _compare_all(filters_list, group_bys=("day", "month", "agent"))
    result = ticket_metrics(
        tickets=Ticket.objects.all(), start=START, end=END, group_by="day", scope_teams=None
    )
    assert result["totals"]["csat_responses"] == 5 and result["groups"][1]["csat"] == 100


def test_a_mark_that_arrives_while_the_day_is_computed_survives(month, monkeypatch):
    day = date(2026, 3, 10)
    rollup.rollup_mark_days([day], now=NOW)
    compute = rollup.rollup_compute

    def compute_and_mark(first, last):
        written = compute(first, last)
        rollup.rollup_mark_days([day], now=NOW + timedelta(seconds=1))
        return written

    monkeypatch.setattr(rollup, "rollup_compute", compute_and_mark)
    rollup.rollup_sweep(now=NOW)
    assert MetricsRollupDay.objects.get(day=day).dirty_at == NOW + timedelta(seconds=1)
    monkeypatch.setattr(rollup, "rollup_compute", compute)
    rollup.rollup_sweep(now=NOW + timedelta(minutes=1))
    assert MetricsRollupDay.objects.get(day=day).dirty_at is None


def test_the_sweep_skips_leased_days_and_takes_them_back_when_the_lease_ran_out(month):
    day = date(2026, 3, 12)
    rollup.rollup_mark_days([day], now=NOW)
    MetricsRollupDay.objects.filter(day=day).update(claimed_until=NOW + timedelta(minutes=5))
    rollup.rollup_sweep(now=NOW)
    assert MetricsRollupDay.objects.get(day=day).dirty_at is not None  # another worker holds it
    rollup.rollup_sweep(now=NOW + timedelta(minutes=6))  # that worker died; its lease ran out
    row = MetricsRollupDay.objects.get(day=day)
    assert row.dirty_at is None and row.claimed_until is None


def test_the_sweep_computes_every_day_before_today_and_the_recent_ones_again_every_hour(db, time_machine):
    time_machine.move_to(NOW, tick=False)
    today = NOW.date()
    assert rollup.rollup_sweep(now=NOW) == recent_days() + rollup.CATCH_UP_DAYS
    computed = MetricsRollupDay.objects.filter(computed_at__isnull=False).values_list("day", flat=True)
    assert max(computed) == today - timedelta(days=1)
    assert rollup.rollup_sweep(now=NOW) == 0  # idempotent: nothing left to do
    assert rollup.rollup_mark_days([today], now=NOW) == 0  # today is read raw: no mark needed
    # The recent days once their computation is older than the watermark allows; no settled day.
    assert rollup.rollup_sweep(now=NOW + rollup.RECOMPUTE_RECENT - timedelta(minutes=1)) == 0
    late = datetime(2026, 6, 1, 23, 35, tzinfo=UTC)
    assert rollup.rollup_sweep(now=late) == recent_days()
    assert rollup.rollup_sweep(now=late) == 0
    # After midnight the day that has just left the recent days is computed once more, and yesterday.
    tomorrow = datetime(2026, 6, 2, 0, 5, tzinfo=UTC)
    assert rollup.rollup_sweep(now=tomorrow) == 2
    left = settled_before(now=tomorrow) - timedelta(days=1)
    assert MetricsRollupDay.objects.get(day=left).computed_at == tomorrow
    assert MetricsRollupDay.objects.get(day=today).computed_at == tomorrow
    assert rollup.rollup_sweep(now=tomorrow + timedelta(minutes=5)) == 0


def test_backfill_command_reports_progress_and_refuses_bad_input(month, capsys):
    call_command(
        "metrics_rollup_backfill", "--since", "2026-03-01", "--until", "2026-03-10", "--chunk-days", "4"
    )
    out = capsys.readouterr().out
    assert "2026-03-01..2026-03-04" in out and "2026-03-09..2026-03-10" in out and "10 days computed" in out
    with pytest.raises(CommandError):
        call_command("metrics_rollup_backfill", "--chunk-days", "0")
    with pytest.raises(CommandError):
        call_command("metrics_rollup_backfill", "--since", "March")
