"""Every write of the SLA domain, by concern: `config` (calendars, policies), `engine` (clocks follow the
ticket), `sweep` (warnings and breaches) and `notify` (what they tell people). `from sla.services import …`
reaches the public functions of all of them; `sla_sweep` is the sweep's entry point."""

from sla.services.config import (
    TargetSpec,
    calendar_create,
    calendar_create_always_open,
    calendar_import_holidays,
    policy_create,
)
from sla.services.engine import (
    sla_clock_pin_due,
    sla_ticket_changed,
    sla_ticket_replay,
    sla_tickets_store_state,
)
from sla.services.sweep import SweepResult, sla_sweep

__all__ = [
    "SweepResult",
    "TargetSpec",
    "calendar_create",
    "calendar_create_always_open",
    "calendar_import_holidays",
    "policy_create",
    "sla_clock_pin_due",
    "sla_sweep",
    "sla_ticket_changed",
    "sla_ticket_replay",
    "sla_tickets_store_state",
]
