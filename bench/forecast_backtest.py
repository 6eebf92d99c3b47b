"""Backtest the breach forecast (sla.forecast) on the demo history: was the 4-hour forecast within ±20%?

Run from the project root against a database holding the demo data (`manage.py seed_demo`, which also
builds the SLA clocks):

    DATABASE_URL=postgres://.../demo .venv/bin/python bench/forecast_backtest.py [--every-hours 6]

For each team and each sample instant `t` (every N hours of the history, business instants only, from the
eighth day on so the handling time has history) it rebuilds what the forecast would have seen at `t` and
compares the predicted number of breaches in the next 4 business hours with what happened.

What is rebuilt, and what cannot be (see docs/breach-forecast.md): reply clocks (first and next response,
which never pause) running at `t` and not yet breached, with their due instants; the assignee, if the
ticket's first assignment happened before `t`; each agent's open tickets at `t`; the team's handling time
from the replies before `t`. Agent availability at `t` is not recorded anywhere, so the agents' current
availability is used; resolution clocks are left out (their pauses would have to be replayed).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

import django

django.setup()

from django.db.models import Min  # noqa: E402

from sla import forecast as model  # noqa: E402
from sla import selectors  # noqa: E402
from sla.business_time import add_business_seconds, business_seconds_between, is_business_instant  # noqa: E402
from sla.models import Calendar, Metric, SlaClock  # noqa: E402
from tickets.models import AuditEntry, Team, Ticket  # noqa: E402

HORIZON_HOURS = 4
TOLERANCE = 0.2


def hit(predicted: int, actual: int) -> bool:
    """Within ±20% of what happened; when nothing breached, only a forecast of zero is a hit."""
    if actual == 0:
        return predicted == 0
    return abs(predicted - actual) <= TOLERANCE * actual


def backtest_team(team: Team, every: timedelta) -> list[tuple[int, int]]:
    calendar_row = (
        SlaClock.objects.filter(ticket__team=team, calendar__isnull=False)
        .values("calendar_id")
        .annotate(first=Min("pk"))
        .order_by("first")
        .first()
    )
    if calendar_row is None:
        return []
    calendar = selectors.business_calendar(Calendar.objects.get(pk=calendar_row["calendar_id"]))
    clocks = list(
        SlaClock.objects.filter(ticket__team=team, metric__in=[Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE])
        .exclude(state="cancelled")
        .values("ticket_id", "started_at", "stopped_at", "due_at", "breached_at")
    )
    if not clocks:
        return []
    tickets = {
        row["pk"]: row
        for row in Ticket.objects.filter(team=team).values("pk", "assignee_id", "created_at", "solved_at")
    }
    assigned_at = dict(
        AuditEntry.objects.filter(ticket__team=team, field="assignee")
        .values("ticket_id")
        .annotate(first=Min("created_at"))
        .values_list("ticket_id", "first")
    )
    agents = list(team.agents.select_related("user").prefetch_related("skills"))
    start = min(c["started_at"] for c in clocks) + timedelta(days=7)
    end = max(c["started_at"] for c in clocks) - timedelta(days=1)
    samples = []
    t = start
    while t < end:
        t += every
        if not is_business_instant(calendar, t):
            continue
        horizon_end = add_business_seconds(calendar, t, HORIZON_HOURS * 3600)
        due: dict[int, tuple] = {}
        for clock in clocks:
            deadline = clock["breached_at"] or clock["due_at"]
            if deadline is None or clock["started_at"] > t or deadline <= t or deadline > horizon_end:
                continue
            if clock["stopped_at"] is not None and clock["stopped_at"] <= t:
                continue
            breached = clock["breached_at"] is not None and clock["breached_at"] <= horizon_end
            if clock["ticket_id"] not in due or deadline < due[clock["ticket_id"]][0]:
                due[clock["ticket_id"]] = (deadline, breached)
        open_at_t: dict[int, int] = defaultdict(int)
        for row in tickets.values():
            if (
                row["assignee_id"]
                and row["created_at"] <= t
                and (row["solved_at"] is None or row["solved_at"] > t)
            ):
                open_at_t[row["assignee_id"]] += 1
        waiting = []
        for ticket_id, (deadline, _) in due.items():
            row = tickets[ticket_id]
            first_assignment = assigned_at.get(ticket_id)
            assignee = row["assignee_id"] if first_assignment and first_assignment <= t else None
            waiting.append(
                model.WaitingTicket(ticket_id, business_seconds_between(calendar, t, deadline), assignee)
            )
        on_team = [
            model.AgentOnTeam(
                agent.user_id,
                agent.is_available,
                agent.capacity,
                open_at_t[agent.user_id],
                frozenset(s.pk for s in agent.skills.all()),
            )
            for agent in agents
        ]
        handling, _ = selectors.team_handling_seconds(team, t, calendar)
        outcomes = model.simulate(waiting, on_team, handling)
        predicted = model.count_breaches(outcomes, (HORIZON_HOURS,))[HORIZON_HOURS]
        actual = sum(1 for _, breached in due.values() if breached)
        samples.append((predicted, actual))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every-hours", type=float, default=6.0)
    args = parser.parse_args()
    every = timedelta(hours=args.every_hours)
    print(f"# Breach forecast backtest ({HORIZON_HOURS} business hours, ±{TOLERANCE:.0%})")
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs; python {platform.python_version()}")
    print("| team | samples | hit rate | hit rate (samples with breaches) | mean predicted | mean actual |")
    print("|---|---|---|---|---|---|")
    everything: list[tuple[int, int]] = []
    for team in Team.objects.order_by("name"):
        samples = backtest_team(team, every)
        if not samples:
            continue
        everything += samples
        print(_row(team.name, samples))
    if everything:
        print(_row("all teams", everything))


def _row(name: str, samples: list[tuple[int, int]]) -> str:
    hits = sum(1 for predicted, actual in samples if hit(predicted, actual))
    busy = [(p, a) for p, a in samples if a > 0]
    busy_hits = sum(1 for p, a in busy if hit(p, a))
    mean_p = sum(p for p, _ in samples) / len(samples)
    mean_a = sum(a for _, a in samples) / len(samples)
    busy_rate = f"{busy_hits / len(busy):.0%} of {len(busy)}" if busy else "-"
    return (
        f"| {name} | {len(samples)} | {hits / len(samples):.0%} | {busy_rate} | {mean_p:.2f} | {mean_a:.2f} |"
    )


if __name__ == "__main__":
    main()
