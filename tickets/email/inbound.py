"""Email intake: store the raw message first, then parse, classify, thread and turn it into ticket messages.

Every source (IMAP polling, provider webhooks, `ingest_mail` files) calls `inbound_message_store`, which
only saves the bytes (in the `inbound_raw` storage, see `tickets.email.raw_mail`); `inbound_message_process`
(run per message by the Celery task `tickets_process_inbound_message`, or synchronously by the command) does
the rest. A message that cannot be processed is quarantined with its error and can be retried; nothing is
dropped silently.
"""

import contextlib
import hashlib
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from tickets import hooks, services
from tickets.config_cache import config_snapshot
from tickets.customers import customer_get_or_create
from tickets.email.addresses import own_addresses
from tickets.email.bounces import bounce_record
from tickets.email.outbound import ticket_send_auto_ack
from tickets.email.raw_mail import RawMailUnavailable, raw_mail_read, raw_mail_save
from tickets.email.services import email_ticket_open
from tickets.enqueue import enqueue as enqueue_task
from tickets.intake.routing import team_for_address, ticket_route
from tickets.mail.classify import Classification, classify, is_from_own_address, normalize_address
from tickets.mail.forwards import is_forward_subject, split_forward
from tickets.mail.parsing import EmailParseError, ParsedEmail, parse_email
from tickets.mail.quotes import extract_reply, extract_reply_html
from tickets.mail.threading import (
    partition_conversations,
    reference_from_message_id,
    reference_from_subject,
    reply_token_from_address,
)
from tickets.models import (
    Channel,
    InboundMessage,
    Mailbox,
    Message,
    Team,
    Ticket,
    TicketParticipant,
)

logger = logging.getLogger(__name__)

State = InboundMessage.State

# The outcome classes `ingest_mail --json` counts; every stored message ends in exactly one.
PROCESS_TASK = "tickets.tasks.tickets_process_inbound_message"
PROCESS_MANY_TASK = "tickets.tasks.tickets_process_inbound_messages"
OUTCOMES = ("created", "threaded", "duplicates", "ignored", "quarantined")


def content_hash(raw: bytes) -> str:
    # Same normalisation as the parser: a message re-delivered with other line endings is the same message.
    return hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()


def inbound_outcome(inbound: InboundMessage) -> str:
    if inbound.state == State.PROCESSED:
        return "created" if inbound.created_ticket else "threaded"
    if inbound.state == State.DUPLICATE:
        return "duplicates"
    if inbound.state == State.IGNORED:
        return "ignored"
    return "quarantined"


# --- store ---------------------------------------------------------------------------------------


@transaction.atomic
def inbound_message_store(
    *,
    raw: bytes,
    source: str,
    mailbox: Mailbox | None = None,
    received_for: str = "",
    origin: str = "",
    enqueue: bool = True,
    now: datetime | None = None,
) -> InboundMessage:
    """Save the raw bytes of one received message; with `enqueue`, process it in its own task on commit."""
    if isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    if not isinstance(raw, bytes):
        raise TypeError(f"raw must be bytes, not {type(raw).__name__}")
    if source not in InboundMessage.Source.values:
        raise ValueError(
            f"Unknown source {source!r}; expected one of {', '.join(InboundMessage.Source.values)}."
        )
    inbound = InboundMessage.objects.create(
        raw_key=raw_mail_save(raw),
        size=len(raw),
        source=source,
        mailbox=mailbox,
        received_for=(received_for or "")[:254],
        origin=origin[:500],
        received_at=now or timezone.now(),
        content_hash=content_hash(raw),
    )
    if enqueue:
        pk = inbound.pk
        # A broker outage must not turn a stored message into an error for its sender; the stored-message
        # sweep (inbound_messages_requeue_stored) enqueues it once the broker is back.
        transaction.on_commit(lambda: enqueue_task(PROCESS_TASK, pk))
    return inbound


@transaction.atomic
def inbound_messages_store(
    *,
    messages: list[tuple[str, bytes]],
    source: str,
    mailbox: Mailbox | None = None,
    now: datetime | None = None,
) -> list[InboundMessage]:
    """Save many received messages, given as (origin, raw bytes), in one transaction and one INSERT.

    The batch form of `inbound_message_store` (without enqueueing): `ingest_mail` and the IMAP poller
    commit a batch durably once, then process its messages.
    """
    if source not in InboundMessage.Source.values:
        raise ValueError(
            f"Unknown source {source!r}; expected one of {', '.join(InboundMessage.Source.values)}."
        )
    received_at = now or timezone.now()
    rows = []
    for origin, raw in messages:
        raw = bytes(raw)
        rows.append(
            InboundMessage(
                raw_key=raw_mail_save(raw),
                size=len(raw),
                source=source,
                mailbox=mailbox,
                origin=origin[:500],
                received_at=received_at,
                content_hash=content_hash(raw),
            )
        )
    return InboundMessage.objects.bulk_create(rows)


def inbound_messages_requeue_stored(
    *, now: datetime | None = None, batch_size: int | None = None
) -> list[int]:
    """Enqueue processing of messages stored but not handled within the grace period, oldest first.

    Their first enqueue was lost (broker down at commit) or their worker died; processing is idempotent
    (a row leaves STORED under a row lock), so enqueuing one twice is harmless.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.HELPDESK_INBOUND_REQUEUE_AFTER_SECONDS)
    pks = list(
        InboundMessage.objects.filter(state=State.STORED, received_at__lt=cutoff)
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)[: batch_size or settings.HELPDESK_INBOUND_REQUEUE_BATCH_SIZE]
    )
    for pk in pks:
        enqueue_task(PROCESS_TASK, pk)
    if pks:
        logger.warning("Re-enqueued %d stored inbound messages that were not processed in time", len(pks))
    return pks


# --- process -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Result:
    state: str
    reason: str = ""
    ticket: Ticket | None = None
    message: Message | None = None
    created_ticket: bool = False


def inbound_message_process(*, inbound: InboundMessage | int, now: datetime | None = None) -> InboundMessage:
    """Process one stored message exactly once; running it again (or concurrently) changes nothing.

    One transaction: the row is read (and locked) once, the configuration is read from the per-process
    cache at one version (`config_snapshot`), and the outcome is written with the message's headers in
    one UPDATE. On PostgreSQL the commit does not wait for the disk: the stored row, committed durably
    by `inbound_message_store`, is what must survive; if a crash loses a processed outcome, the row is
    still "stored" and `inbound_messages_requeue_stored` processes it again.
    """
    pk = inbound if isinstance(inbound, int) else inbound.pk
    now = now or timezone.now()
    with transaction.atomic(), config_snapshot(_commit_without_waiting_for_disk()):
        row = InboundMessage.objects.select_for_update().get(pk=pk)
        if row.state != State.STORED:
            return row
        headers: dict[str, str] = {}
        try:
            # The SLA clocks follow the ticket once, on its final state, not after each of its changes.
            with transaction.atomic(), hooks.ticket_changes_coalesced():
                result = _process(row=row, raw=raw_mail_read(row), now=now, headers=headers)
        except IntegrityError as error:
            # Another copy of the same message was processed concurrently and won the unique Message-ID.
            headers = {}
            result = _concurrent_duplicate(row) or _Result(
                state=State.QUARANTINED, reason=f"{type(error).__name__}: {error}"[:2000]
            )
        except Exception as error:  # anything unexpected quarantines the message: never lost
            logger.exception("Inbound message %s could not be processed; quarantined", pk)
            headers = {}
            result = _Result(state=State.QUARANTINED, reason=f"{type(error).__name__}: {error}"[:2000])
        outcome = {
            **headers,
            "state": result.state,
            "reason": result.reason,
            "ticket": result.ticket,
            "ticket_message": result.message,
            "created_ticket": result.created_ticket,
            "processed_at": now,
        }
        InboundMessage.objects.filter(pk=pk).update(**outcome, attempts=F("attempts") + 1)
        for name, value in outcome.items():
            setattr(row, name, value)
        row.attempts += 1  # the row is locked: this is the stored count
    return row


def _commit_without_waiting_for_disk() -> str:
    """SQL for `config_snapshot`'s version read that also makes this transaction commit without waiting
    for the disk (one round trip for both); '' where there is no such setting."""
    if connection.vendor == "postgresql":
        return "set_config('synchronous_commit', 'off', true)"
    return ""


@transaction.atomic
def inbound_message_retry(*, inbound: InboundMessage, now: datetime | None = None) -> InboundMessage:
    """Send a quarantined message through the pipeline again (e.g. after a parser fix)."""
    changed = InboundMessage.objects.filter(pk=inbound.pk, state=State.QUARANTINED).update(
        state=State.STORED, reason=""
    )
    if not changed:
        inbound.refresh_from_db()
        raise ValueError(
            f"Inbound message {inbound.pk} is {inbound.get_state_display().lower()}, not quarantined; "
            "only quarantined messages can be retried."
        )
    transaction.on_commit(lambda: enqueue_task(PROCESS_TASK, inbound.pk))
    inbound.refresh_from_db()
    return inbound


def _process(*, row: InboundMessage, raw: bytes, now: datetime, headers: dict[str, str]) -> _Result:
    """Turn the parsed message into its outcome; `headers` receives the columns the row records of it."""
    try:
        parsed = parse_email(raw)
    except EmailParseError as error:
        earlier = _earlier(row).filter(content_hash=row.content_hash).first()
        if earlier is not None:
            return _Result(state=State.DUPLICATE, reason=f"same content as inbound message {earlier.pk}")
        return _Result(state=State.QUARANTINED, reason=str(error))

    headers.update(
        message_id=(parsed.message_id or "")[:998],
        from_address=parsed.from_address[:254],
        subject=parsed.subject[:250],
    )
    duplicate = _duplicate_reason(row=row, parsed=parsed)
    if duplicate:
        return _Result(state=State.DUPLICATE, reason=duplicate)

    own = own_addresses()
    if is_from_own_address(parsed, own):
        return _Result(state=State.IGNORED, reason=f"sent from our own address {parsed.from_address}")

    classification = classify(parsed)
    if classification.is_bounce:
        return _handle_bounce(row=row, classification=classification, now=now)
    if classification.auto_generated:
        kind = "bulk" if classification.is_bulk else "auto-generated"
        return _Result(state=State.IGNORED, reason=f"{kind}: {'; '.join(classification.reasons)}")
    if not parsed.from_address or "@" not in parsed.from_address:
        return _Result(state=State.QUARANTINED, reason="the message has no usable From address")

    recipients = _recipients(parsed, row)
    body_text, full_text = _bodies(parsed)
    claimed = _claimed(parsed=parsed, recipients=recipients, body_text=body_text, now=now)
    if claimed is not None:
        return claimed

    customer = customer_get_or_create(email=parsed.from_address, name=parsed.from_name)
    attachments = _attachments(parsed)

    ticket = _thread(parsed=parsed, recipients=recipients, sender=parsed.from_address, own=own)
    if ticket is not None:
        message = services.message_add(
            ticket=ticket,
            author_role=Message.AuthorRole.CUSTOMER,
            author_customer=customer,
            channel=Channel.EMAIL,
            body_text=body_text,
            body_html=parsed.html,
            full_text=full_text,
            email_message_id=parsed.message_id,
            attachments=attachments,
            now=now,
        )
        created = message.ticket.pk != ticket.pk  # a reply to a closed ticket opens a follow-up
        _participants_add(ticket=message.ticket, parsed=parsed, own=own, now=now)
        if created:
            _route_and_acknowledge(ticket=message.ticket, row=row, recipients=recipients, now=now)
        return _Result(state=State.PROCESSED, ticket=message.ticket, message=message, created_ticket=created)

    if not (body_text or parsed.html or attachments):
        body_text = "(empty message)"  # the ticket still needs a message to carry the Message-ID
    received_at = _received_at(recipients)
    opened = email_ticket_open(
        subject=parsed.subject,
        customer=customer,
        team=_arrival_team(row=row, received_at_address=received_at),
        received_at_address=received_at,
        body_text=body_text,
        body_html=parsed.html,
        full_text=full_text,
        email_message_id=parsed.message_id,
        attachments=attachments,
        participants=_participants(parsed=parsed, own=own, now=now),
        now=now,
    )
    return _Result(state=State.PROCESSED, ticket=opened.ticket, message=opened.message, created_ticket=True)


def _claimed(*, parsed: ParsedEmail, recipients: list[str], body_text: str, now: datetime) -> _Result | None:
    """Offer the message to the apps built on the core (a reply to a survey email, say) before threading."""
    claim = hooks.claim_inbound_mail(
        hooks.InboundMail(
            from_address=parsed.from_address,
            recipients=tuple(recipients),
            replied_to_message_ids=(*parsed.in_reply_to, *parsed.references),
            message_id=parsed.message_id,
            body_text=body_text,
            received_at=now,
        )
    )
    if claim is None:
        return None
    ticket = Ticket.objects.filter(pk=claim.ticket_id).first() if claim.ticket_id else None
    return _Result(state=State.PROCESSED, reason=claim.reason, ticket=ticket)


def _concurrent_duplicate(row: InboundMessage) -> _Result | None:
    try:
        message_id = parse_email(raw_mail_read(row)).message_id
    except (EmailParseError, RawMailUnavailable):
        return None
    if message_id and Message.objects.filter(email_message_id=message_id).exists():
        return _Result(state=State.DUPLICATE, reason="Message-ID was stored by a concurrent delivery")
    return None


def _earlier(row: InboundMessage):
    # Rows still waiting in "stored" are not yet decided; the first of two copies to be processed wins.
    return InboundMessage.objects.exclude(pk=row.pk).exclude(state=State.STORED).order_by("pk")


def _duplicate_reason(*, row: InboundMessage, parsed: ParsedEmail) -> str:
    if parsed.message_id:
        # One round trip for both places a Message-ID can already be: an inbound message, a ticket message.
        earlier, on_ticket = _first_pks(
            _earlier(row).filter(message_id=parsed.message_id[:998]),
            Message.objects.filter(email_message_id=parsed.message_id).order_by(),
        )
        if earlier is not None:
            return f"Message-ID already received as inbound message {earlier}"
        if on_ticket is not None:
            return "Message-ID belongs to a message already on a ticket"
        return ""
    earlier = _earlier(row).filter(content_hash=row.content_hash).first()
    if earlier is not None:
        return f"no Message-ID and same content as inbound message {earlier.pk}"
    return ""


def _first_pks(*querysets: QuerySet) -> list[int | None]:
    """The first primary key of each queryset (None for an empty one), read in one statement."""
    parts, params = [], []
    for queryset in querysets:
        sql, part_params = queryset.values("pk")[:1].query.sql_with_params()
        parts.append(f"({sql})")
        params.extend(part_params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        return list(cursor.fetchone())


def _handle_bounce(*, row: InboundMessage, classification: Classification, now: datetime) -> _Result:
    result = bounce_record(delivery_status=classification.delivery_status, inbound=row, now=now)
    if result.message is None:
        return _Result(state=State.IGNORED, reason=f"bounce: {result.reason}"[:2000])
    return _Result(
        state=State.PROCESSED, reason=result.reason, ticket=result.message.ticket, message=result.note
    )


# --- threading -----------------------------------------------------------------------------------


def _thread(*, parsed: ParsedEmail, recipients: list[str], sender: str, own: frozenset[str]) -> Ticket | None:
    """Find the ticket a message belongs to, in the documented order (docs/email.md)."""
    prefix = settings.HELPDESK_REFERENCE_PREFIX
    ids = [i for i in (*parsed.in_reply_to, *reversed(parsed.references)) if i]
    if ids:
        known = (
            Message.objects.filter(email_message_id__in=ids[:200])
            .select_related("ticket")
            .order_by("-created_at")
            .first()
        )
        if known is not None:
            return _follow_merges(known.ticket)
        # Our Message-IDs encode the ticket reference: a reply to one we no longer store (e.g. the message
        # moved with a merge and was re-sent) still finds the ticket, under the subject rule's sender check.
        domains = {address.rpartition("@")[2] for address in own}
        references = {
            reference_from_message_id(i, domain, prefix=prefix) for i in ids[:50] for domain in domains
        }
        for reference in sorted(filter(None, references)):
            ticket = Ticket.objects.filter(reference=reference).select_related("customer").first()
            if ticket is not None:
                ticket = _follow_merges(ticket)
                if _may_write_by_reference(ticket=ticket, sender=sender):
                    return ticket
    for address in recipients:
        token = reply_token_from_address(address, own)
        if token:
            ticket = Ticket.objects.filter(reply_token=token.lower()).first()
            if ticket is not None:
                return _follow_merges(ticket)
    reference = reference_from_subject(parsed.subject, prefix)
    if reference:
        ticket = Ticket.objects.filter(reference=reference).select_related("customer").first()
        if ticket is not None:
            ticket = _follow_merges(ticket)
            if _may_write_by_reference(ticket=ticket, sender=sender):
                return ticket
    return None


def _may_write_by_reference(*, ticket: Ticket, sender: str) -> bool:
    # A reference in the subject is public (it is quoted, forwarded, guessed): only the ticket's customer
    # and its known participants may thread by it; anyone else gets a new ticket.
    sender = sender.lower()
    if (ticket.customer.email or "").lower() == sender:
        return True
    return TicketParticipant.objects.filter(ticket=ticket, email__iexact=sender).exists()


def _follow_merges(ticket: Ticket) -> Ticket:
    seen = {ticket.pk}
    while ticket.merged_into_id is not None and ticket.merged_into_id not in seen:
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
        seen.add(ticket.pk)
    return ticket


def _recipients(parsed: ParsedEmail, row: InboundMessage) -> list[str]:
    candidates = [
        row.received_for,
        *(parsed.header(name) or "" for name in ("delivered-to", "x-original-to", "envelope-to")),
        *parsed.to,
        *parsed.cc,
    ]
    result: list[str] = []
    for value in candidates:
        value = (value or "").strip().strip("<>").lower()
        if "@" in value and value not in result:
            result.append(value)
    return result


# --- helpers -------------------------------------------------------------------------------------


def _bodies(parsed: ParsedEmail) -> tuple[str, str]:
    """(visible new text, full original text); an all-quote reply keeps its full text visible.

    A forward keeps everything: the forwarded message is the request. Forward markers are never cut by
    reply stripping; an Outlook forward ("FW:" with a From/Sent/To/Subject block) looks like a reply, so
    its subject decides.
    """
    full_text = parsed.text
    if is_forward_subject(parsed.subject) and split_forward(full_text, subject=parsed.subject) is not None:
        return full_text.strip(), full_text
    visible = extract_reply(parsed.text) if parsed.text.strip() else extract_reply_html(parsed.html)
    return (visible.strip() or full_text.strip()), full_text


def _attachments(parsed: ParsedEmail) -> list[services.AttachmentInput]:
    limit = settings.HELPDESK_MAX_ATTACHMENT_BYTES
    return [
        services.AttachmentInput(
            filename=attachment.filename,
            content=attachment.content,
            content_type=attachment.content_type,
            content_id=attachment.content_id or "",
            is_inline=attachment.inline,
            rejected_reason=(
                f"larger than the {limit}-byte limit (HELPDESK_MAX_ATTACHMENT_BYTES)"
                if attachment.size > limit
                else ""
            ),
        )
        for attachment in parsed.attachments
    ]


def _participants_add(*, ticket: Ticket, parsed: ParsedEmail, own: frozenset[str], now: datetime) -> None:
    """Record the sender and the To/Cc addresses (not ours) as the ticket's participants, in one INSERT;
    addresses already on the ticket are skipped by its unique index (no read first)."""
    rows = _participants(parsed=parsed, own=own, now=now)
    for row in rows:
        row.ticket = ticket
    TicketParticipant.objects.bulk_create(rows, ignore_conflicts=True)


def _participants(*, parsed: ParsedEmail, own: frozenset[str], now: datetime) -> list[TicketParticipant]:
    """Unsaved participant rows for the sender and the To/Cc addresses that are not ours, once each."""
    entries = [(parsed.from_address, False)] + [(address, True) for address in (*parsed.to, *parsed.cc)]
    rows, seen = [], set()
    for address, is_cc in entries:
        address = (address or "").strip()[:254]
        lowered = address.lower()
        if "@" not in lowered or lowered in seen or is_from_own_address(lowered, own):
            continue
        rows.append(TicketParticipant(email=address, is_cc=is_cc, created_at=now))
        seen.add(lowered)
    return rows


def _received_at(recipients: list[str]) -> str:
    """The first recipient that is one of our addresses ('' if none is)."""
    own = own_addresses()  # cached: costs no query
    return next((r for r in recipients if normalize_address(r) in own), "")


def _arrival_team(*, row: InboundMessage, received_at_address: str) -> Team | None:
    """The team whose address received the message, else its mailbox's team."""
    team = team_for_address(normalize_address(received_at_address)) if received_at_address else None
    if team is None and row.mailbox_id is not None:
        team = row.mailbox.team
    return team


def _route_and_acknowledge(
    *, ticket: Ticket, row: InboundMessage, recipients: list[str], now: datetime
) -> Ticket:
    received_at = _received_at(recipients)
    ticket = route_new_email_ticket(
        ticket=ticket,
        received_at_address=received_at,
        default_team=row.mailbox.team if row.mailbox is not None else None,
        now=now,
    )
    ticket_send_auto_ack(ticket=ticket, now=now)
    return ticket


def route_new_email_ticket(
    *, ticket: Ticket, received_at_address: str, default_team: Team | None, now: datetime
) -> Ticket:
    """Route a new email ticket: the team whose address (or mailbox) received it, then the routing rules.

    The receiving team is where the ticket stands before the rules run, so a rule without a team action
    keeps it there; `ticket_route` then applies the first matching rule and the team's assignment strategy.
    """
    team = team_for_address(normalize_address(received_at_address)) if received_at_address else None
    team = team or default_team
    if team is not None and ticket.team_id != team.pk:
        ticket = services.ticket_assign(ticket=ticket, team=team, actor_label="email routing", now=now)
    return ticket_route(ticket=ticket, received_at_address=received_at_address, now=now)


# --- IMAP ----------------------------------------------------------------------------------------


class MailboxPollError(Exception):
    """Connecting to or reading an IMAP mailbox failed (a transient error; the next poll tries again)."""


def mailbox_poll(*, mailbox: Mailbox, now: datetime | None = None) -> int:
    """Fetch new messages of one IMAP mailbox: store each raw and enqueue it, then mark it seen or move it.

    The message is committed before it is flagged, so a crash in between means it is fetched again on the
    next poll and then recognised as a duplicate: mail is never lost.
    """
    from imapclient import IMAPClient
    from imapclient.exceptions import IMAPClientError

    now = now or timezone.now()
    stored: list[tuple[int, bytes]] = []
    try:
        context = ssl.create_default_context()
        client = IMAPClient(
            mailbox.host,
            port=mailbox.port,
            ssl=mailbox.tls_mode == Mailbox.TlsMode.SSL,
            ssl_context=context,
            timeout=settings.HELPDESK_IMAP_TIMEOUT,
        )
        try:
            if mailbox.tls_mode == Mailbox.TlsMode.STARTTLS:
                client.starttls(context)
            client.login(mailbox.username, mailbox.password)
            client.select_folder(mailbox.folder)
            move = mailbox.processed_action == Mailbox.ProcessedAction.MOVE
            if move and not client.folder_exists(mailbox.processed_folder):
                client.create_folder(mailbox.processed_folder)
            uids = client.search(["NOT", "DELETED"] if move else ["UNSEEN"])
            for uid in sorted(uids)[: settings.HELPDESK_IMAP_BATCH_SIZE]:
                fetched = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {})
                raw = fetched.get(b"BODY[]")
                if raw is None:
                    continue
                inbound = inbound_message_store(
                    raw=raw,
                    source=InboundMessage.Source.IMAP,
                    mailbox=mailbox,
                    origin=f"{mailbox.folder} UID {uid}",
                    enqueue=False,
                    now=now,
                )
                stored.append((inbound.pk, raw))
                if move:
                    client.move([uid], mailbox.processed_folder)
                else:
                    client.add_flags([uid], [b"\\Seen"])
        finally:
            with contextlib.suppress(IMAPClientError, OSError):
                client.logout()
    except (IMAPClientError, OSError, ssl.SSLError) as error:
        inbound_messages_enqueue(stored)  # what was stored before the error is processed all the same
        message = f"{type(error).__name__}: {error}"
        Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=now, last_error=message[:2000])
        raise MailboxPollError(f"Polling mailbox {mailbox.name} failed: {message}") from error
    inbound_messages_enqueue(stored)
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=now, last_error="")
    return len(stored)


def inbound_messages_enqueue(stored: list[tuple[int, bytes]], parts: int | None = None) -> None:
    """Enqueue the processing of stored messages (pk, raw bytes), in arrival order, as at most `parts`
    tasks (HELPDESK_INBOUND_PARTITIONS): every conversation goes to one task, which keeps its order, so
    a reply never overtakes the message it answers while unrelated conversations run in parallel.
    """
    if not stored:
        return
    lists = partition_conversations(
        [raw for _pk, raw in stored], parts or settings.HELPDESK_INBOUND_PARTITIONS
    )
    for indexes in lists:
        pks = [stored[i][0] for i in indexes]
        transaction.on_commit(lambda pks=pks: enqueue_task(PROCESS_MANY_TASK, pks))


def mailboxes_due() -> Iterable[int]:
    return Mailbox.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)
