"""What the ticket core announces, and the one way other apps listen.

The ticket core (`tickets`) never imports the apps built on it (`sla`, `surveys`): its services announce
what happened here, and those apps register receivers in their `AppConfig.ready()`. So the dependency
runs one way, and a new listener needs no change in the core.

Receivers run synchronously, inside the announcing service's transaction and with the ticket row locked,
unless registered with `on_commit=True`. In-transaction is for receivers whose writes must commit or roll
back with the change: the SLA clocks (they need the locked row), and survey invitations (a durable timer
row; writing it on commit would lose it if the process died between the commit and the callback).
Receivers that only cause effects outside the database register with `on_commit=True`.

Events and their keyword arguments:

- `TICKET_CHANGED` (`ticket`, `now`, `message`, `messages`): anything that can move SLA clocks changed
  (a new ticket, a message, status, priority, team, tags, a merge); `message` is the message the change
  added, or None. Inside `ticket_changes_coalesced()` (one inbound email: create, route, acknowledge)
  the changes of a ticket are announced once, when the block ends, with `message` None and `messages`
  the messages they added, in order; otherwise `messages` is empty.
- `STATUS_CHANGED` (`ticket`, `old`, `new`, `now`): the ticket's status changed.
- `OUTBOUND_SENT` (`delivery`, `now`): an outbox row (tickets/outbox/) was delivered.
- `OUTBOUND_FAILED` (`delivery`, `now`, `bounced`): an outbox row failed for good, or bounced after it
  was sent; `delivery.last_error` says why. Both run inside the transaction that records the outcome.

Claims: `INBOUND_MAIL` asks each claimer in turn whether an inbound email belongs to it (a reply to a
survey email, for instance) before the core threads it onto a ticket. The first claimer that returns an
`InboundClaim` takes the message; None means "not mine".

Providers: `BUSINESS_HOURS` answers a question the core asks while it writes the per-ticket metrics, "how
many business seconds lie between two instants for this ticket?". One app provides it (the SLA app, from
its calendars); `business_seconds_counter(ticket)` returns a counter `(start, end) -> seconds`. Without a
provider every hour is a business hour.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

TICKET_CHANGED = "ticket_changed"
STATUS_CHANGED = "status_changed"
INBOUND_MAIL = "inbound_mail"

OUTBOUND_SENT = "outbound_sent"
OUTBOUND_FAILED = "outbound_failed"

BUSINESS_HOURS = "business_hours"

EVENTS = (TICKET_CHANGED, STATUS_CHANGED, OUTBOUND_SENT, OUTBOUND_FAILED)
CLAIMS = (INBOUND_MAIL,)
PROVIDERS = (BUSINESS_HOURS,)

BusinessSecondsCounter = Callable[[datetime, datetime], int]


@dataclass(frozen=True)
class InboundMail:
    """An inbound email as claimers see it (already parsed, classified and with a usable sender)."""

    from_address: str
    recipients: tuple[str, ...]
    replied_to_message_ids: tuple[str, ...]  # In-Reply-To then References, without angle brackets
    message_id: str
    body_text: str
    received_at: datetime


@dataclass(frozen=True)
class InboundClaim:
    """A claimer took the message: why (for the inbound log), and the ticket it concerns, if any."""

    reason: str
    ticket_id: int | None = None


@dataclass(frozen=True)
class _Receiver:
    function: Callable[..., Any]
    on_commit: bool


_receivers: dict[str, list[_Receiver]] = {name: [] for name in (*EVENTS, *CLAIMS)}
_providers: dict[str, Callable[..., Any]] = {}


def connect(event: str, function: Callable[..., Any], *, on_commit: bool = False) -> None:
    """Register `function` for `event`; registering the same function twice has no effect."""
    if event not in _receivers:
        raise ValueError(f"unknown ticket hook {event!r}; known: {', '.join(_receivers)}")
    if on_commit and event in CLAIMS:
        raise ValueError(f"{event!r} is a claim: its answer is needed at once, so it cannot run on commit")
    if all(receiver.function is not function for receiver in _receivers[event]):
        _receivers[event].append(_Receiver(function=function, on_commit=on_commit))


# While `ticket_changes_coalesced` runs: ticket pk -> the latest TICKET_CHANGED kwargs and the messages.
_coalesced: ContextVar[dict[int, dict[str, Any]] | None] = ContextVar(
    "ticket_changes_coalesced", default=None
)


@contextmanager
def ticket_changes_coalesced() -> Iterator[None]:
    """Announce the TICKET_CHANGED events of the block once per ticket, when it ends without error.

    For a unit of work that changes one ticket several times in one transaction (an inbound email opens
    the ticket, routes it and acknowledges it): the receivers (the SLA clocks) run once, on the final
    state, with every message the changes added, instead of once per change. Use it inside the
    transaction; if the block raises, nothing is announced (the transaction rolls back anyway).
    """
    if _coalesced.get() is not None:
        yield  # already coalescing: the outer block announces
        return
    pending: dict[int, dict[str, Any]] = {}
    token = _coalesced.set(pending)
    try:
        yield
    finally:
        _coalesced.reset(token)
    for change in pending.values():
        announce(TICKET_CHANGED, **change)


def announce(event: str, **kwargs: Any) -> None:
    """Tell every receiver of `event`; call from inside the service's transaction."""
    if event not in EVENTS:
        raise ValueError(f"unknown ticket event {event!r}")
    if event == TICKET_CHANGED:
        kwargs.setdefault("message", None)
        kwargs.setdefault("messages", ())
        pending = _coalesced.get()
        if pending is not None:
            change = pending.setdefault(kwargs["ticket"].pk, {"messages": ()})
            added = (*kwargs["messages"], *([kwargs["message"]] if kwargs["message"] is not None else []))
            change.update(kwargs, message=None, messages=(*change["messages"], *added))
            return
    for receiver in _receivers[event]:
        if receiver.on_commit:
            # robust: the change is committed; a failing after-commit effect (a broker outage) is logged,
            # never turned into an error answer for a request that succeeded.
            transaction.on_commit(lambda function=receiver.function: function(**kwargs), robust=True)
        else:
            receiver.function(**kwargs)


def claim_inbound_mail(mail: InboundMail) -> InboundClaim | None:
    """The first claimer's claim on `mail`, or None when no app claims it."""
    for receiver in _receivers[INBOUND_MAIL]:
        claim = receiver.function(mail=mail)
        if claim is not None:
            return claim
    return None


def provide(name: str, function: Callable[..., Any]) -> None:
    """Make `function` the one provider of `name`; a second app providing the same answer is an error."""
    if name not in PROVIDERS:
        raise ValueError(f"unknown ticket provider {name!r}; known: {', '.join(PROVIDERS)}")
    current = _providers.get(name)
    if current is not None and current is not function:
        raise ValueError(f"{name!r} already has a provider: {current.__module__}.{current.__qualname__}")
    _providers[name] = function


def _calendar_seconds(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds()))


def business_seconds_counter(ticket: Any) -> BusinessSecondsCounter:
    """Count the business seconds between two instants on `ticket`'s calendar (see "Providers" above)."""
    provider = _providers.get(BUSINESS_HOURS)
    return _calendar_seconds if provider is None else provider(ticket=ticket)
