"""Contact-center phone measures on a scenario worked out by hand (20 s answer, 5 s short abandon).

Team A, Monday 2026-03-02 (UTC), inbound calls:
  C1 09:00 on P1 (u2's ticket), answered by u1 after 10 s, talk 300 s, wrap-up 60 s; P1 is solved.
  C2 10:00 on P2 (u2), answered by u2 after 30 s, talk 200 s, wrap-up 40 s; the caller rings again:
  C3 11:00 on P2, answered by u2 after 15 s, talk 100 s, no wrap-up; P2 is solved.
  C4 12:00 on P3, abandoned after 3 s (a short abandon).
  C5 12:30 on P3, abandoned after 40 s.
Offered calls: 5 - 1 short abandon = 4. Answered within 20 s: C1, C3 -> service level 2 / 4 = 0.5.
Abandonment (1 long abandon) 1 / 4 = 0.25. Speed of answer (10 + 30 + 15) / 3 = 18.3 s. Handle time
(360 + 240 + 100) / 3 = 233.3 s. First-call resolution: C1 and C3 (C2's caller rang again) -> 2 / 3.
"""

from datetime import UTC, date, datetime

import pytest

from tests import factories
from tickets import services
from tickets.exceptions import DomainError
from tickets.models import PhoneCall, Status, Ticket
from tickets.reporting.metrics import MetricsFilters, ticket_metrics

pytestmark = pytest.mark.django_db


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)


def call(ticket, when, *, outcome="answered", agent=None, wait=0, talk=0, wrap_up=0):
    return services.phone_call_record(
        ticket=ticket,
        caller="+4512345678",
        outcome=outcome,
        agent=agent,
        queue_wait_seconds=wait,
        talk_seconds=talk,
        wrap_up_seconds=wrap_up,
        started_at=when,
        now=when,
    )


@pytest.fixture
def calls(settings):
    settings.TIME_ZONE = "UTC"
    team = factories.TeamFactory(name="A")
    u1 = factories.AgentFactory(teams=[team], user=factories.UserFactory(username="u1", first_name="")).user
    u2 = factories.AgentFactory(teams=[team], user=factories.UserFactory(username="u2", first_name="")).user
    p1 = factories.ticket(team=team, assignee=u2, channel="phone", now=at(9))
    p2 = factories.ticket(team=team, assignee=u2, channel="phone", now=at(10))
    p3 = factories.ticket(team=team, channel="phone", now=at(12))
    call(p1, at(9), agent=u1, wait=10, talk=300, wrap_up=60)
    call(p2, at(10), agent=u2, wait=30, talk=200, wrap_up=40)
    call(p2, at(11), agent=u2, wait=15, talk=100)
    call(p3, at(12), outcome="abandoned", wait=3)
    call(p3, at(12, 30), outcome="abandoned", wait=40)
    for ticket in (p1, p2):
        services.ticket_change_status(
            ticket=Ticket.objects.get(pk=ticket.pk), status=Status.SOLVED, now=at(14)
        )
    return {"team": team, "u1": u1, "u2": u2}


def run(group_by="day", **filters):
    return ticket_metrics(
        tickets=Ticket.objects.all(),
        start=date(2026, 3, 2),
        end=date(2026, 3, 2),
        group_by=group_by,
        filters=MetricsFilters(**filters),
    )


PHONE = (
    "phone_calls",
    "phone_calls_answered",
    "phone_calls_abandoned",
    "phone_short_abandons",
    "phone_answered_within_threshold",
    "phone_service_level",
    "phone_abandonment_rate",
    "phone_average_speed_of_answer_seconds",
    "phone_average_handle_time_seconds",
    "phone_first_call_resolution_rate",
)


def phone(group):
    return tuple(group[name] for name in PHONE)


def test_totals(calls):
    assert phone(run()["totals"]) == (5, 3, 2, 1, 2, 0.5, 0.25, 18.3, 233.3, 0.6667)


def test_calls_count_for_the_agent_who_answered_them(calls):
    agents = {group["label"]: phone(group) for group in run(group_by="agent")["groups"]}
    # u1 answered a call on u2's ticket: it is u1's.
    assert agents["u1"] == (1, 1, 0, 0, 1, 1.0, 0.0, 10.0, 360.0, 1.0)
    assert agents["u2"] == (2, 2, 0, 0, 1, 0.5, 0.0, 22.5, 170.0, 0.5)
    # Abandoned calls were answered by nobody: 1 offered (the short abandon is not), 0 within 20 s.
    assert agents["(unassigned)"] == (2, 0, 2, 1, 0, 0.0, 1.0, None, None, None)
    assert phone(run(agent=calls["u1"].pk)["totals"])[:2] == (1, 1)


def test_thresholds_come_from_the_settings(calls, settings):
    settings.HELPDESK_PHONE_SERVICE_LEVEL_SECONDS = 30
    settings.HELPDESK_PHONE_SHORT_ABANDON_SECONDS = 2
    totals = run()["totals"]
    # Now all three answers are within 30 s, and no abandon is short: 3 / 5 and 2 / 5.
    assert (totals["phone_service_level"], totals["phone_abandonment_rate"]) == (0.6, 0.4)


def test_a_reopened_ticket_undoes_first_call_resolution(calls):
    p1 = Ticket.objects.get(phone_calls__agent=calls["u1"])
    services.ticket_change_status(ticket=p1, status=Status.OPEN, now=at(15))
    services.ticket_change_status(ticket=Ticket.objects.get(pk=p1.pk), status=Status.SOLVED, now=at(16))
    assert run()["totals"]["phone_first_call_resolution_rate"] == 0.3333


def test_an_abandoned_inbound_call_keeps_no_agent_and_no_talk_time(calls):
    ticket = Ticket.objects.first()
    assert call(ticket, at(13), outcome="abandoned", agent=calls["u1"], wait=9).agent is None
    with pytest.raises(DomainError, match="no talk"):
        call(ticket, at(13), outcome="abandoned", talk=5)
    assert PhoneCall.objects.filter(started_at=at(13)).count() == 1
