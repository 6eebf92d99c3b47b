"""What the ticket core announces, and the one way other apps listen.

Apps built on `tickets` register receivers (in their `AppConfig.ready()`); the core announces events
and never imports them. Receivers run synchronously inside the announcing service's transaction, unless
registered with `on_commit=True`.

Events and their keyword arguments:

- `OUTBOUND_SENT` (`delivery`, `now`): an outbox row was delivered (tickets/outbox/).
- `OUTBOUND_FAILED` (`delivery`, `now`, `bounced`): an outbox row failed for good, or bounced after it
  was sent; `delivery.last_error` says why.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

OUTBOUND_SENT = "outbound_sent"
OUTBOUND_FAILED = "outbound_failed"

EVENTS = (OUTBOUND_SENT, OUTBOUND_FAILED)


@dataclass(frozen=True)
class _Receiver:
    function: Callable[..., Any]
    on_commit: bool


_receivers: dict[str, list[_Receiver]] = {name: [] for name in EVENTS}


def connect(event: str, function: Callable[..., Any], *, on_commit: bool = False) -> None:
    """Register `function` for `event`; registering the same function twice has no effect."""
    if event not in _receivers:
        raise ValueError(f"unknown ticket hook {event!r}; known: {', '.join(_receivers)}")
    if all(receiver.function is not function for receiver in _receivers[event]):
        _receivers[event].append(_Receiver(function=function, on_commit=on_commit))


def disconnect(event: str, function: Callable[..., Any]) -> None:
    _receivers[event] = [receiver for receiver in _receivers[event] if receiver.function is not function]


def announce(event: str, **kwargs: Any) -> None:
    """Tell every receiver of `event`; call from inside the service's transaction."""
    if event not in EVENTS:
        raise ValueError(f"unknown ticket event {event!r}")
    for receiver in _receivers[event]:
        if receiver.on_commit:
            transaction.on_commit(lambda function=receiver.function: function(**kwargs))
        else:
            receiver.function(**kwargs)
