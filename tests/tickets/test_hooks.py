"""The ticket core announces; sla and surveys listen (tickets/hooks.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from sla.selectors import ticket_business_seconds_counter
from sla.services.engine import sla_ticket_changed
from surveys.receivers import claim_survey_reply, on_status_changed
from tests import factories
from tickets import hooks, services
from tickets.models import Status


@pytest.fixture
def isolated_hooks(monkeypatch):
    """Receivers registered by the test only (the apps' own are restored afterwards)."""
    monkeypatch.setattr(hooks, "_receivers", {name: [] for name in hooks._receivers})


def test_the_apps_register_their_receivers_at_start_up():
    assert [r.function for r in hooks._receivers[hooks.TICKET_CHANGED]] == [sla_ticket_changed]
    assert [r.function for r in hooks._receivers[hooks.STATUS_CHANGED]] == [on_status_changed]
    assert [r.function for r in hooks._receivers[hooks.INBOUND_MAIL]] == [claim_survey_reply]
    assert hooks._providers[hooks.BUSINESS_HOURS] is ticket_business_seconds_counter


def test_a_second_provider_of_the_same_answer_is_refused(monkeypatch):
    monkeypatch.setattr(hooks, "_providers", {})
    hooks.provide(hooks.BUSINESS_HOURS, ticket_business_seconds_counter)
    hooks.provide(hooks.BUSINESS_HOURS, ticket_business_seconds_counter)  # the same one again: no effect
    with pytest.raises(ValueError, match="already has a provider"):
        hooks.provide(hooks.BUSINESS_HOURS, lambda **kwargs: None)
    with pytest.raises(ValueError, match="unknown ticket provider"):
        hooks.provide("weather", print)


def test_without_a_business_hours_provider_every_hour_counts(monkeypatch):
    monkeypatch.setattr(hooks, "_providers", {})
    start = datetime(2025, 9, 6, 22, 0, tzinfo=UTC)  # a Saturday night: closed on any office calendar
    count = hooks.business_seconds_counter(ticket=None)
    assert count(start, start + timedelta(hours=3)) == 3 * 3600
    assert count(start, start - timedelta(hours=1)) == 0


def test_connecting_an_unknown_event_or_a_claim_on_commit_is_refused(isolated_hooks):
    with pytest.raises(ValueError, match="unknown ticket hook"):
        hooks.connect("ticket_exploded", print)
    with pytest.raises(ValueError, match="cannot run on commit"):
        hooks.connect(hooks.INBOUND_MAIL, print, on_commit=True)


def test_connecting_twice_registers_once(isolated_hooks):
    calls = []

    def receiver(**kwargs):
        calls.append(kwargs)

    hooks.connect(hooks.STATUS_CHANGED, receiver)
    hooks.connect(hooks.STATUS_CHANGED, receiver)
    hooks.announce(hooks.STATUS_CHANGED, ticket=None, old="new", new="open", now=None)
    assert len(calls) == 1


@pytest.mark.django_db
def test_status_changes_reach_in_transaction_receivers_at_once_and_on_commit_ones_after_commit(
    isolated_hooks, django_capture_on_commit_callbacks
):
    seen_now, seen_later = [], []
    hooks.connect(hooks.STATUS_CHANGED, lambda **kw: seen_now.append((kw["old"], kw["new"])))
    hooks.connect(
        hooks.STATUS_CHANGED, lambda **kw: seen_later.append((kw["old"], kw["new"])), on_commit=True
    )
    ticket = factories.ticket()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.ticket_change_status(ticket=ticket, status=Status.OPEN)
        assert seen_now == [(Status.NEW, Status.OPEN)]
        assert seen_later == []
    for callback in callbacks:
        callback()
    assert seen_later == [(Status.NEW, Status.OPEN)]


@pytest.mark.django_db
def test_a_failing_in_transaction_receiver_rolls_the_change_back(isolated_hooks):
    def refuse(**kwargs):
        raise RuntimeError("receiver failed")

    ticket = factories.ticket(priority="normal")
    hooks.connect(hooks.TICKET_CHANGED, refuse)
    with pytest.raises(RuntimeError):
        services.ticket_change_priority(ticket=ticket, priority="high")
    ticket.refresh_from_db()
    assert ticket.priority == "normal"


def test_the_first_claimer_that_answers_takes_inbound_mail(isolated_hooks):
    mail = hooks.InboundMail(
        from_address="a@example.com",
        recipients=("support@example.com",),
        replied_to_message_ids=(),
        message_id="m1@example.com",
        body_text="hi",
        received_at=None,
    )
    hooks.connect(hooks.INBOUND_MAIL, lambda **kw: None)
    hooks.connect(hooks.INBOUND_MAIL, lambda **kw: hooks.InboundClaim(reason="second"))
    hooks.connect(hooks.INBOUND_MAIL, lambda **kw: hooks.InboundClaim(reason="third"))
    assert hooks.claim_inbound_mail(mail) == hooks.InboundClaim(reason="second")
    hooks._receivers[hooks.INBOUND_MAIL].clear()
    assert hooks.claim_inbound_mail(mail) is None
