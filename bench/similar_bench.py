"""Time the similar-tickets query and the breach forecast endpoint on a database from bench/generate.py.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_1m .venv/bin/python bench/similar_bench.py

Read-only: everything runs in one transaction that is rolled back, and the API client authenticates
without a session. For `--queries` open tickets of team 1 (a fixed random sample), it times
`tickets.similar.selectors.similar_tickets` as the agent `agent-1-1` (who sees team 1's tickets) and as
`bench-admin` (who sees all), then `GET /api/v1/tickets/{id}/similar/` (the query plus drafts and
macros) as the agent, and `GET /api/v1/teams/{id}/breach-forecast/` for every team as the admin
(`--repeat` times each, after one warm-up). Prints a markdown table (median, p95, max ms, SQL statements
per call, and the median as a multiple of the ticket list's first page, timed in the same run) with the
machine and its load average before and after; progress on stderr.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def _timed(call) -> tuple[float, float, int]:
    """(wall ms, ms spent in SQL, SQL statements) of one call."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        call()
        elapsed = (time.perf_counter() - started) * 1000
    sql = sum(float(query["time"]) for query in captured.captured_queries) * 1000
    return elapsed, sql, len(captured.captured_queries)


def _row(label: str, runs: list[tuple[float, float, int]], baseline: float) -> tuple[str, float]:
    times = sorted(elapsed for elapsed, _, _ in runs)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    sql = statistics.median(sql for _, sql, _ in runs)
    queries = statistics.median(count for _, _, count in runs)
    median = statistics.median(times)
    ratio = median / (baseline or median)
    cells = (
        f"{len(times)} | {median:.1f} | {p95:.1f} | {times[-1]:.1f} | {sql:.1f} | {queries:.0f} | {ratio:.1f}"
    )
    return f"| {label} | {cells} |", median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=40, help="open tickets to find similar ones for")
    parser.add_argument("--repeat", type=int, default=5, help="runs of the forecast per team")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.utils import timezone
    from rest_framework.test import APIClient

    from tickets.models import Team, Ticket
    from tickets.similar.selectors import similar_tickets

    if connection.vendor != "postgresql":
        sys.exit("Run this against PostgreSQL (DATABASE_URL of a bench/generate.py database).")
    settings.ALLOWED_HOSTS = ["*"]
    load_before = _load()
    with transaction.atomic():
        agent, admin = User.objects.get(username="agent-1-1"), User.objects.get(username="bench-admin")
        open_ids = list(
            Ticket.objects.filter(team_id=1, status__in=["new", "open", "pending"])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        sample = [
            Ticket.objects.select_related("customer").get(pk=pk)
            for pk in random.Random(args.seed).sample(open_ids, min(args.queries, len(open_ids)))
        ]
        now = timezone.now()
        rows = []
        client = APIClient()
        client.force_authenticate(agent)
        # The plain first page of the ticket list: the yardstick of docs/performance.md ("x first page"),
        # measured in the same run, since the shared machine's load moves every absolute figure.
        assert client.get("/api/v1/tickets/").status_code == 200
        row, baseline = _row(
            "`GET /api/v1/tickets/` first page (agent)",
            [_timed(lambda: client.get("/api/v1/tickets/")) for _ in range(20)],
            0.0,
        )
        rows.append(row)
        for label, user in (("agent of 1 of 8 teams", agent), ("admin, all tickets", admin)):
            similar_tickets(user=user, ticket=sample[0], now=now)  # warm-up
            runs = []
            for ticket in sample:
                runs.append(_timed(lambda t=ticket, u=user: similar_tickets(user=u, ticket=t, now=now)))
            print(f"  similar_tickets as {label} done", file=sys.stderr)
            rows.append(_row(f"`similar_tickets` ({label})", runs, baseline)[0])
        runs = []
        for ticket in sample:
            path = f"/api/v1/tickets/{ticket.pk}/similar/"
            assert client.get(path).status_code == 200, path
            runs.append(_timed(lambda p=path: client.get(p)))
        rows.append(_row("`GET /api/v1/tickets/{id}/similar/` (agent)", runs, baseline)[0])
        print("  similar API done", file=sys.stderr)
        client.force_authenticate(admin)
        runs = []
        for team in Team.objects.order_by("pk"):
            path = f"/api/v1/teams/{team.pk}/breach-forecast/"
            assert client.get(path).status_code == 200, path
            runs += [_timed(lambda p=path: client.get(p)) for _ in range(args.repeat)]
        rows.append(_row("`GET /api/v1/teams/{id}/breach-forecast/` (admin, each team)", runs, baseline)[0])
        print("  forecast API done", file=sys.stderr)
        total = Ticket.objects.count()
        solved = Ticket.objects.filter(status__in=["solved", "closed"]).count()
        transaction.set_rollback(True)
    print(
        f"\n{total:,} tickets ({solved:,} solved or closed); PostgreSQL {connection.pg_version // 10000}; ",
        end="",
    )
    print(f"{platform.node()}, {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"load average before {load_before}, after {_load()}\n")
    print(
        "| measure | runs | median ms | p95 ms | max ms | SQL ms (median) | SQL statements | x first page |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
