"""Benchmark the similar-tickets query and the breach forecast on a large PostgreSQL database.

Run from the project root against a scratch database you created for it (it is filled, not cleaned):

    createdb -h 127.0.0.1 -U postgres h_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_bench
    .venv/bin/python bench/similar_bench.py --tickets 100000
    dropdb -h 127.0.0.1 -U postgres h_bench

It migrates the database, bulk-inserts `--tickets` tickets (90% solved) over 8 teams with a customer message
and an agent reply each (text from tickets.similar.corpus, so duplicate groups exist at scale, plus a random
product word per ticket), gives 2% of the tickets a running SLA clock due in the next two days, then times
`similar_tickets` for `--queries` open tickets as an agent of four teams, and `team_breach_forecast` for
each team. Prints p50/p95/max in milliseconds and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from sla import selectors as sla_selectors  # noqa: E402
from sla.models import Calendar, ClockState, Metric, SlaClock  # noqa: E402
from sla.services import calendar_create_always_open  # noqa: E402
from tickets.models import Agent, Customer, Message, Status, Team, Ticket  # noqa: E402
from tickets.similar import corpus  # noqa: E402
from tickets.similar.selectors import similar_tickets  # noqa: E402

BATCH = 5000
WORDS = [f"module{n}" for n in range(2000)]


def populate(count: int, seed: int) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    teams = [Team.objects.create(name=f"Bench team {n}") for n in range(8)]
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"bench-agent-{n}", first_name=f"Agent{n}") for n in range(40)
    )
    for index, user in enumerate(users):
        agent = Agent.objects.create(user=user, capacity=25, is_available=index % 5 != 0)
        agent.teams.add(teams[index % 8], teams[(index + 1) % 8])
    customers = Customer.objects.bulk_create(
        Customer(name=f"{rng.choice(corpus.FIRST_NAMES)} Bench{n}", email=f"bench{n}@example.test")
        for n in range(5000)
    )
    calendar = calendar_create_always_open(name="Bench 24/7")
    generated = corpus.generate(count, seed=seed)
    done = 0
    while done < count:
        size = min(BATCH, count - done)
        items = [next(generated) for _ in range(size)]
        tickets = []
        for offset, item in enumerate(items):
            created = now - timedelta(days=item.age_days, minutes=rng.randint(0, 1440))
            solved = rng.random() < 0.9
            tickets.append(
                Ticket(
                    reference=f"B-{done + offset}",
                    subject=item.subject,
                    status=Status.SOLVED if solved else Status.OPEN,
                    team=teams[(done + offset) % 8],
                    assignee=users[rng.randrange(len(users))] if rng.random() < 0.8 else None,
                    customer=customers[rng.randrange(len(customers))],
                    created_at=created,
                    updated_at=created + timedelta(hours=2),
                    first_response_at=created + timedelta(hours=1),
                    solved_at=created + timedelta(hours=2) if solved else None,
                )
            )
        Ticket.objects.bulk_create(tickets)
        messages = []
        for ticket, item in zip(tickets, items, strict=True):
            messages.append(
                Message(
                    ticket=ticket,
                    author_role=Message.AuthorRole.CUSTOMER,
                    body_text=f"{item.body}\n\n{rng.choice(WORDS)}",
                    created_at=ticket.created_at,
                )
            )
            messages.append(
                Message(
                    ticket=ticket,
                    author_role=Message.AuthorRole.AGENT,
                    author_user=ticket.assignee,
                    body_text=item.reply,
                    created_at=ticket.created_at + timedelta(hours=1),
                )
            )
        Message.objects.bulk_create(messages)
        SlaClock.objects.bulk_create(
            SlaClock(
                ticket=ticket,
                metric=Metric.RESOLUTION,
                target_seconds=86400,
                business_hours=False,
                calendar=calendar,
                state=ClockState.RUNNING,
                started_at=now - timedelta(hours=1),
                running_since=now - timedelta(hours=1),
                due_at=now + timedelta(minutes=rng.randint(5, 2880)),
            )
            for ticket in tickets
            if ticket.status == Status.OPEN and rng.random() < 0.2
        )
        done += size
        print(f"  {done} tickets", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return f"| {name} | {len(times)} | {statistics.median(ordered):.1f} | {p95:.1f} | {ordered[-1]:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL (DATABASE_URL).")
    call_command("migrate", verbosity=0)
    if not Ticket.objects.exists():
        started = time.perf_counter()
        populate(args.tickets, args.seed)
        print(f"populated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    total = Ticket.objects.count()
    agent = Agent.objects.select_related("user").first().user
    visible = list(
        Ticket.objects.filter(status=Status.OPEN, team__agents__user=agent).values_list("pk", flat=True)
    )
    rng = random.Random(args.seed)
    sample = [
        Ticket.objects.select_related("customer").get(pk=pk) for pk in rng.sample(visible, args.queries)
    ]
    now = datetime.now(UTC)
    similar_times = []
    for ticket in sample:
        similar_times += timed(lambda t=ticket: similar_tickets(user=agent, ticket=t, now=now), 1)
    forecast_times = []
    for team in Team.objects.filter(name__startswith="Bench team"):
        forecast_times += timed(lambda t=team: sla_selectors.team_breach_forecast(t, now), 3)
    clocks = SlaClock.objects.filter(state=ClockState.RUNNING).count()
    print(f"# Similar tickets and breach forecast at {total} tickets ({clocks} running clocks)")
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"PostgreSQL {connection.pg_version // 10000}; Calendar rows {Calendar.objects.count()}")
    print("| measure | runs | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    print(summary("similar_tickets (agent of 2 of 8 teams)", similar_times))
    print(summary("team_breach_forecast (one team)", forecast_times))


if __name__ == "__main__":
    main()
