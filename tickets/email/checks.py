"""System checks for inbound email: `manage.py check --deploy` fails on a webhook that cannot authenticate."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from tickets.email.provider_webhooks import provider_missing_credential


@register(Tags.security, deploy=True)
def check_provider_webhook_credentials(app_configs, **kwargs) -> list[CheckMessage]:
    return [
        Error(
            f"The {provider} inbound webhook is enabled but {missing} is not set; it refuses every post.",
            hint=f"Set {missing} or remove {provider} from HELPDESK_EMAIL_WEBHOOK_PROVIDERS (docs/email.md).",
            id="tickets.E001",
        )
        for provider in settings.HELPDESK_EMAIL_WEBHOOK_PROVIDERS
        if (missing := provider_missing_credential(provider))
    ]
