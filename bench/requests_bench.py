"""Time the requests people and clients make, in process with Django's test client, on generated data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_100k .venv/bin/python bench/requests_bench.py

Run against a database filled by `bench/generate.py`. Each request runs a few warm-up times and then
`--repeat` times; the table gives median and p95 milliseconds, the median time spent in SQL, the SQL
statements of one request, and the median as a multiple of the plain first page (the issue's goal:
every request within 5x of it, at every size). The desk's pages are also given as a multiple of the
desk's own plain page (`/desk/?view=mine`): against the API's JSON they measure HTML rendering as much
as growth. As an agent of team 1 unless marked (admin); a markdown table on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")


DESK_BASELINE = "desk queue: mine"


def _requests(ticket_id: int, reference: str, surname: str, email: str, phone: str, organization: str):
    """(label, user, path): `user` is "agent" or "admin"."""
    return [
        ("API tickets, first page", "agent", "/api/v1/tickets/"),
        ("API cursor page 21", "agent", "CURSOR21"),
        ("API ?status=open&team=1", "agent", "/api/v1/tickets/?status=open&team=1"),
        ("API ?status=new&status=open", "agent", "/api/v1/tickets/?status=new&status=open"),
        ("API ?ordering=next_sla_due", "agent", "/api/v1/tickets/?ordering=next_sla_due"),
        ("API ?sla_state=breaching_soon", "agent", "/api/v1/tickets/?sla_state=breaching_soon"),
        ("API ?breaching_within=60", "agent", "/api/v1/tickets/?breaching_within=60"),
        ("API ?q=<reference>", "agent", f"/api/v1/tickets/?q={reference}"),
        ("API ?q=<surname>", "agent", f"/api/v1/tickets/?q={surname}"),
        ("API ?q=<email>", "agent", f"/api/v1/tickets/?q={email}"),
        ("API ?q=<phone>", "agent", f"/api/v1/tickets/?q={phone}"),
        ("API ?q=<organization>", "agent", f"/api/v1/tickets/?q={organization}"),
        ("API ?q=printer jam", "agent", "/api/v1/tickets/?q=printer%20jam"),
        ("API ?q= (admin, all tickets)", "admin", "/api/v1/tickets/?q=invoice%20refund"),
        ("desk queue: mine", "agent", "/desk/?view=mine"),
        ("desk queue: unassigned", "agent", "/desk/?view=unassigned"),
        ("desk queue: breaching soon", "agent", "/desk/?view=breaching"),
        ("desk queue: breached", "agent", "/desk/?view=breached"),
        ("desk queue: all open", "agent", "/desk/?view=open"),
        ("desk ticket page", "agent", f"/desk/tickets/{ticket_id}/"),
        ("admin ticket list", "admin", "/admin/tickets/ticket/"),
        ("admin ticket search", "admin", f"/admin/tickets/ticket/?q={surname}"),
    ]


def _measure(client, path: str, repeat: int) -> tuple[list[float], list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        assert client.get(path).status_code == 200, path
    times, sql_times = [], []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        sql_times.append(sum(float(query["time"]) for query in captured.captured_queries) * 1000)
    return times, sql_times, len(captured.captured_queries)


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    from tickets.models import Customer, Ticket

    settings.ALLOWED_HOSTS = ["*"]
    agent, admin = User.objects.get(username="agent-1-1"), User.objects.get(username="bench-admin")
    clients = {"agent": Client(), "admin": Client()}
    clients["agent"].force_login(agent)
    clients["admin"].force_login(admin)
    ticket = Ticket.objects.filter(team_id=1).order_by("-pk").only("pk", "reference", "customer_id").first()
    customer = Customer.objects.select_related("organization").filter(organization__isnull=False).first()
    rows = []
    total = Ticket.objects.count()
    baseline = None
    for label, who, path in _requests(
        ticket.pk,
        ticket.reference,
        customer.name.split()[-1],
        customer.email,
        customer.phone,
        customer.organization.name.split()[0],
    ):
        client = clients[who]
        if path == "CURSOR21":
            path = "/api/v1/tickets/"
            for _ in range(20):  # page 21, or the last page of a small data set
                path = client.get(path).json()["next"] or path
        print(f"  {label} …", file=sys.stderr)
        times, sql_times, queries = _measure(client, path, args.repeat)
        median = statistics.median(times)
        baseline = baseline or median
        rows.append((label, median, _p95(times), statistics.median(sql_times), queries, median / baseline))
    desk = next(median for label, median, *_ in rows if label == DESK_BASELINE)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\n{total:,} tickets; {platform.node()}, {os.cpu_count()} cores (load average {load}), ", end="")
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    print(f"Python {platform.python_version()}, {when}, {args.repeat} runs each\n")
    print("| request | median ms | p95 ms | SQL ms (median) | queries | x first page | x desk page |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, median, p95, sql, queries, ratio in rows:
        of_desk = f"{median / desk:.1f}" if label.startswith("desk") else ""
        print(f"| {label} | {median:.1f} | {p95:.1f} | {sql:.1f} | {queries} | {ratio:.1f} | {of_desk} |")


if __name__ == "__main__":
    main()
