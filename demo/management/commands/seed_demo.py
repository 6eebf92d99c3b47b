"""`manage.py seed_demo`: the demo world, written in bulk, then the SLA clocks replayed by the SLA engine.

Deterministic for a given `--seed` and moment, and idempotent: when tickets exist it says so and changes
nothing. The story (who writes when) comes from `demo.story`; this command turns it into rows the way
the ticket services would (same statuses, audit entries and metric columns) but with bulk inserts,
because history needs none of the services' side effects: nothing is mailed, notified or sent to webhooks.
"""

import random
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from demo import story as plot
from demo.sla_setup import STANDARD_TARGETS, VIP_TARGETS, demo_policies_create, targets_by_metric
from sla import selectors as sla_selectors
from sla import services as sla_services
from sla.business_time import add_business_seconds, business_seconds_between
from sla.models import ClockState, SlaClock
from surveys import scoring
from surveys.models import SurveyInvitation, SurveyResponse, SurveyResponseChange, SurveySettings
from tickets import transitions
from tickets.deflection.services import published_answer_save
from tickets.models import (
    Agent,
    AuditEntry,
    Channel,
    Customer,
    CustomerHandle,
    Macro,
    Message,
    Organization,
    PhoneCall,
    PublishedAnswer,
    RoutingRule,
    Skill,
    Status,
    Tag,
    Team,
    Ticket,
    TicketMetrics,
    WebFormTopic,
)
from tickets.services import STATUS_TIME_COLUMNS

DEMO_AGENT_PASSWORD = "demo-agent-pass"
# The logins README.md names: a team lead and an agent of Technical Support (plus `admin`, ensure_admin).
DEMO_LEAD = ("lead", "Maya", "Lindqvist")
DEMO_AGENT = ("agent", "Sam", "Okafor")

FIRST_NAMES = (
    "Ada Alan Amira Ana Anders Arjun Astrid Ben Bjorn Carla Chen Chloe Dana Diego Elena Emil "
    "Fatima Freya Gabriel Hana Hugo Ines Ivan Jamal Jana Jonas Julia Kai Karin Leila Liam Lina "
    "Lucas Maja Marco Maria Mateo Mia Nadia Noah Nora Olga Omar Paula Pedro Priya Rafael Rosa "
    "Sami Sara Sofia Tariq Tomas Una Victor Yara Yusuf Zoe"
).split()
LAST_NAMES = (
    "Andersen Baker Berg Costa Dahl Eriksen Fischer Garcia Hansen Ito Jensen Kowalski Larsen "
    "Lopez Moreau Nielsen Novak Olsen Patel Petersen Quinn Rossi Schmidt Silva Smith Sorensen "
    "Tanaka Wagner Weber Yilmaz"
).split()
COMPANIES = (
    "Acme Logistics",
    "Bluefin Analytics",
    "Copperleaf Foods",
    "Delta Dental Group",
    "Evergreen Schools",
    "Fjord Shipping",
    "Granite Insurance",
    "Harbor Health",
    "Ironwood Legal",
    "Juniper Retail",
    "Kestrel Air",
    "Lumen Energy",
    "Meridian Bank",
    "Northwind Traders",
    "Orchid Hotels",
    "Pioneer Telecom",
    "Quartz Media",
    "Riverside Clinic",
    "Summit Outdoor",
    "Tidewater Farms",
)
VIP_TEAM = "VIP Care"
# Public answers a lead wrote from solved tickets (the web form suggests them): subject of the ticket ->
# (title, answer). Written for customers, never a customer's own words.
PUBLISHED_ANSWERS = {
    "Two-factor codes not arriving": (
        "Two-factor codes not arriving?",
        "SMS codes can take up to two minutes. If none arrives, check that your phone number under "
        "Account > Security is right, then choose 'Send the code again'. You can also switch to an "
        "authenticator app there, which works without mobile signal.",
    ),
    "Sync stuck at 87%": (
        "Desktop sync stuck part-way",
        "Quit the desktop app, make sure the disk has at least 1 GB free, and start it again: the sync "
        "resumes where it stopped. If it stays at the same percentage, send us the log from Help > Logs.",
    ),
    "Change billing address": (
        "Changing your billing address",
        "An account owner can change the billing address under Billing > Company details. The next "
        "invoice uses the new address; we can reissue earlier invoices on request.",
    ),
}
# name -> (skills, assignment strategy, survey kinds, topics)
TEAMS = {
    "Billing": (
        ["billing", "refunds"],
        Team.AssignmentStrategy.ROUND_ROBIN,
        ["csat"],
        [
            (
                "Invoice {n} charged twice",
                "Hi, my card was charged twice for invoice {n}. Can you refund one?",
            ),
            (
                "Refund request for order {n}",
                "I returned order {n} two weeks ago and still have not received my refund.",
            ),
            ("Change billing address", "Please update the billing address on our account to our new office."),
            ("VAT missing on invoice {n}", "Our accounting needs the VAT number printed on invoice {n}."),
        ],
    ),
    "Technical Support": (
        ["networking", "mobile", "api"],
        Team.AssignmentStrategy.LEAST_LOADED,
        ["csat", "ces"],
        [
            ("Cannot log in since the update", "Since yesterday's update the app says 'invalid session'."),
            (
                "API returns 502 on /orders",
                "Our integration gets 502 Bad Gateway on about 5% of /orders calls.",
            ),
            ("Sync stuck at 87%", "The desktop sync has been stuck at 87% since this morning."),
            ("Two-factor codes not arriving", "I am not receiving the SMS codes for two-factor login."),
            ("Export to CSV is empty", "When I export last month's report the CSV file only has headers."),
        ],
    ),
    "Sales": (
        ["pricing"],
        Team.AssignmentStrategy.QUEUE,
        ["csat", "nps"],
        [
            ("Quote for {n} seats", "We are evaluating your product and need a quote for {n} seats."),
            ("Upgrade to the Enterprise plan", "What would it take to move our account to Enterprise?"),
            ("Discount for non-profits?", "Do you offer a discount for registered non-profit organizations?"),
        ],
    ),
    VIP_TEAM: (
        ["networking", "api", "refunds"],
        Team.AssignmentStrategy.SKILL_BASED,
        ["csat", "nps", "ces"],
        [
            ("Urgent: production outage", "All our users are locked out of the dashboard."),
            ("Executive report not delivered", "The weekly executive report was not delivered this week."),
            (
                "Contract renewal questions",
                "Our contract renews next month; I have questions about the terms.",
            ),
        ],
    ),
}
MACROS = (
    (
        None,
        "Ask for details",
        "Hi {{ customer.first_name }}, could you send the exact error and when it happened?",
        Status.PENDING,
    ),
    (
        None,
        "Solved: thanks",
        "Hi {{ customer.first_name }}, glad this is sorted. Reply any time. {{ agent.first_name }}",
        Status.SOLVED,
    ),
    (
        "Billing",
        "Refund issued",
        "Hi {{ customer.first_name }}, the refund for {{ ticket.reference }} is on its way (3-5 days).",
        Status.SOLVED,
    ),
    (
        "Technical Support",
        "Escalated to engineering",
        "Thanks {{ customer.first_name }}, engineering is on it; I'll update you within a day.",
        Status.ON_HOLD,
    ),
    (
        "Sales",
        "Quote attached",
        "Hi {{ customer.first_name }}, here is the quote we discussed. {{ agent.name }}",
        Status.PENDING,
    ),
)
ROUTING_RULES = (
    ("VIP customers to VIP Care", {"vip": RoutingRule.VipCondition.VIP}, VIP_TEAM),
    (
        "Invoices and refunds to Billing",
        {"keywords": ["invoice", "refund", "billing", "VAT", "charged"]},
        "Billing",
    ),
    (
        "Quotes and plans to Sales",
        {"keywords": ["quote", "pricing", "upgrade", "discount", "seats"]},
        "Sales",
    ),
)
DEFAULT_TEAM = "Technical Support"
WEB_FORM_TOPICS = (
    ("Billing and invoices", "Billing"),
    ("A technical problem", "Technical Support"),
    ("Plans, quotes and pricing", "Sales"),
)
# Survey answers: (score, weight) per kind, a realistic spread with a long unhappy tail.
ANSWER_WEIGHTS = {
    scoring.CSAT: {1: 4, 2: 5, 3: 11, 4: 30, 5: 50},
    scoring.CES: {1: 3, 2: 4, 3: 8, 4: 12, 5: 23, 6: 28, 7: 22},
    scoring.NPS: {0: 2, 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 5, 7: 10, 8: 20, 9: 25, 10: 28},
}
SURVEY_COMMENTS = ("Quick and friendly, thanks!", "Took a while but it is fixed.", "", "", "Still not happy.")
RESPONSE_RATE = 0.35
SLA_LIVE_DAYS = 10
BATCH = 500


class Command(BaseCommand):
    help = "Create the demo: teams, agents, customers, tickets with their history, SLA clocks and surveys."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tickets", type=int, default=2400, help="Tickets over the period (2400).")
        parser.add_argument("--customers", type=int, default=300, help="How many customers (300).")
        parser.add_argument("--days", type=int, default=60, help="Spread tickets over this many days (60).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed, for a reproducible data set.")

    def handle(self, *args, tickets: int, customers: int, days: int, seed: int, **options) -> None:
        existing = Ticket.objects.count()
        if existing:
            self.stdout.write(
                f"Demo data is already present ({existing} tickets); nothing was changed. "
                "To start over, delete the database (var/helpdesk.sqlite3 by default) and run again."
            )
            return
        if tickets < 1 or customers < 1 or days < 1:
            self.stderr.write("--tickets, --customers and --days must be positive.")
            sys.exit(2)
        self.started = time.monotonic()
        rng = random.Random(seed)
        now = timezone.now()
        with transaction.atomic():
            _, office = demo_policies_create()
            self.teams, self.agents = self._teams_and_agents(rng)
            self.customers = self._customers(rng, customers)
            self._macros_and_routing()
            self._say(
                f"{len(self.teams)} teams, {sum(map(len, self.agents.values()))} agents, "
                f"{len(self.customers)} customers, SLA policies, macros, routing rules and web form topics"
            )
            office_calendar = sla_selectors.business_calendar(office)
            # The calendar each ticket's business-hours metrics count on: its SLA policy's (VIP: 24/7).
            self.business_seconds = {
                "business": lambda start, end: business_seconds_between(office_calendar, start, end),
                "always": lambda start, end: max(0, int((end - start).total_seconds())),
            }
            cast = plot.Cast(
                teams={name: len(members) for name, members in self.agents.items()},
                vip_team=VIP_TEAM,
                topics={name: spec[3] for name, spec in TEAMS.items()},
                customers_vip=[c.is_vip for c in self.customers],
                customers_phone=[bool(c.phone) for c in self.customers],
                first_names=[c.first_name for c in self.customers],
                targets={
                    "business": targets_by_metric(STANDARD_TARGETS),
                    "always": targets_by_metric(VIP_TARGETS),
                },
                working_time={
                    "business": lambda start, seconds: add_business_seconds(office_calendar, start, seconds),
                    "always": lambda start, seconds: start + timedelta(seconds=seconds),
                },
            )
            stories = [
                plot.tell(rng, cast, moment, rng.randrange(len(self.customers)), rng.randint(1000, 99999))
                for moment in plot.arrivals(rng, tickets, now, days)
            ]
            stories = sorted(stories + plot.just_arrived(rng, cast, now), key=lambda story: story.created_at)
            ids = self._write_tickets(stories, now)
            self._write_surveys(rng, stories, ids, now)
            self._publish_answers(now)
        # The SLA policies went live SLA_LIVE_DAYS ago: older tickets, closed long since, predate them
        # (replaying every ticket of the period would cost minutes at the first `make run`).
        live_since = now - timedelta(days=SLA_LIVE_DAYS)
        self._replay_sla(
            [
                pk
                for story, pk in zip(stories, ids, strict=True)
                if story.created_at >= live_since or any(e.at > now for e in story.events)
            ],
            now,
        )
        self._say(self._summary(now), success=True)

    # --- output ---

    def _say(self, text: str, success: bool = False) -> None:
        line = f"[{time.monotonic() - self.started:5.1f}s] {text}"
        self.stdout.write(self.style.SUCCESS(line) if success else line)
        self.stdout.flush()

    # --- the world ---

    def _teams_and_agents(self, rng: random.Random) -> tuple[dict[str, Team], dict[str, list]]:
        user_model = get_user_model()
        skills = {
            name: Skill.objects.get_or_create(name=name)[0]
            for name in ("billing", "refunds", "networking", "mobile", "api", "pricing", "german", "spanish")
        }
        # Hash the shared demo password once: hashing is deliberately slow.
        password_hash = make_password(DEMO_AGENT_PASSWORD)
        used = {DEMO_LEAD[0], DEMO_AGENT[0]}
        teams, agents = {}, {}
        for team_name, (team_skills, strategy, _, _) in TEAMS.items():
            slug = team_name.lower().replace(" ", "")
            team = Team.objects.create(
                name=team_name, email_address=f"{slug}@helpdesk.localhost", assignment_strategy=strategy
            )
            members = []
            for index in range(3 if team_name == VIP_TEAM else 4):
                if team_name == DEFAULT_TEAM and index < 2:
                    username, first, last = (DEMO_LEAD, DEMO_AGENT)[index]
                else:
                    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                    username = f"{first}.{last}".lower()
                    while username in used:
                        username += str(rng.randint(0, 9))
                used.add(username)
                user = user_model.objects.create(
                    username=username,
                    email=f"{username}@helpdesk.localhost",
                    password=password_hash,
                    first_name=first,
                    last_name=last,
                    is_staff=True,
                )
                # The demo lead and agent are at their desks; elsewhere someone is sometimes away.
                fixed = team_name == DEFAULT_TEAM and index < 2
                agent = Agent.objects.create(
                    user=user, capacity=rng.choice([15, 20, 25]), is_available=fixed or rng.random() > 0.15
                )
                agent.teams.add(team)
                agent.skills.add(
                    *[skills[name] for name in rng.sample(team_skills, k=min(2, len(team_skills)))]
                )
                if rng.random() < 0.3:
                    agent.skills.add(skills[rng.choice(["german", "spanish"])])
                if index == 0:
                    team.lead = user
                    team.save(update_fields=["lead"])
                members.append(user)
            teams[team_name] = team
            agents[team_name] = members
        return teams, agents

    def _customers(self, rng: random.Random, count: int) -> list[Customer]:
        organizations = Organization.objects.bulk_create(
            Organization(name=name, email_domains=[name.split()[0].lower() + ".example"])
            for name in COMPANIES
        )
        customers = []
        for index in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            organization = rng.choice(organizations) if rng.random() < 0.6 else None
            domain = (
                organization.email_domains[0]
                if organization
                else rng.choice(["mail.example", "inbox.example"])
            )
            customers.append(
                Customer(
                    name=f"{first} {last}",
                    email=f"{first}.{last}.{index}@{domain}".lower(),
                    phone=f"+4520{index:06d}" if rng.random() < 0.6 else None,
                    organization=organization,
                    is_vip=rng.random() < 0.05,
                )
            )
        customers = Customer.objects.bulk_create(customers, batch_size=BATCH)
        CustomerHandle.objects.bulk_create(
            CustomerHandle(
                customer=customer,
                channel=Channel.SOCIAL,
                platform=rng.choice(["twitter", "facebook"]),
                handle="@" + customer.name.replace(" ", "").lower() + str(index),
            )
            for index, customer in enumerate(customers)
            if rng.random() < 0.2
        )
        return customers

    def _macros_and_routing(self) -> None:
        for team_name, name, body, status in MACROS:
            Macro.objects.create(
                name=name, body=body, team=self.teams[team_name] if team_name else None, set_status=status
            )
        for position, (name, condition, team_name) in enumerate(ROUTING_RULES, start=1):
            RoutingRule.objects.create(
                name=name, position=position * 10, set_team=self.teams[team_name], **condition
            )
        Team.objects.filter(name=DEFAULT_TEAM).update(is_default=True)
        WebFormTopic.objects.bulk_create(
            WebFormTopic(name=name, team=self.teams[team_name], position=position)
            for position, (name, team_name) in enumerate(WEB_FORM_TOPICS)
        )

    # --- tickets ---

    def _write_tickets(self, stories: list[plot.Story], now: datetime) -> list[int]:
        """Tickets, messages, audit trail, metric columns and phone calls as of `now`, in bulk."""
        rows, lives = [], []
        for story in stories:
            life = _Life(
                story,
                now,
                self.customers[story.customer],
                self.agents[story.team][story.agent],
                self.business_seconds["always" if story.team == VIP_TEAM else "business"],
            )
            lives.append(life)
            rows.append(life.ticket(self.teams[story.team]))
        tickets = Ticket.objects.bulk_create(rows, batch_size=BATCH)
        for ticket in tickets:
            ticket.reference = f"{settings.HELPDESK_REFERENCE_PREFIX}-{1000 + ticket.pk}"
        Ticket.objects.bulk_update(tickets, ["reference"], batch_size=BATCH)
        self._say(f"{len(tickets)} tickets over {len({t.created_at.date() for t in tickets})} days")
        messages, audit, metrics, calls, tag_links = [], [], [], [], []
        abandoned = Tag.objects.get_or_create(name="abandoned-call")[0]
        for ticket, life in zip(tickets, lives, strict=True):
            for message in life.messages:
                message.ticket = ticket
            messages += life.messages
            for entry in life.audit:
                entry.ticket = ticket
            audit += life.audit
            metrics.append(TicketMetrics(ticket=ticket, **life.metrics))
            for call in life.calls:
                call.ticket = ticket
            calls += life.calls
            if "abandoned-call" in life.story.tags:
                tag_links.append(Ticket.tags.through(ticket=ticket, tag=abandoned))
        Message.objects.bulk_create(messages, batch_size=BATCH)
        AuditEntry.objects.bulk_create(audit, batch_size=BATCH)
        TicketMetrics.objects.bulk_create(metrics, batch_size=BATCH)
        PhoneCall.objects.bulk_create(calls, batch_size=BATCH)
        Ticket.tags.through.objects.bulk_create(tag_links, batch_size=BATCH)
        # A customer is one since their first contact (the rows were written today).
        first_contact = (
            Ticket.objects.filter(customer=OuterRef("pk")).order_by("created_at").values("created_at")
        )
        Customer.objects.update(created_at=Coalesce(Subquery(first_contact[:1]), F("created_at")))
        self._say(f"{len(messages)} messages, {len(audit)} audit entries, {len(calls)} phone calls")
        return [ticket.pk for ticket in tickets]

    def _publish_answers(self, now: datetime) -> None:
        """A few public answers a lead wrote from solved tickets, so the support form has some to offer."""
        lead = get_user_model().objects.get(username=DEMO_LEAD[0])
        for subject, (title, body) in PUBLISHED_ANSWERS.items():
            ticket = (
                Ticket.objects.filter(subject=subject, status=Status.CLOSED).order_by("-closed_at").first()
            )
            if ticket is not None:
                published_answer_save(
                    ticket=ticket, title=title, body=body, is_published=True, actor=lead, now=now
                )
        self._say(f"{PublishedAnswer.objects.count()} public answers for the support form")

    # --- surveys ---

    def _write_surveys(
        self, rng: random.Random, stories: list[plot.Story], ids: list[int], now: datetime
    ) -> None:
        """An invitation an hour after each solve (one per customer per 30 days), a third of them answered."""
        for team_name, spec in TEAMS.items():
            SurveySettings.objects.create(team=self.teams[team_name], kinds=spec[2])
        last_surveyed: dict[int, datetime] = {}
        invitations, answers = [], []
        for story, pk in sorted(zip(stories, ids, strict=True), key=lambda pair: pair[0].created_at):
            solves = [
                e.at for e in plot.until(story, now) if e.kind == plot.AGENT and e.status == Status.SOLVED
            ]
            if not solves or solves[0] + timedelta(hours=1) > now:
                continue
            send_at = solves[0] + timedelta(hours=1)
            kinds = TEAMS[story.team][2]
            common = {
                "ticket_id": pk,
                "team": self.teams[story.team],
                "agent": self.agents[story.team][story.agent],
                "channel": story.channel,
                "priority": story.priority,
                "kinds": kinds,
                "send_at": send_at,
                "created_at": solves[0],
            }
            previous = last_surveyed.get(story.customer)
            if previous is not None and send_at - previous < timedelta(days=30):
                invitations.append(
                    SurveyInvitation(
                        **common,
                        state=SurveyInvitation.State.SKIPPED,
                        skip_reason=SurveyInvitation.SkipReason.THROTTLED,
                        finished_at=send_at,
                    )
                )
                continue
            last_surveyed[story.customer] = send_at
            answered_at = send_at + timedelta(minutes=rng.randint(5, 2880))
            answered = rng.random() < RESPONSE_RATE and answered_at <= now
            invitation = SurveyInvitation(
                **common,
                state=SurveyInvitation.State.SENT,
                sent_at=send_at,
                expires_at=send_at + timedelta(days=28),
                attempts=1,
                responded_at=answered_at if answered else None,
            )
            invitations.append(invitation)
            if answered:
                for kind in kinds if rng.random() < 0.7 else kinds[:1]:
                    weights = ANSWER_WEIGHTS[kind]
                    score = rng.choices(list(weights), weights=list(weights.values()))[0]
                    answers.append((invitation, kind, score, rng.choice(SURVEY_COMMENTS), answered_at))
        SurveyInvitation.objects.bulk_create(invitations, batch_size=BATCH)
        responses = SurveyResponse.objects.bulk_create(
            [
                SurveyResponse(
                    invitation=invitation,
                    kind=kind,
                    score=score,
                    comment=comment,
                    source=SurveyResponse.Source.WEB,
                    is_poor=scoring.is_poor_answer(kind, score),
                    created_at=at,
                    updated_at=at,
                )
                for invitation, kind, score, comment, at in answers
            ],
            batch_size=BATCH,
        )
        SurveyResponseChange.objects.bulk_create(
            [
                SurveyResponseChange(
                    response=response,
                    score=response.score,
                    comment=response.comment,
                    source=response.source,
                    created_at=response.created_at,
                )
                for response in responses
            ],
            batch_size=BATCH,
        )
        sent = sum(1 for i in invitations if i.state == SurveyInvitation.State.SENT)
        self._say(
            f"{sent} surveys sent, {len({a[0].pk for a in answers})} answered ({len(responses)} answers)"
        )

    # --- SLA ---

    def _replay_sla(self, ids: list[int], now: datetime) -> None:
        """The SLA engine replays each ticket's history into clocks; one sweep then fires what is due now."""
        rules, calendars = sla_selectors.active_policy_rules(), {}
        step = max(1, len(ids) // 10)
        with transaction.atomic():
            for index, pk in enumerate(ids, start=1):
                sla_services.sla_ticket_replay(ticket=Ticket(pk=pk), rules=rules, calendars=calendars)
                if index % step == 0 or index == len(ids):
                    self._say(f"SLA clocks: {index}/{len(ids)} tickets ({index * 100 // len(ids)}%)")
            # What this sweep finds came due while nobody was watching the demo: recorded, never
            # notified (no bell entries, no email, no webhooks), see `sla_sweep`.
            sla_services.sla_sweep(now=now, live=False)

    def _summary(self, now: datetime) -> str:
        unsolved = Ticket.objects.filter(status__in=transitions.UNSOLVED)
        breached = sla_selectors.tickets_breached(unsolved, now).count()
        soon = (
            sla_selectors.tickets_breaching_within(unsolved, 60, now)
            .exclude(pk__in=sla_selectors.tickets_breached(unsolved, now).values("pk"))
            .count()
        )
        statuses = dict(Ticket.objects.order_by().values_list("status").annotate(n=Count("pk")))
        clocks = SlaClock.objects.filter(state=ClockState.BREACHED).count()
        by_status = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
        return (
            f"Demo ready: {sum(statuses.values())} tickets ({by_status}); "
            f"{unsolved.count()} unsolved, {breached} of them breached, {soon} breaching within the hour; "
            f"{clocks} breached clocks in the history. Agents log in with password {DEMO_AGENT_PASSWORD!r}."
        )


# The per-ticket columns of time spent in statuses, calendar and business (see `tickets.services`).
STATUS_TIME_TOTALS = sorted(
    f"{column}{unit}"
    for column in {column for columns in STATUS_TIME_COLUMNS.values() for column in columns}
    for unit in ("_seconds", "_business_seconds")
)


class _Life:
    """One story as rows, as of `now`: what the ticket services would have written, minus side effects."""

    def __init__(
        self,
        story: plot.Story,
        now: datetime,
        customer: Customer,
        agent,
        business_seconds: Callable[[datetime, datetime], int],
    ) -> None:
        self.story = story
        self.business_seconds = business_seconds
        self.messages: list[Message] = []
        self.audit: list[AuditEntry] = []
        self.calls: list[PhoneCall] = []
        self.metrics: dict[str, object] = {
            "customer_messages": 1,
            "agent_public_replies": 0,
            "reopens": 0,
            "team_stations": 1,  # every demo ticket is routed to a team when it arrives
            "assignee_stations": 0,
            **dict.fromkeys(STATUS_TIME_TOTALS, 0),
        }
        self.status = Status.NEW
        self.status_since = story.created_at
        self.assignee = None
        self.first_response_at = self.solved_at = self.closed_at = None
        self.reopen_count = 0
        created = story.created_at
        customer_label = f"customer {customer}"
        self.updated_at = created
        self._audit(
            created,
            AuditEntry.Action.CREATED,
            customer_label,
            details={"channel": story.channel, "priority": story.priority, "team": story.team},
        )
        self._message(
            created, Message.AuthorRole.CUSTOMER, story.body, customer=customer, label=customer_label
        )
        if story.tags:
            self._audit(created, AuditEntry.Action.TAG_ADDED, "phone", field="tags", new_value=story.tags[0])
        for call in story.calls:
            if call.started_at <= now:
                self.calls.append(
                    PhoneCall(
                        caller=customer.phone or "",
                        direction=call.direction,
                        queue_wait_seconds=call.queue_wait_seconds,
                        talk_seconds=call.talk_seconds,
                        # After-call work: about a fifth of the talk time, at most three minutes.
                        wrap_up_seconds=min(180, call.talk_seconds // 5),
                        outcome=call.outcome,
                        agent=agent if call.by_agent else None,
                        started_at=call.started_at,
                        created_at=call.started_at,
                    )
                )
        for event in plot.until(story, now):
            self.updated_at = event.at
            if event.kind == plot.ASSIGN:
                self.assignee = agent
                self.metrics["assignee_stations"] = 1
                self._audit(
                    event.at,
                    AuditEntry.Action.FIELD_CHANGED,
                    f"routing: team {story.team}",
                    field="assignee",
                    new_value=agent.get_username(),
                )
            elif event.kind == plot.NOTE:
                self._message(
                    event.at,
                    Message.AuthorRole.AGENT,
                    event.text,
                    user=agent,
                    visibility=Message.Visibility.INTERNAL,
                )
            elif event.kind == plot.CUSTOMER:
                self._message(
                    event.at, Message.AuthorRole.CUSTOMER, event.text, customer=customer, label=customer_label
                )
                self.metrics["customer_messages"] += 1
                if self.status in transitions.REOPENED_BY_CUSTOMER_REPLY:
                    self._status(event.at, Status.OPEN, customer_label)
            elif event.kind == plot.AGENT:
                self._message(event.at, Message.AuthorRole.AGENT, event.text, user=agent)
                self.metrics["agent_public_replies"] += 1
                if self.first_response_at is None:
                    self.first_response_at = event.at
                    self.metrics["first_response_seconds"] = int((event.at - created).total_seconds())
                    self.metrics["first_response_business_seconds"] = self.business_seconds(created, event.at)
                if self.status == Status.NEW and event.status is None:
                    self._status(event.at, Status.OPEN, agent.get_username())
                if event.status is not None and event.status != self.status:
                    self._status(event.at, event.status, agent.get_username())
            elif event.kind == plot.CLOSE and self.status == Status.SOLVED:
                self._status(event.at, Status.CLOSED, "auto-close")
        self.metrics["status_since"] = self.status_since

    def ticket(self, team: Team) -> Ticket:
        story = self.story
        return Ticket(
            subject=story.subject,
            customer_id=self.messages[0].author_customer.pk,
            channel=story.channel,
            priority=story.priority,
            team=team,
            assignee=self.assignee,
            status=self.status,
            created_at=story.created_at,
            updated_at=self.updated_at,
            first_response_at=self.first_response_at,
            solved_at=self.solved_at,
            closed_at=self.closed_at,
            reopen_count=self.reopen_count,
        )

    def _status(self, at: datetime, status: str, label: str) -> None:
        old = self.status
        transitions.check_transition(old, status)
        self.status = status
        # The time spent in the old status adds to its totals, as `tickets.services` counts it.
        seconds = int((at - self.status_since).total_seconds())
        business = self.business_seconds(self.status_since, at)
        for column in STATUS_TIME_COLUMNS.get(old, ()):
            self.metrics[f"{column}_seconds"] += seconds
            self.metrics[f"{column}_business_seconds"] += business
        self.status_since = at
        if status == Status.SOLVED:
            self.solved_at = at
            resolution = {
                "resolution_seconds": int((at - self.story.created_at).total_seconds()),
                "resolution_business_seconds": self.business_seconds(self.story.created_at, at),
            }
            self.metrics.update(resolution, solved_by=self.assignee)
            if "first_resolution_seconds" not in self.metrics:
                self.metrics["first_resolution_seconds"] = resolution["resolution_seconds"]
                self.metrics["first_resolution_business_seconds"] = resolution["resolution_business_seconds"]
        elif status == Status.CLOSED:
            self.closed_at = at
        if transitions.is_reopen(old, status):
            self.reopen_count += 1
            self.solved_at = None
            self.metrics.update(
                reopens=self.metrics["reopens"] + 1, resolution_seconds=None, resolution_business_seconds=None
            )
        self._audit(
            at, AuditEntry.Action.FIELD_CHANGED, label, field="status", old_value=old, new_value=status
        )

    def _message(
        self, at, role, text, *, customer=None, user=None, label="", visibility=Message.Visibility.PUBLIC
    ):
        message = Message(
            author_role=role,
            visibility=visibility,
            author_user=user,
            author_customer=customer,
            channel=self.story.channel,
            body_text=text,
            full_text=text,
            created_at=at,
        )
        self.messages.append(message)
        self._audit(
            at,
            AuditEntry.Action.MESSAGE_ADDED,
            label,
            user=user,
            new_value=message.get_visibility_display(),
            details={"author_role": role},
        )

    def _audit(
        self, at, action, label, *, user=None, field="", old_value="", new_value="", details=None
    ) -> None:
        self.audit.append(
            AuditEntry(
                action=action,
                actor=user,
                actor_label=label or (user.get_username() if user else "system"),
                field=field,
                old_value=old_value,
                new_value=new_value,
                details=details or {},
                created_at=at,
            )
        )
