"""Intake services for the web form and the chat, phone and social channels.

Each turns one arrival into a new ticket (then routes it) or a message on the conversation's open
ticket, in one transaction. Conversation keys, each within the integration key's scope (its team, else
the key): a chat's conversation id; a social platform and handle; a phone number within
HELPDESK_PHONE_THREAD_HOURS. See docs/intake-channels.md.
"""

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tickets import services, transitions
from tickets.customers import HandleInput, customer_get_or_create, normalize_phone
from tickets.exceptions import DomainError
from tickets.intake.acknowledgement import acknowledgement_queue
from tickets.intake.routing import ticket_route
from tickets.models import (
    Channel,
    Customer,
    ExternalMessage,
    IntegrationKey,
    Message,
    PhoneCall,
    Priority,
    Team,
    Ticket,
    WebFormTopic,
)
from tickets.services import AttachmentInput

ABANDONED_CALL_TAG = "abandoned-call"
KEY_PREFIX = "hdk_"


@dataclass(frozen=True)
class IntakeResult:
    ticket: Ticket
    created: bool
    messages_added: int = 0


def _subject_from(text: str, fallback: str) -> str:
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first_line:
        return fallback
    return first_line if len(first_line) <= 80 else first_line[:79].rstrip() + "…"


# --- web form ------------------------------------------------------------------------------------


@transaction.atomic
def intake_web_form(
    *,
    name: str,
    email: str,
    subject: str,
    message: str,
    attachments: Sequence[AttachmentInput] = (),
    topic: WebFormTopic | None = None,
    now: datetime | None = None,
) -> Ticket:
    """A ticket from the public support form; the customer gets an acknowledgement they can reply to.

    The topic the customer chose gives the team, unless a routing rule sets one."""
    now = now or timezone.now()
    customer = customer_get_or_create(email=email, name=name)
    ticket = services.ticket_create(
        subject=subject,
        customer=customer,
        channel=Channel.WEB,
        body_text=message,
        attachments=attachments,
        team=topic.team if topic else None,
        now=now,
    )
    reason = f"web form topic {topic.name!r}" if topic else "the team it arrived with"
    ticket = ticket_route(ticket=ticket, arrival_team_reason=reason, now=now)
    acknowledgement_queue(ticket=ticket, now=now)
    return ticket


# --- integration keys ----------------------------------------------------------------------------


def hash_key(key: str) -> str:
    # Keys are 256-bit random tokens, so a fast hash is enough (no dictionary to guess from) and
    # lets authentication look the key up by its hash in one indexed query.
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def integration_key_create(
    *, name: str, channel: str, default_team: Team | None = None, callback_url: str = ""
) -> tuple[IntegrationKey, str]:
    """A new key for an integration; returns the row and the key, which is never stored or shown again.

    `callback_url` is where agents' public replies to its conversations are POSTed (tickets/outbox/).
    """
    if channel not in {Channel.CHAT, Channel.PHONE, Channel.SOCIAL}:
        raise DomainError(f"Integration keys are for the chat, phone or social channel, not {channel!r}.")
    if IntegrationKey.objects.filter(name=name).exists():
        raise DomainError(f"An integration key named {name!r} exists; pick another name.")
    callback_url = callback_url.strip()
    if callback_url:
        try:
            URLValidator(schemes=["http", "https"])(callback_url)
        except ValidationError as error:
            raise DomainError(f"The callback URL {callback_url!r} is not an http(s) URL.") from error
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    integration = IntegrationKey.objects.create(
        name=name,
        channel=channel,
        key_prefix=key[:10],
        key_hash=hash_key(key),
        default_team=default_team,
        callback_url=callback_url,
    )
    return integration, key


def integration_key_authenticate(*, key: str, now: datetime | None = None) -> IntegrationKey | None:
    """The active key with this secret, its last use recorded; None for an unknown or inactive key."""
    integration = (
        IntegrationKey.objects.filter(key_hash=hash_key(key), is_active=True)
        .select_related("default_team")
        .first()
    )
    if integration is not None:
        now = now or timezone.now()
        IntegrationKey.objects.filter(pk=integration.pk).update(last_used_at=now)
        integration.last_used_at = now
    return integration


# --- conversations -------------------------------------------------------------------------------


def _open_conversation_ticket(*, channel: str, conversation_key: str) -> Ticket | None:
    """The newest unsolved ticket holding a message of this conversation (follows ticket merges)."""
    return (
        Ticket.objects.filter(
            status__in=transitions.UNSOLVED,
            messages__external__channel=channel,
            messages__external__conversation_key=conversation_key,
        )
        .order_by("-created_at", "-pk")
        .first()
    )


def _lock_customer(customer: Customer) -> None:
    """Serialise concurrent arrivals from one customer, so two messages of a conversation posted at
    the same moment find each other's ticket instead of opening two (on PostgreSQL each statement after
    the lock sees what the other transaction committed)."""
    list(Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk", flat=True))


def _record_external(
    *,
    message: Message,
    integration: IntegrationKey,
    channel: str,
    external_id: str,
    conversation_key: str,
    now: datetime,
) -> None:
    ExternalMessage.objects.create(
        message=message,
        integration=integration,
        channel=channel,
        external_id=external_id,
        conversation_key=conversation_key,
        created_at=now,
    )


def _conversation_scope(integration: IntegrationKey) -> str:
    """The namespace of an integration's conversation and message ids: its team's, else its own.

    Conversation ids come from the integrator's platform, so two teams' platforms can use the same ones;
    without a scope team A's key could append to (and learn the reference of) team B's conversation.
    """
    return f"team-{integration.default_team_id}" if integration.default_team_id else f"key-{integration.pk}"


def _agent_user(identifier: str, *, team_id: int | None = None) -> AbstractBaseUser | None:
    """The agent user with this username or email (of team `team_id` when given), if there is exactly one."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    users = get_user_model().objects.filter(
        Q(username__iexact=identifier) | Q(email__iexact=identifier), agent__isnull=False
    )
    if team_id is not None:
        users = users.filter(agent__teams=team_id)
    found = list(users[:2])
    return found[0] if len(found) == 1 else None


def _new_ticket(
    *,
    integration: IntegrationKey,
    customer: Customer,
    channel: str,
    subject: str,
    body_text: str = "",
    tags: Sequence[str] = (),
    now: datetime,
) -> Ticket:
    return services.ticket_create(
        subject=subject,
        customer=customer,
        channel=channel,
        body_text=body_text,
        team=integration.default_team,
        tags=tags,
        actor_label=f"integration {integration.name}",
        now=now,
    )


# --- chat ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatLine:
    author: str  # "customer" or "agent"
    text: str
    timestamp: datetime
    author_name: str = ""
    message_id: str = ""


@transaction.atomic
def intake_chat_transcript(
    *,
    integration: IntegrationKey,
    conversation_id: str,
    lines: Sequence[ChatLine],
    customer_name: str = "",
    customer_email: str | None = None,
    customer_handle: str | None = None,
    now: datetime | None = None,
) -> IntakeResult:
    """File a chat transcript: new lines go on the conversation's open ticket, or on a new one.

    A line is identified by (conversation id, its message id, else its position); re-posting a
    transcript adds only the lines not seen before.
    """
    now = now or timezone.now()
    conversation_id = conversation_id.strip()
    if not conversation_id or not lines:
        raise DomainError("A chat transcript needs a conversation id and at least one message.")
    if unknown := {line.author for line in lines} - {"customer", "agent"}:
        raise DomainError(f"Unknown chat author {sorted(unknown)!r}; expected 'customer' or 'agent'.")
    customer = customer_get_or_create(
        email=customer_email or None,
        handle=HandleInput(channel=Channel.CHAT, handle=customer_handle) if customer_handle else None,
        name=customer_name,
    )
    _lock_customer(customer)
    conversation_key = f"{_conversation_scope(integration)}/{conversation_id}"
    keyed = [
        (f"{conversation_key}:{line.message_id or f'#{index}'}", line) for index, line in enumerate(lines)
    ]
    seen = set(
        ExternalMessage.objects.filter(
            channel=Channel.CHAT, external_id__in=[key for key, _ in keyed]
        ).values_list("external_id", flat=True)
    )
    fresh = [(key, line) for key, line in keyed if key not in seen]
    if not fresh:
        # Every line was filed before: answer with the ticket that holds them.
        known = ExternalMessage.objects.filter(channel=Channel.CHAT, external_id=keyed[-1][0])
        return IntakeResult(
            ticket=known.select_related("message__ticket").get().message.ticket, created=False
        )
    ticket = _open_conversation_ticket(channel=Channel.CHAT, conversation_key=conversation_key)
    created = ticket is None
    if created:
        first_customer_text = next((line.text for _, line in fresh if line.author == "customer"), "")
        ticket = _new_ticket(
            integration=integration,
            customer=customer,
            channel=Channel.CHAT,
            subject=_subject_from(first_customer_text, f"Chat conversation {conversation_id}"),
            now=min(line.timestamp for _, line in fresh),
        )
    for key, line in fresh:
        # A key writes as the customer or as itself: a chat line names an agent of the key's own team only
        # (a key without a team names none), so it cannot put words in any agent's mouth.
        agent_user = (
            _agent_user(line.author_name, team_id=integration.default_team_id)
            if line.author == "agent" and integration.default_team_id
            else None
        )
        message = services.message_add(
            ticket=ticket,
            author_role=Message.AuthorRole.AGENT if line.author == "agent" else Message.AuthorRole.CUSTOMER,
            author_user=agent_user,
            author_customer=customer if line.author == "customer" else None,
            body_text=line.text,
            # An agent the helpdesk does not know keeps their name in the stored original.
            full_text=f"{line.author_name}: {line.text}"
            if line.author == "agent" and agent_user is None and line.author_name
            else line.text,
            channel=Channel.CHAT,
            # The agent's line was said in the chat itself; sending it back would echo it.
            deliver=False,
            now=line.timestamp,
        )
        ticket = message.ticket
        _record_external(
            message=message,
            integration=integration,
            channel=Channel.CHAT,
            external_id=key,
            conversation_key=conversation_key,
            now=now,
        )
    if created:
        ticket = ticket_route(ticket=ticket, received_at_address=integration.name, now=now)
    return IntakeResult(ticket=ticket, created=created, messages_added=len(fresh))


# --- social --------------------------------------------------------------------------------------


@transaction.atomic
def intake_social_message(
    *,
    integration: IntegrationKey,
    platform: str,
    handle: str,
    text: str,
    external_id: str,
    post_url: str = "",
    customer_name: str = "",
    timestamp: datetime | None = None,
    now: datetime | None = None,
) -> IntakeResult:
    """A social post or direct message: idempotent on (platform, external id); threads per platform+handle."""
    now = now or timezone.now()
    timestamp = timestamp or now
    platform = platform.strip().lower()
    handle_input = HandleInput(channel=Channel.SOCIAL, platform=platform, handle=handle)
    scope = _conversation_scope(integration)
    key = f"{scope}/{platform}:{external_id.strip()}"
    existing = ExternalMessage.objects.filter(channel=Channel.SOCIAL, external_id=key).select_related(
        "message__ticket"
    )
    if (found := existing.first()) is not None:
        return IntakeResult(ticket=found.message.ticket, created=False)
    customer = customer_get_or_create(handle=handle_input, name=customer_name)
    _lock_customer(customer)
    conversation_key = f"{scope}/{platform}:{handle.strip().lstrip('@').lower()}"
    body = f"{text}\n\n{post_url}" if post_url else text
    ticket = _open_conversation_ticket(channel=Channel.SOCIAL, conversation_key=conversation_key)
    created = ticket is None
    if created:
        ticket = _new_ticket(
            integration=integration,
            customer=customer,
            channel=Channel.SOCIAL,
            subject=_subject_from(text, f"{platform.title()} message from @{handle_input.handle}"),
            body_text=body,
            tags=[platform],
            now=timestamp,
        )
        message = ticket.messages.get()
    else:
        message = services.message_add(
            ticket=ticket,
            author_role=Message.AuthorRole.CUSTOMER,
            author_customer=customer,
            body_text=body,
            channel=Channel.SOCIAL,
            now=timestamp,
        )
        ticket = message.ticket
    _record_external(
        message=message,
        integration=integration,
        channel=Channel.SOCIAL,
        external_id=key,
        conversation_key=conversation_key,
        now=now,
    )
    if created:
        ticket = ticket_route(ticket=ticket, received_at_address=integration.name, now=now)
    return IntakeResult(ticket=ticket, created=created, messages_added=1)


# --- phone ---------------------------------------------------------------------------------------


@transaction.atomic
def intake_phone_call(
    *,
    integration: IntegrationKey,
    caller: str,
    outcome: str,
    started_at: datetime,
    queue_wait_seconds: int = 0,
    talk_seconds: int = 0,
    wrap_up_seconds: int = 0,
    direction: str = PhoneCall.Direction.INBOUND,
    agent: str = "",
    notes: str = "",
    customer_name: str = "",
    external_id: str | None = None,
    now: datetime | None = None,
) -> IntakeResult:
    """Record a call and file it: on the caller's open phone ticket from the last N hours, or a new ticket.

    An abandoned call also makes (or lands on) a ticket, tagged `abandoned-call`, so someone calls back.
    Idempotent on the telephony system's call id when one is given.
    """
    now = now or timezone.now()
    if outcome not in PhoneCall.Outcome.values:
        raise DomainError(f"Unknown call outcome {outcome!r}; expected 'answered' or 'abandoned'.")
    if direction not in PhoneCall.Direction.values:
        raise DomainError(f"Unknown call direction {direction!r}; expected 'inbound' or 'outbound'.")
    # Call ids and caller threading are per scope (like chat and social conversations): another team's
    # key can neither re-find (and so read) nor append to this team's calls and tickets.
    scope = _conversation_scope(integration)
    if external_id and (
        call := PhoneCall.objects.filter(scope=scope, external_id=external_id)
        .select_related("ticket")
        .first()
    ):
        return IntakeResult(ticket=call.ticket, created=False)
    caller = normalize_phone(caller)
    customer = customer_get_or_create(phone=caller, name=customer_name)
    _lock_customer(customer)
    # As for chat lines: the answering agent is one of the key's team (a key without a team names none).
    agent_user = (
        _agent_user(agent, team_id=integration.default_team_id) if integration.default_team_id else None
    )
    abandoned = outcome == PhoneCall.Outcome.ABANDONED
    summary = _call_summary(
        caller=caller,
        outcome=outcome,
        direction=direction,
        wait=queue_wait_seconds,
        talk=talk_seconds,
        agent=agent_user or agent,
        notes=notes,
    )
    since = started_at - timedelta(hours=settings.HELPDESK_PHONE_THREAD_HOURS)
    ticket = (
        Ticket.objects.filter(
            channel=Channel.PHONE,
            customer=customer,
            status__in=transitions.UNSOLVED,
            phone_calls__scope=scope,
            phone_calls__started_at__gte=since,
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    created = ticket is None
    if created:
        verb = (
            "Missed call"
            if abandoned
            else ("Call to" if direction == PhoneCall.Direction.OUTBOUND else "Call from")
        )
        ticket = _new_ticket(
            integration=integration,
            customer=customer,
            channel=Channel.PHONE,
            subject=f"{verb} {customer.name or caller}",
            body_text=summary,
            tags=[ABANDONED_CALL_TAG] if abandoned else [],
            now=started_at,
        )
    else:
        ticket = services.message_add(
            ticket=ticket,
            author_role=Message.AuthorRole.CUSTOMER,
            author_customer=customer,
            body_text=summary,
            channel=Channel.PHONE,
            now=started_at,
        ).ticket
        if abandoned:
            ticket = services.ticket_add_tags(
                ticket=ticket, names=[ABANDONED_CALL_TAG], actor_label="phone", now=now
            )
    # The agent who took the call owns its follow-up; routing then keeps this assignee (or drops it
    # if a rule moves the ticket to a team the agent is not in).
    answered_by = agent_user if created and outcome == PhoneCall.Outcome.ANSWERED else None
    if answered_by is not None and (
        ticket.team_id is None or ticket.team.agents.filter(user=answered_by).exists()
    ):
        ticket = services.ticket_assign(
            ticket=ticket, assignee=answered_by, actor_label=f"integration {integration.name}", now=now
        )
    services.phone_call_record(
        ticket=ticket,
        external_id=external_id,
        scope=scope,
        caller=caller,
        direction=direction,
        queue_wait_seconds=queue_wait_seconds,
        talk_seconds=talk_seconds,
        wrap_up_seconds=wrap_up_seconds,
        outcome=outcome,
        agent=agent_user,
        started_at=started_at,
        notes=notes,
        now=now,
    )
    if created:
        ticket = ticket_route(ticket=ticket, received_at_address=integration.name, now=now)
    return IntakeResult(ticket=ticket, created=created, messages_added=1)


def _call_summary(
    *, caller: str, outcome: str, direction: str, wait: int, talk: int, agent: object, notes: str
) -> str:
    if outcome == PhoneCall.Outcome.ABANDONED:
        lines = [f"Missed {direction} call from {caller}: hung up after {wait} s in the queue."]
    else:
        lines = [f"Answered {direction} call with {caller}: {wait} s in the queue, {talk} s talking."]
    if agent:
        lines.append(f"Agent: {agent}")
    if notes:
        lines += ["", notes]
    return "\n".join(lines)


# --- tickets opened at the desk ------------------------------------------------------------------


@transaction.atomic
def ticket_open_for_customer(
    *,
    agent: AbstractBaseUser,
    customer: Customer,
    channel: str,
    team: Team,
    subject: str,
    message: str,
    priority: str = Priority.NORMAL,
    now: datetime | None = None,
) -> Ticket:
    """A ticket an agent opens on a customer's behalf (a phone call, a walk-in, an outbound contact).

    The agent holds it, and their first message is an ordinary public reply (`message_add`), so it is
    delivered like any reply: by email, whatever channel the contact came in on, when the customer has
    an address."""
    now = now or timezone.now()
    if not message.strip():
        raise DomainError("Write the first message to the customer.")
    ticket = services.ticket_create(
        subject=subject,
        customer=customer,
        channel=channel,
        priority=priority,
        team=team,
        assignee=agent,
        opened_by=agent,
        now=now,
    )
    services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent,
        body_text=message,
        channel=Channel.EMAIL if customer.email else channel,
        now=now,
    )
    return Ticket.objects.get(pk=ticket.pk)
