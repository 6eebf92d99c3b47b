from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = "SLA"

    def ready(self) -> None:
        from sla.models import BusinessHoursInterval, Calendar, Holiday, Policy, PolicyTarget
        from sla.selectors import ticket_business_seconds_counter
        from sla.services.engine import sla_ticket_changed
        from tickets import config_cache, hooks

        # In the change's transaction, with the ticket row locked: the clocks follow the ticket atomically.
        hooks.connect(hooks.TICKET_CHANGED, sla_ticket_changed)
        # The per-ticket business-hours metrics count on the SLA calendars.
        hooks.provide(hooks.BUSINESS_HOURS, ticket_business_seconds_counter)
        # The engine caches the active policies and calendars per process (tickets/config_cache.py).
        config_cache.watch(Policy, PolicyTarget, Calendar, BusinessHoursInterval, Holiday)
