from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"

    def ready(self) -> None:
        from anymail.signals import inbound

        from tickets import config_cache
        from tickets.email import checks  # noqa: F401  (registers the deploy checks)
        from tickets.email.provider_webhooks import store_inbound_email
        from tickets.models import Mailbox, Organization, RoutingRule, Skill, Team, WebhookSubscription
        from tickets.outbox import receivers

        # The provider webhooks' one entry point: store the raw message (tickets/email/provider_webhooks.py).
        inbound.connect(store_inbound_email, dispatch_uid="tickets.store_inbound_email")
        # The core's own reactions to its outbox outcomes (failure notices, notification emailed_at).
        receivers.register()
        # Configuration cached per process (tickets/config_cache.py): a change reloads it everywhere.
        config_cache.watch(Team, Mailbox, RoutingRule, Organization, Skill, WebhookSubscription)
