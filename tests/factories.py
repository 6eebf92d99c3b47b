"""factory_boy factories and factory functions; tickets are made through the services."""

from datetime import UTC, datetime, timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from surveys import services as survey_services
from surveys.models import SurveyInvitation, SurveySettings
from tickets import services
from tickets.intake.services import integration_key_create
from tickets.models import (
    Agent,
    Channel,
    Customer,
    IntegrationKey,
    Organization,
    PhoneCall,
    RoutingRule,
    Skill,
    Status,
    Team,
    Ticket,
)
from tickets.tasks import tickets_deliver_outbound


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


def desk_for_the_planner(*, teams: list[Team], assignees: list | None = None, count: int = 2000) -> None:
    """Enough tickets, spread over teams, statuses and assignees, and their statistics, for PostgreSQL's
    planner to choose as it does on a real desk (for the tests that read query plans).

    On the handful of rows a test makes, every index costs about the same and the planner's pick depends
    on statistics an earlier committed test left behind, so plan checks failed in some test orders.
    (ANALYZE's column statistics roll back with the test; its row-count estimate in pg_class does not,
    and a later test then finds a desk-sized estimate: harmless for the other checks, which also analyse.)
    """
    from django.db import connection

    assignees = assignees or [None]
    customer = CustomerFactory()
    statuses = [Status.NEW, Status.OPEN, Status.PENDING, Status.SOLVED, Status.CLOSED]
    now = timezone.now()
    Ticket.objects.bulk_create(
        Ticket(
            subject=f"Generated {n}",
            customer=customer,
            team=teams[n % len(teams)],
            assignee=assignees[n % len(assignees)] if n % 3 else None,
            status=statuses[n % len(statuses)],
            created_at=now - timedelta(minutes=n),
            updated_at=now,
        )
        for n in range(count)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket, sla_slaclock")


class SurveySettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurveySettings

    team = factory.SubFactory(TeamFactory)
    kinds = factory.LazyFunction(lambda: ["csat"])
    delay_minutes = 60
    token_lifetime_days = 28
    throttle_days = 30


def solved_ticket(*, now: datetime | None = None, **kwargs) -> Ticket:
    """A ticket made and solved at `now` (which schedules its survey)."""
    now = now or timezone.now()
    created = ticket(now=now - timedelta(hours=2), **kwargs)
    return services.ticket_change_status(ticket=created, status=Status.SOLVED, now=now)


def sent_survey(*, ticket: Ticket | None = None, now: datetime | None = None, **kwargs) -> SurveyInvitation:
    """A sent survey invitation, through the services: sent at `now`, default its send time.

    Without a ticket, one is solved early enough (two hours ago) for its survey to be due.
    """
    if ticket is None:
        ticket = solved_ticket(now=timezone.now() - timedelta(hours=2), **kwargs)
    invitation = SurveyInvitation.objects.get(ticket=ticket, state=SurveyInvitation.State.SCHEDULED)
    now = now or invitation.send_at
    claimed = survey_services.survey_invitation_claim(invitation_id=invitation.pk, now=now)
    assert claimed is not None, "the survey was skipped; give the ticket a customer email and a solve"
    survey_services.survey_invitation_mark_sent(invitation=claimed, message_id="<test@example>", now=now)
    claimed.refresh_from_db()
    return claimed


def deliver_survey(invitation_id: int, *, now: datetime | None = None) -> str:
    """Hand a due survey to the outbox and deliver it as a worker would; returns the delivery state."""
    delivery = survey_services.survey_invitation_dispatch(invitation_id=invitation_id, now=now)
    if delivery is None:
        return "not due or already handled"
    return tickets_deliver_outbound(delivery.pk)


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


def png_bytes(width: int, height: int) -> bytes:
    """A valid solid-red PNG, built by hand so tests need no image library."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def html_email_bytes_with_inline_image(
    *,
    content_id: str = "shot.1@example.test",
    subject: str = "Screenshot of the error",
    width: int = 40,
    height: int = 30,
    extra_html: str = "",
) -> bytes:
    """multipart/alternative whose HTML part shows a related PNG through `<img src="cid:...">`
    (followed by `extra_html`)."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Carla Costa <carla@example.test>"
    message["To"] = "support@helpdesk.localhost"
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject.lower().replace(' ', '-')}@example.test>"
    message.set_content("See the screenshot.")
    message.add_alternative(
        f'<p>See the <b>screenshot</b>:</p><p><img src="cid:{content_id}" alt="screenshot"></p>'
        '<table><tr><td>cell</td></tr></table><a href="https://example.test/help">help</a>'
        f"<script>alert(1)</script>{extra_html}",
        subtype="html",
    )
    html_part = message.get_payload()[1]
    html_part.add_related(png_bytes(width, height), maintype="image", subtype="png", cid=f"<{content_id}>")
    return message.as_bytes()


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


def phone_call(
    *,
    ticket: Ticket,
    started_at: datetime,
    outcome: str = PhoneCall.Outcome.ANSWERED,
    queue_wait_seconds: int = 0,
    direction: str = PhoneCall.Direction.INBOUND,
    **kwargs,
) -> PhoneCall:
    """A call record on an existing ticket, for reports (intake's call service also makes tickets)."""
    return PhoneCall.objects.create(
        ticket=ticket,
        caller=kwargs.pop("caller", "+4512345678"),
        started_at=started_at,
        outcome=outcome,
        queue_wait_seconds=queue_wait_seconds,
        direction=direction,
        created_at=started_at,
        **kwargs,
    )
