"""Benchmark the SLA sweep catching up after an outage: N clocks come due at once.

Run from the project root: ``.venv/bin/python bench/sla_sweep_bench.py [--clocks 10000]``. It creates a
throw-away PostgreSQL database (``bench_sla_sweep`` on the server of DATABASE_URL, default
127.0.0.1:5432, user postgres), migrates it, bulk-inserts tickets whose first-response and resolution
clocks are all past their warning and due instants (half the tickets have a team lead, half an
assignee, and one integrator webhook subscription wants SLA events), times one `sla_sweep` that warns
and breaches them all, and drops the database. The baseline in the same run is the sweep with batches
of one clock, which costs what the sweep cost per clock before it worked in batches; it runs on a
tenth of the clocks and is scaled up. Progress goes to stderr, the table to stdout.
"""

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATABASE = "bench_sla_sweep"
SERVER = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
os.environ["DATABASE_URL"] = SERVER._replace(path=f"/{DATABASE}").geturl()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
# The sweep's own work: no notification email tasks, and webhook tasks published to an in-memory broker.
os.environ["HELPDESK_NOTIFICATION_EMAILS"] = "false"
os.environ["CELERY_BROKER_URL"] = "memory://"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(SERVER._replace(path="/postgres").geturl(), autocommit=True) as connection:
        connection.execute(sql)


def populate(tickets: int, now: datetime) -> None:
    from sla import services as sla_services
    from sla.models import ClockState, Metric, SlaClock
    from tests import factories
    from tickets.models import Customer, Team, Ticket, WebhookSubscription

    calendar = sla_services.calendar_create_always_open()
    policy = factories.sla_policy(
        calendar=calendar,
        targets={("normal", Metric.FIRST_RESPONSE): 3600, ("normal", Metric.RESOLUTION): 7200},
    )
    lead = factories.AgentFactory().user
    team = Team.objects.create(name="Bench", lead=lead)
    agent = factories.AgentFactory(teams=[team]).user
    WebhookSubscription.objects.create(
        name="CRM", url="https://crm.example.com/hook", secret="s", events=["sla.warning", "sla.breach"]
    )
    customers = Customer.objects.bulk_create(
        Customer(name=f"Customer {i}") for i in range(max(1, tickets // 10))
    )
    started = now - timedelta(hours=3)
    rows = Ticket.objects.bulk_create(
        Ticket(
            reference=f"BENCH-{i}",
            subject=f"Bench ticket {i}",
            team=team,
            assignee=agent if i % 2 else None,
            customer=customers[i % len(customers)],
            created_at=started,
            updated_at=started,
        )
        for i in range(tickets)
    )
    SlaClock.objects.bulk_create(
        SlaClock(
            ticket=ticket,
            policy=policy,
            metric=metric,
            target_seconds=target,
            business_hours=False,
            calendar=calendar,
            state=ClockState.RUNNING,
            started_at=started,
            running_since=started,
            warn_at=started + timedelta(seconds=target * 0.8),
            due_at=started + timedelta(seconds=target),
        )
        for ticket in rows
        for metric, target in ((Metric.FIRST_RESPONSE, 3600), (Metric.RESOLUTION, 7200))
    )


def timed_sweep(now: datetime, batch_size: int, max_batches: int) -> tuple[float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sla import services as sla_services

    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        result = sla_services.sla_sweep(now=now, batch_size=batch_size, max_batches=max_batches)
        elapsed = time.perf_counter() - start
    return elapsed, result.warned + result.breached, len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clocks", type=int, default=10_000, help="clocks coming due at once (default 10000)"
    )
    args = parser.parse_args()
    tickets = args.clocks // 2
    admin_sql(f"DROP DATABASE IF EXISTS {DATABASE}")
    admin_sql(f"CREATE DATABASE {DATABASE}")
    try:
        import django
        from django.core.management import call_command

        django.setup()
        say(f"migrating {DATABASE}")
        call_command("migrate", verbosity=0)
        now = datetime.now(UTC).replace(microsecond=0)
        say(f"creating {tickets} tickets with {2 * tickets} due clocks")
        populate(tickets, now)
        # Statistics for the new rows, as autovacuum would gather after a bulk load (without them the
        # planner guesses at the sweep's per-ticket subqueries, and the run measured its guesses).
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        say("sweeping them in batches of 500")
        batched = timed_sweep(now, batch_size=500, max_batches=10_000)

        from sla.models import SlaClock, SlaEvent
        from tickets.models import (
            AuditEntry,
            Notification,
            Team,
            Ticket,
            WebhookDelivery,
            WebhookSubscription,
        )

        for model in (SlaEvent, AuditEntry, Notification, WebhookDelivery, SlaClock, Ticket, Team):
            model.objects.all().delete()
        sample = max(1, tickets // 10)
        say(f"baseline: {2 * sample} clocks in batches of one clock")
        policy_name = "Standard"
        from sla.models import Calendar, Policy

        Policy.objects.filter(name=policy_name).delete()
        Calendar.objects.all().delete()
        WebhookSubscription.objects.all().delete()
        populate(sample, now)
        single = timed_sweep(now, batch_size=1, max_batches=10 * 2 * sample)
    finally:
        from django.db import connections

        connections.close_all()
        admin_sql(f"DROP DATABASE IF EXISTS {DATABASE}")

    print(
        f"SLA sweep after an outage, {datetime.now(UTC):%Y-%m-%d}, {platform.node()}, {os.cpu_count()} cores,"
    )
    print(f"PostgreSQL on {SERVER.hostname}; each clock is warned and then breached (2 transitions).\n")
    print("| sweep | clocks | transitions | seconds | queries | ms per clock |")
    print("|---|---|---|---|---|---|")
    for name, clocks, (elapsed, transitions, queries) in (
        ("batches of 500", 2 * tickets, batched),
        ("batches of 1 (per-clock baseline)", 2 * sample, single),
    ):
        per_clock = 1000 * elapsed / clocks
        print(f"| {name} | {clocks} | {transitions} | {elapsed:.1f} | {queries} | {per_clock:.2f} |")
    projected = single[0] / (2 * sample) * 2 * tickets
    print(
        f"\nPer-clock baseline scaled to {2 * tickets} clocks: {projected:.1f} s; batched: {batched[0]:.1f} s"
    )


if __name__ == "__main__":
    main()
