"""factory_boy factories and factory functions; tickets are made through the services."""

from datetime import datetime

import factory
from django.contrib.auth import get_user_model

from tickets import services
from tickets.intake import integration_key_create
from tickets.models import (
    Agent,
    Channel,
    Customer,
    IntegrationKey,
    Organization,
    RoutingRule,
    Skill,
    Team,
    Ticket,
)


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

    @factory.post_generation
    def skills(self, create, extracted, **kwargs):
        if create and extracted:
            self.skills.add(*extracted)


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Skill
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"skill-{n}")


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingRule
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Rule {n}")
    position = factory.Sequence(lambda n: n * 10)

    @factory.post_generation
    def organizations(self, create, extracted, **kwargs):
        if create and extracted:
            self.organizations.add(*extracted)

    @factory.post_generation
    def add_required_skills(self, create, extracted, **kwargs):
        if create and extracted:
            self.add_required_skills.add(*extracted)


def integration_key(*, channel: str = Channel.CHAT, name: str = "", **kwargs) -> tuple[IntegrationKey, str]:
    name = name or f"{channel} integration {IntegrationKey.objects.count() + 1}"
    return integration_key_create(name=name, channel=channel, **kwargs)


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
