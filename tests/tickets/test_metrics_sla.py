"""SLA compliance in tickets.reporting.metrics, on clocks whose outcomes are worked out by hand below."""

from datetime import UTC, date, datetime

import pytest

from sla import services as sla_services
from sla.models import Metric
from tests import factories
from tickets import services
from tickets.models import Message, Priority, Status, Ticket
from tickets.reporting.metrics import MetricsFilters, ticket_metrics

pytestmark = pytest.mark.django_db


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def agent_reply(ticket, user, when, new_status=None):
    services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=user,
        body_text="reply",
        new_status=new_status,
        now=when,
    )


@pytest.fixture
def data(settings):
    """Around-the-clock policy: normal first response 1 h, resolution 4 h; high first response 30 min.

    A1 normal, team A: created 03-02 09:00, reply 09:30, solved 10:00
        → first response achieved (03-02), resolution achieved (03-02)
    A2 normal, team A: created 03-02 10:00, swept 03-02 12:00 and 03-03 09:00, reply 03-03 09:30
        → first response breached at 03-02 11:00, resolution breached at 03-02 14:00 (still open)
    B1 high, team B: created 03-03 08:00, reply 08:10 → first response achieved (03-03); no resolution target
    B2 normal, team B: created 03-04 08:00, never swept or answered → running, left out
    C1 normal, team C (outside the queryset): created 03-02 09:00, swept → breached, never counted

    Per day: 03-02 first response 1 achieved / 1 breached (0.5), resolution 1 / 1 (0.5), all 2 / 4 (0.5);
             03-03 first response 1 / 0 (1.0), all 1.0; other days null.
    Totals: first response 2 / 1 (0.6667), resolution 1 / 1 (0.5), all 3 / 5 (0.6).
    Team A: first response 1 / 1, resolution 1 / 1, all 0.5. Team B: first response 1 / 0, all 1.0.
    """
    settings.TIME_ZONE = "UTC"
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={
            (Priority.NORMAL, Metric.FIRST_RESPONSE): (3600, False),
            (Priority.NORMAL, Metric.RESOLUTION): (4 * 3600, False),
            (Priority.HIGH, Metric.FIRST_RESPONSE): (1800, False),
        },
    )
    team_a, team_b, team_c = (factories.TeamFactory(name=name) for name in ("A", "B", "C"))
    agent = factories.AgentFactory(teams=[team_a, team_b, team_c]).user
    a1 = factories.ticket(team=team_a, now=at(2, 9))
    agent_reply(a1, agent, at(2, 9, 30))
    services.ticket_change_status(ticket=Ticket.objects.get(pk=a1.pk), status=Status.SOLVED, now=at(2, 10))
    a2 = factories.ticket(team=team_a, now=at(2, 10))
    factories.ticket(team=team_c, now=at(2, 9))
    sla_services.sla_sweep(now=at(2, 12))
    factories.ticket(team=team_b, priority=Priority.HIGH, now=at(3, 8))
    b1 = Ticket.objects.get(team=team_b)
    agent_reply(b1, agent, at(3, 8, 10))
    sla_services.sla_sweep(now=at(3, 9))
    agent_reply(a2, agent, at(3, 9, 30))
    factories.ticket(team=team_b, now=at(4, 8))
    return {"tickets": Ticket.objects.exclude(team=team_c), "A": team_a, "B": team_b}


def run(data, **kwargs):
    return ticket_metrics(tickets=data["tickets"], start=date(2026, 3, 1), end=date(2026, 3, 5), **kwargs)


def outcome(achieved, breached, rate):
    return {"achieved": achieved, "breached": breached, "compliance_rate": rate}


def test_compliance_per_day_by_the_outcome_instant(data):
    days = {group["key"]: group for group in run(data)["groups"]}
    assert days["2026-03-02"]["sla"]["first_response"] == outcome(1, 1, 0.5)
    assert days["2026-03-02"]["sla"]["resolution"] == outcome(1, 1, 0.5)
    assert days["2026-03-02"]["sla_compliance_rate"] == 0.5
    assert days["2026-03-03"]["sla"]["first_response"] == outcome(1, 0, 1.0)
    assert days["2026-03-03"]["sla"]["resolution"] == outcome(0, 0, None)
    assert days["2026-03-03"]["sla_compliance_rate"] == 1.0
    for day in ("2026-03-01", "2026-03-04", "2026-03-05"):
        assert days[day]["sla_compliance_rate"] is None


def test_totals_leave_running_clocks_out(data):
    totals = run(data)["totals"]
    assert totals["sla"] == {
        "first_response": outcome(2, 1, 0.6667),
        "next_response": outcome(0, 0, None),
        "periodic_update": outcome(0, 0, None),
        "resolution": outcome(1, 1, 0.5),
    }
    assert totals["sla_compliance_rate"] == 0.6


def test_compliance_per_team_and_filtered(data):
    teams = {group["label"]: group for group in run(data, group_by="team")["groups"]}
    assert teams["A"]["sla"]["first_response"] == outcome(1, 1, 0.5)
    assert teams["A"]["sla_compliance_rate"] == 0.5
    assert teams["B"]["sla"]["first_response"] == outcome(1, 0, 1.0)
    assert teams["B"]["sla_compliance_rate"] == 1.0
    only_b = run(data, filters=MetricsFilters(team=data["B"].pk))["totals"]
    assert only_b["sla_compliance_rate"] == 1.0
    high = run(data, filters=MetricsFilters(priority=Priority.HIGH))["totals"]
    assert high["sla"]["first_response"] == outcome(1, 0, 1.0)


def test_the_api_and_csv_report_sla_compliance(as_user, admin_user, data):
    # An admin sees team C too: C1's first response breached 03-02 10:00 and resolution 03-02 13:00,
    # so first response 2 / 2 (0.5), resolution 1 / 2 (0.3333), all 3 / 7 (0.4286).
    url = "/api/v1/metrics/?start=2026-03-01&end=2026-03-05&group_by=team"
    body = as_user(admin_user).get(url).json()
    assert body["totals"]["sla_compliance_rate"] == 0.4286
    assert body["totals"]["sla"]["first_response"] == outcome(2, 2, 0.5)
    assert body["totals"]["sla"]["resolution"] == outcome(1, 2, 0.3333)
    teams = {group["label"]: group["sla_compliance_rate"] for group in body["groups"]}
    assert teams == {"A": 0.5, "B": 1.0, "C": 0.0}
    lines = as_user(admin_user).get(url + "&format=csv").content.decode().splitlines()
    header, total = lines[0].split(","), lines[-1].split(",")
    row = dict(zip(header, total, strict=True))
    assert (row["sla_compliance_rate"], row["sla_first_response_breached"]) == ("0.4286", "2")
    assert row["sla_resolution_compliance_rate"] == "0.3333"
