"""How long `ticket_metrics` takes, and how many queries it runs, over many tickets.

Run from the project root against a database of its own (it writes tickets and refuses a database that
already has some):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/metrics_bench
    .venv/bin/python manage.py migrate && .venv/bin/python bench/metrics_bench.py 1000000

The tickets (with their metric columns and one inbound call each) are spread over the year before
2026-01-01, written in bulk, not through the services: the benchmark measures the reads. The table
(range, grouping, seconds best of three, queries) goes to stdout, progress to stderr.
"""

from __future__ import annotations

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

from tickets.models import Agent, Customer, PhoneCall, Team, Ticket, TicketMetrics  # noqa: E402
from tickets.reporting.metrics import ticket_metrics  # noqa: E402

BATCH = 10_000
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)


def populate(count: int, rng: random.Random) -> None:
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
            created = YEAR_START + timedelta(seconds=rng.randrange(365 * 86400))
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


def measure(start: date, end: date, group_by: str) -> tuple[float, int]:
    best, queries = float("inf"), 0
    for _ in range(3):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            ticket_metrics(tickets=Ticket.objects.all(), start=start, end=end, group_by=group_by)
            best = min(best, time.perf_counter() - began)
        queries = len(captured.captured_queries)
    return best, queries


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    if Ticket.objects.exists():
        sys.exit("This database already has tickets; give the benchmark a database of its own.")
    populate(count, random.Random(42))
    print(
        f"ticket_metrics over {count} tickets, {connection.vendor}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {datetime.now(UTC):%Y-%m-%d}"
    )
    print("| range | group_by | seconds (best of 3) | queries |")
    print("|---|---|---|---|")
    for label, start, end in (
        ("30 days", date(2025, 6, 1), date(2025, 6, 30)),
        ("365 days", date(2025, 1, 1), date(2025, 12, 31)),
    ):
        for group_by in ("day", "agent", "team"):
            seconds, queries = measure(start, end, group_by)
            print(f"| {label} | {group_by} | {seconds:.2f} | {queries} |")


if __name__ == "__main__":
    main()
