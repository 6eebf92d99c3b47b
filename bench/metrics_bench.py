"""How long `ticket_metrics` takes for a year, read from the raw tables and from the daily rollup, in one run.

On a database that already holds a year of tickets (bench/generate.py's bench_100k / bench_1m), after
`manage.py migrate` and `manage.py metrics_rollup_backfill`:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_1m .venv/bin/python bench/metrics_bench.py

Or on an empty database of its own, which it fills first (tickets with metric columns and one inbound call
each, spread over the year before today, written in bulk, not through the services) and then backfills:

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/metrics_bench
    .venv/bin/python manage.py migrate && .venv/bin/python bench/metrics_bench.py --populate 100000

It measures the year up to today grouped by day, month and agent, for an admin (every ticket), or with
`--team ID` for the lead of that team: seconds (best of `--repeat`) and queries, raw and rollup side by
side (`--no-raw`: the rollup only), with the machine, date and load average.
The table goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from tickets.models import Agent, Customer, PhoneCall, Team, Ticket, TicketMetrics  # noqa: E402
from tickets.reporting import rollup  # noqa: E402
from tickets.reporting.metrics import RAW, ticket_metrics  # noqa: E402
from tickets.reporting.models import MetricsRollupDay  # noqa: E402

BATCH = 10_000


def populate(count: int, rng: random.Random) -> None:
    year_start = datetime.now(UTC) - timedelta(days=365)
    teams = [Team.objects.create(name=f"Bench team {i}") for i in range(5)]
    users = []
    for i in range(25):
        user = get_user_model().objects.create(username=f"bench-agent-{i}")
        Agent.objects.create(user=user).teams.add(teams[i % 5])
        users.append(user)
    customers = Customer.objects.bulk_create(Customer(name=f"Bench customer {i}") for i in range(2000))
    for offset in range(0, count, BATCH):
        size = min(BATCH, count - offset)
        specs = []
        for i in range(offset, offset + size):
            created = year_start + timedelta(seconds=rng.randrange(365 * 86400))
            solved = rng.random() < 0.8
            specs.append((i, created, solved, rng.choice([*users, None])))
        tickets = Ticket.objects.bulk_create(
            Ticket(
                subject=f"Bench {i}",
                reference=f"BENCH-{i}",
                reply_token=f"bench{i}",
                customer=customers[i % len(customers)],
                team=teams[i % len(teams)],
                assignee=assignee,
                status="solved" if solved else "open",
                created_at=created,
                updated_at=created,
                first_response_at=created + timedelta(hours=1),
                solved_at=created + timedelta(hours=8) if solved else None,
            )
            for i, created, solved, assignee in specs
        )
        TicketMetrics.objects.bulk_create(
            TicketMetrics(
                ticket=ticket,
                first_response_seconds=3600,
                first_response_business_seconds=1800,
                resolution_seconds=8 * 3600 if ticket.solved_at else None,
                resolution_business_seconds=4 * 3600 if ticket.solved_at else None,
                first_resolution_seconds=8 * 3600 if ticket.solved_at else None,
                requester_wait_seconds=6 * 3600,
                agent_work_seconds=5 * 3600,
                agent_wait_seconds=2 * 3600,
                agent_public_replies=1 + ticket.pk % 3,
                solved_by=ticket.assignee,
                team_stations=1,
                assignee_stations=1,
            )
            for ticket in tickets
        )
        PhoneCall.objects.bulk_create(
            PhoneCall(
                ticket=ticket,
                caller="+4512345678",
                outcome="answered" if ticket.pk % 10 else "abandoned",
                agent=ticket.assignee if ticket.pk % 10 else None,
                queue_wait_seconds=ticket.pk % 60,
                talk_seconds=300 if ticket.pk % 10 else 0,
                started_at=ticket.created_at,
                created_at=ticket.created_at,
            )
            for ticket in tickets
        )
        print(f"{offset + size} tickets written", file=sys.stderr)


def measure(start: date, end: date, group_by: str, scope, team: int | None, repeat: int) -> tuple[float, int]:
    best, queries = float("inf"), 0
    # A team lead sees the tickets of the team they lead: the same queryset and scope the API gives them.
    tickets = Ticket.objects.all() if team is None else Ticket.objects.filter(team_id__in=[team])
    if team is not None and scope is None:
        scope = [team]
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            ticket_metrics(tickets=tickets, start=start, end=end, group_by=group_by, scope_teams=scope)
            best = min(best, time.perf_counter() - began)
        queries = len(captured.captured_queries)
    return best, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--populate", type=int, help="Fill an empty database with this many tickets first.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--team", type=int, help="Read as the lead of this team (id) instead of an admin.")
    parser.add_argument("--no-raw", action="store_true", help="Time the rollup only, not the raw tables.")
    args = parser.parse_args()
    if args.populate:
        if Ticket.objects.exists():
            sys.exit("This database already has tickets; give --populate a database of its own.")
        populate(args.populate, random.Random(42))
    count = Ticket.objects.count()
    if not MetricsRollupDay.objects.filter(computed_at__isnull=False).exists():
        began = time.perf_counter()
        days = rollup.rollup_backfill(
            progress=lambda first, last, rows: print(f"{first}..{last}: {rows} rows", file=sys.stderr)
        )
        print(f"backfill: {days} days in {time.perf_counter() - began:.1f} s (load {_load()})")
    end = timezone.localdate()
    start = end - timedelta(days=364)
    rolled = MetricsRollupDay.objects.filter(
        day__gte=start, computed_at__isnull=False, dirty_at__isnull=True
    ).count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = (
            cursor.fetchone()[0].split(",")[0] if connection.vendor == "postgresql" else connection.vendor
        )
    print(
        f"ticket_metrics, a year ({start}..{end}, {rolled} days in the rollup), {count} tickets, "
        f"read as {'an admin' if args.team is None else f'the lead of team {args.team}'}, {version}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {_load()}"
    )
    best = f"best of {args.repeat}"
    print(f"| group_by | raw s ({best}) | raw queries | rollup s ({best}) | rollup queries | raw / rollup |")
    print("|---|---|---|---|---|---|")
    for group_by in ("day", "month", "agent"):
        raw, raw_queries = (
            (None, None) if args.no_raw else measure(start, end, group_by, RAW, args.team, args.repeat)
        )
        rolled_s, rolled_queries = measure(start, end, group_by, None, args.team, args.repeat)
        raw_s, ratio = ("-", "-") if raw is None else (f"{raw:.2f}", f"{raw / rolled_s:.0f}")
        print(
            f"| {group_by} | {raw_s} | {raw_queries or '-'} | {rolled_s:.2f} | {rolled_queries} | {ratio} |"
        )
    print(f"load average after: {_load()}")


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
