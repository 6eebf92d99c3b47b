"""The SLA admin pages, the ticket list badge, the holiday import and the demo seed."""

from datetime import date, time, timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from sla import services as sla_services
from sla.models import Calendar, ClockState, Metric, Policy, SlaClock, SlaEvent
from tests import factories
from tickets.models import Priority

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@helpdesk.test", "pass-word-123")
    client.force_login(user)
    return client


@pytest.fixture
def policy(db):
    return factories.sla_policy(
        calendar=factories.sla_calendar(), targets={(Priority.NORMAL, Metric.RESOLUTION): 4 * 3600}
    )


@pytest.mark.parametrize("model", ["calendar", "holiday", "policy", "slaclock", "slaevent"])
def test_every_sla_model_has_a_working_admin_list(admin_client, policy, ticket, model):
    response = admin_client.get(reverse(f"admin:sla_{model}_changelist"))
    assert response.status_code == 200


def test_the_calendar_page_previews_when_a_four_hour_target_starting_now_is_due(admin_client, policy):
    response = admin_client.get(reverse("admin:sla_calendar_change", args=[policy.calendar_id]))
    assert "A 4-business-hour target starting now is due at" in response.content.decode()


def test_the_clock_filters_work(admin_client, policy, ticket):
    url = reverse("admin:sla_slaclock_changelist")
    for query in ("?state__exact=running", "?metric__exact=resolution", "?breached_at__isempty=1"):
        response = admin_client.get(url + query)
        assert response.status_code == 200
        assert ticket.reference in response.content.decode(), query


def test_a_lead_pins_a_due_time_from_the_clock_page_through_the_service(admin_client, policy, ticket):
    clock = SlaClock.objects.get(ticket=ticket)
    response = admin_client.post(
        reverse("admin:sla_slaclock_change", args=[clock.pk]),
        {"pinned_due_at_0": "2030-01-02", "pinned_due_at_1": "10:00:00"},
    )
    assert response.status_code == 302
    clock.refresh_from_db()
    assert clock.due_at == clock.pinned_due_at
    assert clock.events.filter(kind=SlaEvent.Kind.PINNED).exists()


def test_the_ticket_list_shows_sla_badges_without_a_query_per_row(
    admin_client, policy, team, django_assert_max_num_queries
):
    for _ in range(3):
        factories.ticket(team=team)
    breached = factories.ticket(team=team, now=timezone.now() - timedelta(days=10))
    sla_services.sla_sweep()
    url = reverse("admin:tickets_ticket_changelist")
    admin_client.get(url)
    with django_assert_max_num_queries(12):
        response = admin_client.get(url)
    for _ in range(10):
        factories.ticket(team=team)
    with django_assert_max_num_queries(12):
        response = admin_client.get(url)
    body = response.content.decode()
    assert body.count(">breached</span>") == 1
    assert "due in" in body
    assert SlaClock.objects.get(ticket=breached).state == ClockState.BREACHED


def test_the_holiday_admin_action_imports_the_calendars_country(admin_client, policy):
    calendar = policy.calendar
    calendar.holiday_country = "DK"
    calendar.save()
    admin_client.post(
        reverse("admin:sla_calendar_changelist"),
        {"action": "action_import_holidays", "_selected_action": [calendar.pk]},
    )
    assert calendar.holidays.filter(date=date(date.today().year, 12, 25)).exists()


def test_the_import_command_adds_holidays_once(policy):
    out = StringIO()
    call_command("sla_import_holidays", "Office hours", country="us", years=[2026], stdout=out)
    call_command("sla_import_holidays", "Office hours", country="US", years=[2026], stdout=out)
    assert "0 holiday(s) added" in out.getvalue()
    assert policy.calendar.holidays.filter(date=date(2026, 7, 3)).exists()  # Independence Day observed


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["Nope", "--country", "US", "--years", "2026"], "No calendar named 'Nope'"),
        (["Office hours", "--country", "XX", "--years", "2026"], "unknown country"),
        (
            ["Office hours", "--country", "US", "--subdivision", "ZZ", "--years", "2026"],
            "unknown subdivision",
        ),
        (["Office hours", "--country", "US", "--years", "0"], "years must be"),
    ],
)
def test_the_import_command_explains_bad_input(policy, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("sla_import_holidays", *arguments)
    assert not policy.calendar.holidays.exists()


def test_a_calendar_refuses_an_unknown_time_zone_and_malformed_hours(db):
    with pytest.raises(ValidationError, match="not an IANA time zone"):
        sla_services.calendar_create(name="Mars", time_zone="Mars/Olympus", weekly_hours={})
    with pytest.raises(ValueError, match="not a weekday number"):
        sla_services.calendar_create(name="Bad", time_zone="UTC", weekly_hours={7: [(time(9), time(17))]})
    assert not Calendar.objects.exists()


def test_a_policy_refuses_unknown_priorities_and_two_warning_rules(db):
    calendar = sla_services.calendar_create_always_open()
    with pytest.raises(ValidationError, match="priorities"):
        Policy(name="x", calendar=calendar, priorities=["critical"]).full_clean()
    with pytest.raises(ValidationError, match="one warning rule"):
        Policy(name="y", calendar=calendar, warn_percent=80, warn_minutes_before=10).full_clean()
