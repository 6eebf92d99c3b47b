"""Build a realistic demo data set through the domain services.

Deterministic (seeded random), and idempotent: when tickets exist it says so and changes nothing.
"""

import random
import sys
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from tickets import services
from tickets.models import (
    Agent,
    Channel,
    Customer,
    CustomerHandle,
    Message,
    Organization,
    PhoneCall,
    Priority,
    Skill,
    Status,
    Team,
    Ticket,
)

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
TEAMS = {
    "Billing": (
        ["billing", "refunds"],
        [
            (
                "Invoice {n} charged twice",
                "Hi, my card was charged twice for invoice {n}. Can you refund one of them?",
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
        [
            (
                "Cannot log in since the update",
                "Since yesterday's update the app says 'invalid session' every time.",
            ),
            (
                "API returns 502 on /orders",
                "Our integration gets 502 Bad Gateway on about 5% of calls to /orders.",
            ),
            (
                "Sync stuck at 87%",
                "The desktop sync has been stuck at 87% since this morning. Restarting did not help.",
            ),
            ("Two-factor codes not arriving", "I am not receiving the SMS codes for two-factor login."),
            (
                "Export to CSV is empty",
                "When I export the report for last month the CSV file only has headers.",
            ),
        ],
    ),
    "Sales": (
        ["pricing"],
        [
            (
                "Quote for {n} seats",
                "We are evaluating your product and need a quote for {n} seats with annual billing.",
            ),
            (
                "Upgrade to the Enterprise plan",
                "What would it take to move our account to the Enterprise plan?",
            ),
            ("Discount for non-profits?", "Do you offer a discount for registered non-profit organizations?"),
        ],
    ),
    "VIP Care": (
        ["networking", "api", "refunds"],
        [
            (
                "Urgent: production outage",
                "All our users are locked out of the dashboard. This is blocking our business.",
            ),
            (
                "Executive report not delivered",
                "The weekly executive report was not delivered to our board this week.",
            ),
            (
                "Contract renewal questions",
                "Our contract renews next month; I have a few questions about the terms.",
            ),
        ],
    ),
}
AGENT_REPLIES = (
    "Thanks for reaching out, {first}. I'm looking into this now and will update you shortly.",
    "Hi {first}, I've found the cause and applied a fix on our side. Could you check again?",
    "Hello {first}, could you send us a screenshot and the time it happened? That helps us narrow it down.",
    "Hi {first}, the refund has been issued and should appear on your statement within 5 business days.",
    "Thanks {first}, I've escalated this to our engineering team and will keep you posted.",
)
CUSTOMER_FOLLOW_UPS = (
    "Thanks, that worked!",
    "It is still happening, unfortunately. Screenshot attached.",
    "Any update on this?",
    "Here are the details you asked for: it happened around 10:15 this morning.",
)
INTERNAL_NOTES = (
    "Checked the logs: matches the known issue in the payment gateway.",
    "Customer is on the legacy plan; pricing exception approved by the lead.",
    "Waiting for engineering to confirm the fix is deployed.",
)
CHANNEL_WEIGHTS = {
    Channel.EMAIL: 45,
    Channel.WEB: 20,
    Channel.CHAT: 15,
    Channel.PHONE: 10,
    Channel.SOCIAL: 5,
    Channel.API: 5,
}
PRIORITY_WEIGHTS = {Priority.LOW: 20, Priority.NORMAL: 55, Priority.HIGH: 18, Priority.URGENT: 7}
DEMO_AGENT_PASSWORD = "demo-agent-pass"


class Command(BaseCommand):
    help = "Create demo teams, agents, customers and a few thousand tickets over the last 90 days."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--tickets", type=int, default=2500, help="How many tickets to create (default 2500)."
        )
        parser.add_argument("--customers", type=int, default=300, help="How many customers (default 300).")
        parser.add_argument(
            "--days", type=int, default=90, help="Spread tickets over this many days (default 90)."
        )
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
        rng = random.Random(seed)
        now = timezone.now()
        with transaction.atomic():
            teams, agents_by_team = self._create_teams_and_agents(rng)
            customer_list = self._create_customers(rng, customers)
        self.stdout.write(
            f"Created {len(teams)} teams, {sum(map(len, agents_by_team.values()))} agents, "
            f"{len(customer_list)} customers."
        )
        step = max(1, tickets // 20)
        for index in range(tickets):
            with transaction.atomic():
                self._create_ticket(rng, now, days, teams, agents_by_team, customer_list)
            if (index + 1) % step == 0 or index + 1 == tickets:
                self.stdout.write(f"  tickets: {index + 1}/{tickets} ({(index + 1) * 100 // tickets}%)")
                self.stdout.flush()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {tickets} tickets. Agents log in with password {DEMO_AGENT_PASSWORD!r}."
            )
        )

    def _create_teams_and_agents(self, rng: random.Random) -> tuple[list[Team], dict[int, list]]:
        user_model = get_user_model()
        skills = {
            name: Skill.objects.get_or_create(name=name)[0]
            for name in ("billing", "refunds", "networking", "mobile", "api", "pricing", "german", "spanish")
        }
        teams: list[Team] = []
        agents_by_team: dict[int, list] = {}
        strategies = [
            Team.AssignmentStrategy.ROUND_ROBIN,
            Team.AssignmentStrategy.LEAST_LOADED,
            Team.AssignmentStrategy.QUEUE,
            Team.AssignmentStrategy.SKILL_BASED,
        ]
        used_names: set[str] = set()
        # Hash the shared demo password once: hashing is deliberately slow.
        password_hash = make_password(DEMO_AGENT_PASSWORD)
        for team_index, (team_name, (team_skills, _)) in enumerate(TEAMS.items()):
            slug = team_name.lower().replace(" ", "")
            team = Team.objects.create(
                name=team_name,
                email_address=f"{slug}@helpdesk.localhost",
                assignment_strategy=strategies[team_index % len(strategies)],
            )
            members = []
            for member_index in range(3 if team_name == "VIP Care" else 4):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                username = f"{first}.{last}".lower()
                while username in used_names:
                    username += str(rng.randint(0, 9))
                used_names.add(username)
                user = user_model.objects.create(
                    username=username,
                    email=f"{username}@helpdesk.localhost",
                    password=password_hash,
                    first_name=first,
                    last_name=last,
                    is_staff=True,
                )
                agent = Agent.objects.create(
                    user=user, capacity=rng.choice([15, 20, 25]), is_available=rng.random() > 0.1
                )
                agent.teams.add(team)
                agent.skills.add(
                    *[skills[name] for name in rng.sample(team_skills, k=min(2, len(team_skills)))]
                )
                if rng.random() < 0.3:
                    agent.skills.add(skills[rng.choice(["german", "spanish"])])
                if member_index == 0:
                    team.lead = user
                    team.save(update_fields=["lead"])
                members.append(user)
            teams.append(team)
            agents_by_team[team.pk] = members
        return teams, agents_by_team

    def _create_customers(self, rng: random.Random, count: int) -> list[Customer]:
        organizations = [
            Organization.objects.create(name=name, email_domains=[name.split()[0].lower() + ".example"])
            for name in COMPANIES
        ]
        customers = []
        for index in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            organization = rng.choice(organizations) if rng.random() < 0.6 else None
            domain = (
                organization.email_domains[0]
                if organization
                else rng.choice(["mail.example", "inbox.example"])
            )
            customer = Customer.objects.create(
                name=f"{first} {last}",
                email=f"{first}.{last}.{index}@{domain}".lower(),
                phone=f"+4520{index:06d}" if rng.random() < 0.5 else None,
                organization=organization,
                is_vip=rng.random() < 0.05,
            )
            if rng.random() < 0.2:
                CustomerHandle.objects.create(
                    customer=customer,
                    channel=Channel.SOCIAL,
                    platform=rng.choice(["twitter", "facebook"]),
                    handle=f"@{first.lower()}{last.lower()}{index}",
                )
            customers.append(customer)
        return customers

    def _record_call(self, rng: random.Random, ticket: Ticket, started_at, answered_by) -> None:
        """The call behind a phone ticket: mostly answered (by any agent of the team), some abandoned."""
        abandoned = rng.random() < 0.1
        services.phone_call_record(
            ticket=ticket,
            caller=ticket.customer.phone or "+4520000000",
            outcome=PhoneCall.Outcome.ABANDONED if abandoned else PhoneCall.Outcome.ANSWERED,
            agent=None if abandoned else answered_by,
            queue_wait_seconds=rng.randint(1, 120) if abandoned else int(rng.expovariate(1 / 25)),
            talk_seconds=0 if abandoned else rng.randint(60, 900),
            wrap_up_seconds=0 if abandoned else rng.randint(0, 180),
            started_at=started_at,
            now=started_at,
        )

    def _create_ticket(self, rng: random.Random, now, days: int, teams, agents_by_team, customers) -> None:
        customer = rng.choice(customers)
        team = next(t for t in teams if t.name == "VIP Care") if customer.is_vip else rng.choice(teams[:3])
        subject_template, body_template = rng.choice(TEAMS[team.name][1])
        number = rng.randint(1000, 99999)
        channel = rng.choices(list(CHANNEL_WEIGHTS), weights=list(CHANNEL_WEIGHTS.values()))[0]
        priority = rng.choices(list(PRIORITY_WEIGHTS), weights=list(PRIORITY_WEIGHTS.values()))[0]
        # Skew creation towards recent days, as real volume grows; keep within the window.
        age = timedelta(seconds=int(days * 86400 * (rng.random() ** 1.3)))
        created = now - age
        ticket = services.ticket_create(
            subject=subject_template.format(n=number),
            customer=customer,
            channel=channel,
            priority=priority,
            team=team,
            body_text=body_template.format(n=number),
            now=created,
        )
        agent = rng.choice(agents_by_team[team.pk])
        if channel == Channel.PHONE:
            self._record_call(rng, ticket, created, answered_by=rng.choice(agents_by_team[team.pk]))
        clock = created
        age_hours = age.total_seconds() / 3600

        def later(low_minutes: int, high_minutes: int):
            nonlocal clock
            clock = min(
                now - timedelta(minutes=1), clock + timedelta(minutes=rng.randint(low_minutes, high_minutes))
            )
            return clock

        # Recent tickets are often still untouched; some older unanswered ones breach their targets.
        if age_hours < 2 or rng.random() < 0.06:
            return
        ticket = services.ticket_assign(ticket=ticket, assignee=agent, actor=agent, now=later(1, 90))
        first = customer.first_name or "there"
        if rng.random() < 0.2:
            services.message_add(
                ticket=ticket,
                deliver=False,
                author_role=Message.AuthorRole.AGENT,
                author_user=agent,
                visibility=Message.Visibility.INTERNAL,
                body_text=rng.choice(INTERNAL_NOTES),
                now=later(5, 60),
            )
        rounds = rng.choices([1, 2, 3], weights=[55, 30, 15])[0]
        for round_index in range(rounds):
            if clock >= now - timedelta(minutes=5):
                return
            last_round = round_index == rounds - 1
            solve = last_round and age_hours > 12 and rng.random() < 0.85
            services.message_add(
                ticket=ticket,
                deliver=False,
                author_role=Message.AuthorRole.AGENT,
                author_user=agent,
                body_text=rng.choice(AGENT_REPLIES).format(first=first),
                new_status=Status.SOLVED if solve else (Status.PENDING if rng.random() < 0.4 else None),
                now=later(10, 600),
            )
            if solve:
                break
            if clock < now - timedelta(hours=1):
                services.message_add(
                    ticket=ticket,
                    deliver=False,
                    author_role=Message.AuthorRole.CUSTOMER,
                    body_text=rng.choice(CUSTOMER_FOLLOW_UPS),
                    now=later(30, 1440),
                )
        ticket.refresh_from_db()
        if ticket.status == Status.SOLVED and rng.random() < 0.05 and clock < now - timedelta(hours=2):
            services.message_add(
                ticket=ticket,
                deliver=False,
                author_role=Message.AuthorRole.CUSTOMER,
                body_text="Sorry, the problem is back again.",
                now=later(60, 600),
            )
