"""factory_boy factories and factory functions; tickets are made through the services."""

from datetime import datetime

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


def sla_calendar(
    *,
    name: str = "Office hours",
    time_zone: str = "Europe/Copenhagen",
    weekly_hours: dict | None = None,
    holidays: tuple = (),
):
    """A calendar open Monday to Friday 09:00-17:00 unless `weekly_hours` says otherwise."""
    from datetime import time

    from sla import services as sla_services

    hours = weekly_hours if weekly_hours is not None else {day: [(time(9), time(17))] for day in range(5)}
    return sla_services.calendar_create(
        name=name, time_zone=time_zone, weekly_hours=hours, holidays=[(day, "Holiday") for day in holidays]
    )


def sla_policy(*, calendar, targets: dict, name: str = "Standard", position: int = 0, **fields):
    """A policy with `targets` {(priority, metric): seconds or (seconds, business_hours)}.

    Many-to-many conditions (teams, organizations, tags) may be passed as lists.
    """
    from sla.models import Policy, PolicyTarget

    relations = {key: fields.pop(key) for key in ("teams", "organizations", "tags") if key in fields}
    policy = Policy.objects.create(name=name, position=position, calendar=calendar, **fields)
    for key, values in relations.items():
        getattr(policy, key).set(values)
    for (priority, metric), value in targets.items():
        seconds, business = value if isinstance(value, tuple) else (value, True)
        PolicyTarget.objects.create(
            policy=policy, priority=priority, metric=metric, target_seconds=seconds, business_hours=business
        )
    return policy
