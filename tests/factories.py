"""factory_boy factories and factory functions; tickets are made through the services."""

from datetime import UTC, datetime

import factory
from django.contrib.auth import get_user_model

from tickets import services
from tickets.models import Agent, Channel, Customer, Organization, Team, Ticket


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@helpdesk.test")
    first_name = factory.Sequence(lambda n: f"First{n}")
    password = factory.django.Password("pass-word-123")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer Person{n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        if create and extracted:
            self.teams.add(*extracted)


def ticket(
    *,
    customer: Customer | None = None,
    team: Team | None = None,
    subject: str = "Printer on fire",
    body_text: str = "Help, my printer is on fire.",
    channel: str = Channel.EMAIL,
    now: datetime | None = None,
    **kwargs,
) -> Ticket:
    return services.ticket_create(
        subject=subject,
        customer=customer or CustomerFactory(),
        team=team,
        channel=channel,
        body_text=body_text,
        now=now,
        **kwargs,
    )


def email_bytes(
    *,
    from_: str = "Alice Customer <alice@example.com>",
    to: str = "support@helpdesk.localhost",
    subject: str = "My printer is on fire",
    body: str = "Hello, my printer is on fire. Please help.",
    message_id: str | None = "<first-1@mail.example.com>",
    cc: str = "",
    in_reply_to: str = "",
    references: str = "",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, bytes, str]] = (),
) -> bytes:
    """A realistic RFC 5322 message as a client would send it."""
    from email.message import EmailMessage
    from email.utils import format_datetime

    message = EmailMessage()
    message["From"] = from_
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    if message_id:
        message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, content, content_type in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()
