"""The demo's story, told in pure Python (no Django): a healthy but busy support team over the last weeks.

Every ticket lives a whole life (arrival, first reply, rounds with the customer, solve, sometimes a
reopen, auto-close) simulated forward from its arrival; the seed then keeps only what happened before
`now`. The backlog is therefore whatever arrived recently and is still being worked, as in a real desk,
and it stays steady because arrivals are steady. Agents answer in their team's working time (business
hours, or around the clock for the VIP rota), drawn so that a few replies in a hundred miss their SLA
target; that, not a fudge, is where the demo's breaches come from.
"""

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tickets import transitions

CUSTOMER = "customer"
AGENT = "agent"
NOTE = "note"
ASSIGN = "assign"
CLOSE = "close"

# log-normal spread of an agent's reply time as a share of the SLA target: median 0.29 of the target,
# and P(reply later than the target) = P(Z > 1.56) ~ 6%.
REPLY_MU, REPLY_SIGMA = -1.25, 0.8


@dataclass
class Event:
    at: datetime
    kind: str
    status: str | None = None  # the status an agent reply is submitted with
    text: str = ""


@dataclass
class Call:
    started_at: datetime
    outcome: str  # "answered" or "abandoned"
    direction: str  # "inbound" or "outbound"
    queue_wait_seconds: int
    talk_seconds: int
    by_agent: bool


@dataclass
class Story:
    created_at: datetime
    team: str
    customer: int
    channel: str
    priority: str
    subject: str
    body: str
    agent: int  # index of the agent in the team who works it
    events: list[Event] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Cast:
    """What the story needs to know about the world the seed built."""

    teams: dict[str, int]  # team name -> number of agents
    vip_team: str
    topics: dict[str, list[tuple[str, str]]]  # team -> (subject, body) templates with {n}
    customers_vip: list[bool]
    customers_phone: list[bool]
    first_names: list[str]
    # (priority, metric) -> target seconds, per team rota: "business" or "always"
    targets: dict[str, dict[tuple[str, str], int]]
    # start, business seconds -> instant, per rota
    working_time: dict[str, Callable[[datetime, int], datetime]]


CHANNEL_WEIGHTS = {"email": 45, "web": 20, "chat": 15, "phone": 10, "social": 5, "api": 5}
PRIORITY_WEIGHTS = {"low": 20, "normal": 55, "high": 18, "urgent": 7}
TEAM_WEIGHTS = {"Billing": 30, "Technical Support": 50, "Sales": 20}
AGENT_REPLIES = (
    "Thanks for reaching out, {first}. I'm looking into this now and will update you shortly.",
    "Hi {first}, I've found the cause and applied a fix on our side. Could you check again?",
    "Hello {first}, could you send us a screenshot and the time it happened? That helps us narrow it down.",
    "Hi {first}, the refund has been issued and should appear on your statement within 5 business days.",
    "Thanks {first}, I've escalated this to our engineering team and will keep you posted.",
)
SOLVING_REPLIES = (
    "Hi {first}, this is fixed now; I'll mark the ticket solved. Just reply if anything is still off.",
    "Great to hear, {first}. I'm closing this one out; write back any time.",
    "Hi {first}, the change is live on your account. Marking this solved.",
)
HOLD_REPLIES = (
    "Hi {first}, we are waiting for our payment provider to confirm; I'll update you as soon as they do.",
    "Thanks {first}, engineering is deploying the fix this week. I'll keep this ticket on hold until then.",
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
CALL_SUMMARY = "Phone call: {body}"


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def arrivals(rng: random.Random, count: int, now: datetime, days: int) -> list[datetime]:
    """`count` arrival instants over the last `days` days: steady, fewer at weekends and at night (UTC-5)."""
    slots = []
    start = now - timedelta(days=days)
    for hour in range(days * 24):
        moment = start + timedelta(hours=hour)
        local_hour = (moment.hour - 5) % 24
        weekend = (moment - timedelta(hours=5)).weekday() >= 5
        weight = (1.0 if 8 <= local_hour < 19 else 0.25) * (0.35 if weekend else 1.0)
        slots.append((moment, weight))
    chosen = rng.choices([slot for slot, _ in slots], weights=[w for _, w in slots], k=count)
    moments = [slot + timedelta(seconds=rng.randrange(3600)) for slot in chosen]
    return sorted(moment for moment in moments if moment < now)


def _reply_delay(rng: random.Random, target_seconds: int) -> int:
    return max(60, int(target_seconds * math.exp(rng.gauss(REPLY_MU, REPLY_SIGMA))))


def _customer_delay(rng: random.Random) -> timedelta:
    # Customers answer in their own time: median sixteen hours, some after days.
    return timedelta(seconds=min(6 * 86400, max(300, int(16 * 3600 * math.exp(rng.gauss(0, 1.2))))))


def tell(
    rng: random.Random, cast: Cast, created_at: datetime, customer: int, number: int, priority: str = ""
) -> Story:
    """One ticket's whole life from `created_at`, possibly running past now (the seed cuts it there)."""
    team = cast.vip_team if cast.customers_vip[customer] else _weighted(rng, TEAM_WEIGHTS)
    rota = "always" if team == cast.vip_team else "business"
    later = cast.working_time[rota]
    targets = cast.targets[rota]
    subject, body = rng.choice(cast.topics[team])
    story = Story(
        created_at=created_at,
        team=team,
        customer=customer,
        channel=_weighted(rng, CHANNEL_WEIGHTS),
        priority=priority or _weighted(rng, PRIORITY_WEIGHTS),
        subject=subject.format(n=number),
        body=body.format(n=number),
        agent=rng.randrange(cast.teams[team]),
    )
    if story.channel == "phone" and not cast.customers_phone[customer]:
        story.channel = "chat"  # only customers with a number call
    first = cast.first_names[customer]
    events = story.events
    if story.channel == "phone":
        _phone_calls(rng, story)
    clock = later(created_at, _reply_delay(rng, targets[(story.priority, "first_response")]))
    events.append(Event(min(clock, later(created_at, rng.randint(60, 1800))), ASSIGN))
    if rng.random() < 0.2:
        events.append(
            Event(clock - timedelta(minutes=rng.randint(1, 5)), NOTE, text=rng.choice(INTERNAL_NOTES))
        )
    rounds = rng.choices([1, 2, 3, 4], weights=[35, 35, 20, 10])[0]
    for round_index in range(rounds):
        if round_index == rounds - 1:
            if rng.random() < 0.1:
                # Waiting on a third party (a carrier, the bank, engineering) before it can be solved.
                hold = rng.choice(HOLD_REPLIES).format(first=first)
                events.append(Event(clock, AGENT, transitions.ON_HOLD, hold))
                clock = later(clock + timedelta(hours=rng.randint(20, 96)), rng.randint(600, 7200))
            events.append(
                Event(clock, AGENT, transitions.SOLVED, rng.choice(SOLVING_REPLIES).format(first=first))
            )
            break
        status = transitions.PENDING if rng.random() < 0.85 else None
        events.append(Event(clock, AGENT, status, rng.choice(AGENT_REPLIES).format(first=first)))
        clock += _customer_delay(rng)
        events.append(Event(clock, CUSTOMER, text=rng.choice(CUSTOMER_FOLLOW_UPS)))
        clock = later(clock, _reply_delay(rng, targets[(story.priority, "next_response")]))
    if rng.random() < 0.05:
        clock += timedelta(hours=rng.randint(1, 48))
        events.append(Event(clock, CUSTOMER, text="Sorry, the problem is back again."))
        clock = later(clock, _reply_delay(rng, targets[(story.priority, "next_response")]))
        events.append(
            Event(clock, AGENT, transitions.SOLVED, rng.choice(SOLVING_REPLIES).format(first=first))
        )
    events.append(Event(clock + timedelta(days=4), CLOSE))
    events.sort(key=lambda event: event.at)
    return story


def just_arrived(rng: random.Random, cast: Cast, now: datetime) -> list[Story]:
    """The opening scene: VIP customers wrote minutes ago and nobody has answered yet, so when the demo
    opens, tickets are about to breach (on the 24/7 VIP policy, whatever the day and hour)."""
    vips = [index for index, vip in enumerate(cast.customers_vip) if vip]
    scene = []
    for minutes_ago, priority in ((12, "urgent"), (35, "high"), (100, "normal")):
        story = tell(rng, cast, now - timedelta(minutes=minutes_ago), rng.choice(vips), 0, priority)
        story.events = []  # the rest of its life happens after now
        scene.append(story)
    return scene


def _phone_calls(rng: random.Random, story: Story) -> None:
    """A phone ticket starts with an answered call; a few callers gave up in the queue first.

    A healthy phone queue: about 6 % of callers abandon, and most calls are picked up within seconds
    (an exponential wait averaging 13 s, so about 80 % within the usual 20 s service level)."""
    created = story.created_at
    if rng.random() < 0.06:
        story.calls.append(Call(created, "abandoned", "inbound", rng.randint(40, 420), 0, by_agent=False))
        story.tags.append("abandoned-call")
        story.calls.append(
            Call(
                created + timedelta(minutes=rng.randint(5, 50)),
                "answered",
                "outbound",
                0,
                rng.randint(120, 900),
                by_agent=True,
            )
        )
    else:
        story.calls.append(
            Call(
                created,
                "answered",
                "inbound",
                min(300, 3 + int(rng.expovariate(1 / 10))),
                rng.randint(120, 900),
                by_agent=True,
            )
        )
    story.body = CALL_SUMMARY.format(body=story.body)


def until(story: Story, now: datetime) -> list[Event]:
    """The events that have happened by `now`."""
    return [event for event in story.events if event.at <= now]
