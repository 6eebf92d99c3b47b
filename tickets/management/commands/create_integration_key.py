"""Create an API key for an intake integration and print it once."""

from django.core.management.base import BaseCommand, CommandError

from tickets.exceptions import DomainError
from tickets.intake.services import integration_key_create
from tickets.models import Channel, Team


class Command(BaseCommand):
    help = (
        "Create an API key for a chat, phone or social integration; the key is printed once and not stored."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="A name for the integration, e.g. 'website chat'.")
        parser.add_argument("--channel", required=True, choices=[Channel.CHAT, Channel.PHONE, Channel.SOCIAL])
        parser.add_argument("--default-team", help="Name of the team for tickets no routing rule places.")
        parser.add_argument(
            "--callback-url",
            default="",
            help="Where agents' public replies to this integration's conversations are POSTed (signed).",
        )

    def handle(
        self, *args, name: str, channel: str, default_team: str | None, callback_url: str, **options
    ) -> None:
        team = None
        if default_team:
            team = Team.objects.filter(name=default_team).first()
            if team is None:
                names = ", ".join(Team.objects.values_list("name", flat=True)) or "none yet"
                raise CommandError(f"No team named {default_team!r}; existing teams: {names}.")
        try:
            integration, key = integration_key_create(
                name=name, channel=channel, default_team=team, callback_url=callback_url
            )
        except DomainError as error:
            raise CommandError(str(error)) from error
        self.stderr.write(f"Created integration key {integration.name!r} for the {channel} channel.")
        if integration.callback_url:
            self.stderr.write(
                f"Replies are POSTed to {integration.callback_url}, signed with the callback secret "
                f"{integration.callback_secret} (also shown in the admin)."
            )
        self.stderr.write("Store this key now; it is not shown again:")
        self.stdout.write(key)
