"""Property: agent and team rows plus "(unassigned)" add up to the totals for every additive measure."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories
from tickets import services
from tickets.models import Message, Status, Ticket
from tickets.reporting.metrics import DURATIONS, PHONE_COUNTS, ticket_metrics

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
ADDITIVE = ("tickets_created", "tickets_solved", "backlog", "reopens", "repeat_contacts", *PHONE_COUNTS)

calls = st.lists(
    st.tuples(st.sampled_from(["answered", "abandoned"]), st.sampled_from([0, 1, None]), st.integers(0, 60)),
    max_size=2,
)
tickets = st.lists(
    st.fixed_dictionaries(
        {
            "team": st.sampled_from([0, None]),
            "assignee": st.sampled_from([0, 1, None]),
            "reply_by": st.sampled_from([0, 1, None]),
            "solve": st.booleans(),
            "reopen": st.booleans(),
            "reassign_to": st.sampled_from([0, 1, None, "keep"]),
            "customer": st.integers(0, 2),
            "calls": calls,
            "hours": st.integers(0, 200),
        }
    ),
    min_size=1,
    max_size=6,
)


def _build(specs, team, users, customers) -> None:
    for spec in specs:
        when = START + timedelta(hours=spec["hours"])
        assignee = users[spec["assignee"]] if spec["assignee"] is not None else None
        ticket = factories.ticket(
            team=team if spec["team"] == 0 else None,
            assignee=assignee if spec["team"] == 0 else None,
            customer=customers[spec["customer"]],
            now=when,
        )
        if spec["reply_by"] is not None:
            ticket = services.message_add(
                ticket=ticket,
                author_role=Message.AuthorRole.AGENT,
                author_user=users[spec["reply_by"]],
                body_text="On it",
                now=when + timedelta(minutes=30),
            ).ticket
        if spec["reassign_to"] != "keep" and spec["team"] == 0:
            new = users[spec["reassign_to"]] if spec["reassign_to"] is not None else None
            ticket = services.ticket_assign(ticket=ticket, assignee=new, now=when + timedelta(minutes=40))
        if spec["solve"]:
            ticket = services.ticket_change_status(
                ticket=ticket, status=Status.SOLVED, now=when + timedelta(hours=1)
            )
            if spec["reopen"]:
                services.message_add(
                    ticket=ticket,
                    author_role=Message.AuthorRole.CUSTOMER,
                    body_text="Still broken",
                    now=when + timedelta(hours=2),
                )
        for outcome, agent, wait in spec["calls"]:
            factories.phone_call(
                ticket=ticket,
                started_at=when,
                outcome=outcome,
                queue_wait_seconds=wait,
                agent=users[agent] if outcome == "answered" and agent is not None else None,
            )


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=tickets)
def test_groups_plus_unassigned_add_up_to_the_totals(db, specs):
    with transaction.atomic():
        team = factories.TeamFactory()
        users = [factories.AgentFactory(teams=[team]).user for _ in range(2)]
        customers = [factories.CustomerFactory() for _ in range(3)]
        _build(specs, team, users, customers)
        for group_by in ("agent", "team"):
            result = ticket_metrics(
                tickets=Ticket.objects.all(), start=date(2026, 3, 1), end=date(2026, 3, 31), group_by=group_by
            )
            groups, totals = result["groups"], result["totals"]
            assert all(g["label"] == "(unassigned)" for g in groups if g["key"] is None)
            for name in ADDITIVE:
                assert sum(g[name] for g in groups) == totals[name], (group_by, name)
            for name in DURATIONS:
                assert sum(g[name]["count"] for g in groups) == totals[name]["count"], (group_by, name)
        transaction.set_rollback(True)
