"""Every write of the survey domain: scheduling, sending states, answers and poor-answer follow-up.

Lifecycle of an invitation (see docs/surveys.md):

    scheduled ──claim──► sending ──► sent            (answers until expires_at)
        │                   │ └────► scheduled        (SMTP error: retried later) / failed (gave up)
        │                   └──────► skipped          (a skip reason found at send time)
        ├──reopen──► cancelled
        └──────────► skipped                          (a skip reason found at solve time)

Transitions are compare-and-swap updates (``UPDATE ... WHERE state = old``), so a second sweep, a
retried task or two workers never send one invitation twice.
"""

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from surveys import scoring
from surveys.emails import survey_email
from surveys.exceptions import InvalidSurveyAnswer, InvalidSurveyToken, SurveyExpired
from surveys.models import (
    PoorAnswerAction,
    SurveyInvitation,
    SurveyResponse,
    SurveyResponseChange,
    SurveySettings,
)
from surveys.reply_parsing import ParsedReply, parse_survey_reply
from surveys.selectors import survey_settings_defaults, survey_settings_for
from surveys.tokens import invitation_from_token
from tickets import services as ticket_services
from tickets.exceptions import DomainError
from tickets.models import (
    AuditEntry,
    Customer,
    Message,
    Notification,
    OutboundDelivery,
    Status,
    Team,
    Ticket,
    WebhookEvent,
)
from tickets.outbox.services import outbox_email_enqueue
from tickets.reporting import rollup
from tickets.webhooks.services import webhooks_emit

logger = logging.getLogger(__name__)

State = SurveyInvitation.State
SkipReason = SurveyInvitation.SkipReason
ACTIVE_STATES = (State.SCHEDULED, State.SENDING)
SYSTEM = "surveys"
MAX_COMMENT = 10_000


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _audit(*, invitation: SurveyInvitation, now: datetime, new_value: str, **details: object) -> None:
    ticket_services.audit_record(
        ticket=Ticket(pk=invitation.ticket_id),
        action=AuditEntry.Action.SURVEY,
        now=now,
        actor_label=SYSTEM,
        field="survey",
        new_value=new_value,
        details={"invitation": invitation.pk, **details},
    )


# --- scheduling ----------------------------------------------------------------------------------


def _skip_reason(*, invitation: SurveyInvitation, ticket: Ticket, now: datetime) -> str:
    """Why this invitation must not be sent now, or "" to send it. One place for every rule."""
    config = survey_settings_for(team=invitation.team, channel=invitation.channel)
    if not config.enabled:
        return SkipReason.DISABLED
    if ticket.merged_into_id is not None:
        return SkipReason.MERGED
    if ticket.is_auto_generated:
        return SkipReason.AUTO_GENERATED
    if not (ticket.customer.email or "").strip():
        return SkipReason.NO_EMAIL
    if ticket.status not in (Status.SOLVED, Status.CLOSED):
        return SkipReason.REOPENED if ticket.status == Status.OPEN else SkipReason.NOT_SOLVED
    if config.throttle_days:
        cutoff = now - timedelta(days=config.throttle_days)
        recent = (
            SurveyInvitation.objects.filter(ticket__customer_id=ticket.customer_id)
            .exclude(pk=invitation.pk)
            .filter(Q(state=State.SENT, sent_at__gte=cutoff) | Q(state=State.SENDING))
        )
        if recent.exists():
            return SkipReason.THROTTLED
    return SkipReason.NONE


def _skip(*, invitation: SurveyInvitation, from_state: str, reason: str, now: datetime) -> bool:
    changed = SurveyInvitation.objects.filter(pk=invitation.pk, state=from_state).update(
        state=State.SKIPPED, skip_reason=reason, finished_at=now
    )
    if changed:
        invitation.state, invitation.skip_reason, invitation.finished_at = State.SKIPPED, reason, now
        _audit(
            invitation=invitation,
            now=now,
            new_value=f"not sent: {SkipReason(reason).label}",
            skip_reason=reason,
        )
    return bool(changed)


@transaction.atomic
def survey_on_ticket_solved(*, ticket: Ticket, now: datetime | None = None) -> SurveyInvitation | None:
    """Schedule the survey of a ticket that just became solved (called by tickets.services).

    Returns the new invitation (scheduled, or skipped with its reason recorded), or None when the
    ticket already has one in flight.
    """
    now = _now(now)
    if SurveyInvitation.objects.filter(ticket=ticket, state__in=ACTIVE_STATES).exists():
        return None
    config = survey_settings_for(team=ticket.team, channel=ticket.channel)
    invitation = SurveyInvitation.objects.create(
        ticket=ticket,
        team_id=ticket.team_id,
        agent_id=ticket.assignee_id,
        channel=ticket.channel,
        priority=ticket.priority,
        kinds=list(config.kinds),
        questions=dict(config.questions),
        send_at=now + config.delay,
        created_at=now,
    )
    reason = _skip_reason(invitation=invitation, ticket=ticket, now=now)
    if reason:
        _skip(invitation=invitation, from_state=State.SCHEDULED, reason=reason, now=now)
        return invitation
    _audit(
        invitation=invitation,
        now=now,
        new_value=f"scheduled for {invitation.send_at.isoformat()}",
        kinds=invitation.kinds,
    )
    return invitation


@transaction.atomic
def survey_on_ticket_reopened(*, ticket: Ticket, now: datetime | None = None) -> int:
    """Cancel the ticket's scheduled survey (called by tickets.services on solved -> open)."""
    now = _now(now)
    cancelled = 0
    for invitation in SurveyInvitation.objects.filter(ticket=ticket, state=State.SCHEDULED):
        changed = SurveyInvitation.objects.filter(pk=invitation.pk, state=State.SCHEDULED).update(
            state=State.CANCELLED, skip_reason=SkipReason.REOPENED, finished_at=now
        )
        if changed:
            cancelled += 1
            _audit(
                invitation=invitation, now=now, new_value="cancelled: ticket reopened", skip_reason="reopened"
            )
    return cancelled


# --- sending ---------------------------------------------------------------------------------------


def survey_invitation_claim(*, invitation_id: int, now: datetime | None = None) -> SurveyInvitation | None:
    """Claim a due invitation for sending (scheduled -> sending); None if someone else has it.

    The claim re-checks every skip reason under a lock on the customer row, so two invitations of
    one customer claimed at once cannot both pass the throttle.
    """
    now = _now(now)
    with transaction.atomic():
        changed = SurveyInvitation.objects.filter(
            pk=invitation_id, state=State.SCHEDULED, send_at__lte=now
        ).update(state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1)
        if not changed:
            return None
        invitation = SurveyInvitation.objects.select_related("ticket", "team").get(pk=invitation_id)
        ticket = invitation.ticket
        ticket.customer = Customer.objects.select_for_update().get(pk=ticket.customer_id)
        reason = _skip_reason(invitation=invitation, ticket=ticket, now=now)
        if reason:
            _skip(invitation=invitation, from_state=State.SENDING, reason=reason, now=now)
            return None
    return invitation


@transaction.atomic
def survey_invitation_dispatch(*, invitation_id: int, now: datetime | None = None) -> OutboundDelivery | None:
    """Claim a due invitation and queue its email in the outbox, in one transaction.

    The invitation stays `sending` until the outbox announces the outcome (receivers.py): sent, or
    failed with the reason. Retries, the lease and crash recovery are the outbox's. None when the
    invitation was not due, already handled, or skipped.
    """
    now = _now(now)
    invitation = survey_invitation_claim(invitation_id=invitation_id, now=now)
    if invitation is None:
        return None
    return outbox_email_enqueue(
        kind=OutboundDelivery.Kind.SURVEY,
        source_id=invitation.pk,
        email=survey_email(invitation),
        ticket=invitation.ticket,
        now=now,
    )


@transaction.atomic
def survey_invitation_mark_sent(
    *, invitation: SurveyInvitation, message_id: str, now: datetime | None = None
) -> bool:
    now = _now(now)
    config = survey_settings_for(team=invitation.team, channel=invitation.channel)
    expires_at = now + config.token_lifetime
    changed = SurveyInvitation.objects.filter(pk=invitation.pk, state=State.SENDING).update(
        state=State.SENT, sent_at=now, expires_at=expires_at, last_error=""
    )
    if changed:
        invitation.state, invitation.sent_at, invitation.expires_at = State.SENT, now, expires_at
        _audit(
            invitation=invitation,
            now=now,
            new_value=f"sent to {invitation.ticket.customer.email}",
            message_id=message_id,
            expires_at=expires_at.isoformat(),
        )
    return bool(changed)


@transaction.atomic
def survey_invitation_fail(*, invitation: SurveyInvitation, error: str, now: datetime | None = None) -> bool:
    """The outbox gave up on the email (recipient refused, or out of attempts): record why."""
    now = _now(now)
    changed = SurveyInvitation.objects.filter(pk=invitation.pk, state=State.SENDING).update(
        state=State.FAILED, last_error=error[:2000], finished_at=now
    )
    if changed:
        _audit(invitation=invitation, now=now, new_value="sending failed", error=error[:500])
    return bool(changed)


# --- answers -------------------------------------------------------------------------------------


def _lock_answerable(invitation: SurveyInvitation, now: datetime) -> SurveyInvitation:
    # Lock order ticket -> invitation, the same as the solve/reopen hooks, so they cannot deadlock.
    Ticket.objects.select_for_update().filter(pk=invitation.ticket_id).first()
    invitation = (
        SurveyInvitation.objects.select_for_update(of=("self",))
        .select_related("ticket", "ticket__customer", "team", "agent")
        .get(pk=invitation.pk)
    )
    if invitation.state != State.SENT:
        raise InvalidSurveyToken("This survey link is not valid: the survey was never sent.")
    if invitation.expires_at is None or now >= invitation.expires_at:
        raise SurveyExpired("This survey has closed; thank you for your interest.")
    return invitation


def _check_score(invitation: SurveyInvitation, kind: str, score: object) -> int:
    if kind not in invitation.kinds:
        raise InvalidSurveyAnswer(
            f"This survey does not ask {kind!r}; it asks {', '.join(invitation.kinds)}."
        )
    low, high = scoring.SCALES[kind]
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        raise InvalidSurveyAnswer(f"Choose a score from {low} to {high}.")
    return score


def _response_save(
    *,
    invitation: SurveyInvitation,
    kind: str,
    score: int | None,
    comment: str,
    source: str,
    needs_review: bool,
    raw_message_id: str,
    now: datetime,
) -> tuple[SurveyResponse, bool]:
    """Create or update the answer to one question; returns (response, changed)."""
    comment = comment.strip()[:MAX_COMMENT]
    is_poor = score is not None and scoring.is_poor_answer(kind, score)
    response = SurveyResponse.objects.filter(invitation=invitation, kind=kind).first()
    if response is None:
        response = SurveyResponse.objects.create(
            invitation=invitation,
            kind=kind,
            score=score,
            comment=comment,
            source=source,
            needs_review=needs_review,
            is_poor=is_poor,
            created_at=now,
            updated_at=now,
        )
    elif (response.score, response.comment, response.needs_review) == (score, comment, needs_review):
        return response, False
    else:
        response.score, response.comment, response.source = score, comment, source
        response.needs_review, response.is_poor, response.updated_at = needs_review, is_poor, now
        response.save(update_fields=["score", "comment", "source", "needs_review", "is_poor", "updated_at"])
    SurveyResponseChange.objects.create(
        response=response,
        score=score,
        comment=comment,
        source=source,
        raw_message_id=raw_message_id[:998],
        created_at=now,
    )
    if invitation.responded_at is None:
        invitation.responded_at = now
        SurveyInvitation.objects.filter(pk=invitation.pk, responded_at__isnull=True).update(responded_at=now)
    # The metrics rollup counts the answer on the day of its first answer and the invitation as answered
    # on the day it was sent; either can be a day already in the rollup.
    rollup.rollup_mark_instants([response.created_at, invitation.sent_at], now=now)
    _audit(
        invitation=invitation,
        now=now,
        new_value=f"{kind.upper()} answer: {'no score (needs review)' if score is None else score}",
        kind=kind,
        score=score,
        source=source,
    )
    _emit_answered(invitation=invitation, response=response, now=now)
    return response, True


def _emit_answered(*, invitation: SurveyInvitation, response: SurveyResponse, now: datetime) -> None:
    """`survey.answered` in the caller's transaction: the event exists exactly when the answer does."""
    webhooks_emit(
        WebhookEvent.SURVEY_ANSWERED,
        {
            "survey": {
                "invitation": invitation.pk,
                "ticket": invitation.ticket_id,
                "ticket_reference": invitation.ticket.reference,
                "team": invitation.team_id,
                "agent": invitation.agent_id,
                "channel": invitation.channel,
                "priority": invitation.priority,
            },
            "response": {
                "id": response.pk,
                "kind": response.kind,
                "score": response.score,
                "comment": response.comment,
                "source": response.source,
                "needs_review": response.needs_review,
                "is_poor": response.is_poor,
                "created_at": response.created_at,
                "updated_at": response.updated_at,
            },
        },
        team=invitation.team_id,
        now=now,
    )


@transaction.atomic
def survey_response_record(
    *,
    invitation: SurveyInvitation,
    answers: Mapping[str, int],
    comment: str = "",
    source: str = SurveyResponse.Source.WEB,
    now: datetime | None = None,
) -> list[SurveyResponse]:
    """Record (or change) the answers to a sent survey; the last answer counts.

    `answers` maps survey kind -> score; the comment belongs to the first question answered in the
    survey's order. Raises SurveyExpired after expiry, InvalidSurveyAnswer for a score off the scale.
    """
    now = _now(now)
    invitation = _lock_answerable(invitation, now)
    checked = {kind: _check_score(invitation, kind, score) for kind, score in answers.items()}
    if not checked:
        raise InvalidSurveyAnswer("Choose a score before sending your answer.")
    ordered = [kind for kind in invitation.kinds if kind in checked]
    responses = []
    for index, kind in enumerate(ordered):
        response, changed = _response_save(
            invitation=invitation,
            kind=kind,
            score=checked[kind],
            comment=comment if index == 0 else "",
            source=source,
            needs_review=False,
            raw_message_id="",
            now=now,
        )
        responses.append(response)
        if changed and response.is_poor:
            _poor_answer_follow_up(invitation=invitation, response=response, now=now)
    return responses


@transaction.atomic
def survey_reply_receive(
    *,
    invitation_token_or_invitation: str | SurveyInvitation,
    text: str,
    raw_message_id: str | None = None,
    sender: str | None = None,
    now: datetime | None = None,
) -> SurveyResponse:
    """Record a customer's emailed reply to a survey (called by email intake).

    A reply from an address other than the surveyed customer's (`sender`) is recorded unverified: kept
    as a comment flagged `needs_review`, never scored, because anyone can write to the reply address.

    `text` is the reply's visible text with quoted history stripped. It is read for the survey's first
    question: a clear score becomes the answer (the rest the comment); anything else is kept whole as
    a comment flagged `needs_review` (an earlier score stays). A reply never reopens or creates a
    ticket. The same `raw_message_id` twice records once. Raises InvalidSurveyToken or SurveyExpired.
    """
    now = _now(now)
    if isinstance(invitation_token_or_invitation, SurveyInvitation):
        invitation = invitation_token_or_invitation
    else:
        invitation = invitation_from_token(invitation_token_or_invitation)
    if not isinstance(text, str):
        raise InvalidSurveyAnswer("The reply text must be a string.")
    invitation = _lock_answerable(invitation, now)
    kind = invitation.primary_kind
    if raw_message_id:
        seen = SurveyResponse.objects.filter(
            invitation=invitation, kind=kind, changes__raw_message_id=raw_message_id[:998]
        ).first()
        if seen is not None:
            return seen
    parsed = parse_survey_reply(text, *scoring.SCALES[kind])
    customer_email = (invitation.ticket.customer.email or "").strip().lower()
    unverified = sender is not None and sender.strip().lower() != customer_email
    if unverified:
        parsed = ParsedReply(
            score=None, comment=f"[unverified: sent by {sender.strip()}] {text.strip()}", ambiguous=True
        )
    if parsed.ambiguous:
        existing = SurveyResponse.objects.filter(invitation=invitation, kind=kind).first()
        score = existing.score if existing is not None else None
        response, changed = _response_save(
            invitation=invitation,
            kind=kind,
            score=score,
            comment=parsed.comment,
            source=SurveyResponse.Source.EMAIL,
            needs_review=True,
            raw_message_id=raw_message_id or "",
            now=now,
        )
        return response
    response, changed = _response_save(
        invitation=invitation,
        kind=kind,
        score=parsed.score,
        comment=parsed.comment,
        source=SurveyResponse.Source.EMAIL,
        needs_review=False,
        raw_message_id=raw_message_id or "",
        now=now,
    )
    if changed and response.is_poor:
        _poor_answer_follow_up(invitation=invitation, response=response, now=now)
    return response


@transaction.atomic
def survey_response_mark_reviewed(*, response: SurveyResponse, now: datetime | None = None) -> SurveyResponse:
    """A person has read an unclear emailed reply (and set a score by hand if one was meant)."""
    now = _now(now)
    changed = SurveyResponse.objects.filter(pk=response.pk, needs_review=True).update(
        needs_review=False, updated_at=now
    )
    response.refresh_from_db()
    if changed:
        invitation = SurveyInvitation.objects.select_related("ticket").get(pk=response.invitation_id)
        _audit(invitation=invitation, now=now, new_value=f"{response.kind.upper()} reply reviewed")
        _emit_answered(invitation=invitation, response=response, now=now)
    return response


# --- closing the loop ----------------------------------------------------------------------------


def _poor_answer_follow_up(*, invitation: SurveyInvitation, response: SurveyResponse, now: datetime) -> None:
    """Notify the team lead and the agent (once per invitation), then apply the team's action once."""
    ticket = invitation.ticket
    recipients: list[AbstractBaseUser] = []
    for user in (invitation.team.lead if invitation.team else None, invitation.agent):
        if user is not None and user not in recipients:
            recipients.append(user)
    title = f"Poor {response.kind.upper()} answer ({response.score}) on {ticket.reference}"
    for recipient in recipients:
        ticket_services.notification_create(
            recipient=recipient,
            kind=Notification.Kind.POOR_SURVEY,
            ticket=ticket,
            title=title,
            body=response.comment,
            dedupe_key=f"survey-poor:{invitation.pk}",
            now=now,
        )
    action = survey_settings_for(team=invitation.team, channel=invitation.channel).poor_answer_action
    claimed = SurveyInvitation.objects.filter(pk=invitation.pk, poor_follow_up_at__isnull=True).update(
        poor_follow_up_at=now, poor_follow_up_action=action
    )
    if not claimed or action == PoorAnswerAction.NOTHING:
        return
    ticket = Ticket.objects.get(pk=ticket.pk)
    note = f"Customer answered {response.kind.upper()} {response.score}" + (
        f": {response.comment}" if response.comment else "."
    )
    if action == PoorAnswerAction.REOPEN and ticket.status != Status.CLOSED:
        if ticket.status == Status.SOLVED:
            ticket_services.ticket_change_status(ticket=ticket, status=Status.OPEN, now=now)
        ticket_services.message_add(
            ticket=ticket,
            author_role=Message.AuthorRole.SYSTEM,
            visibility=Message.Visibility.INTERNAL,
            body_text=f"Reopened after a poor survey answer. {note}",
            is_automatic=True,
            now=now,
        )
        _audit(invitation=invitation, now=now, new_value="reopened after a poor answer", score=response.score)
        return
    # A closed ticket cannot reopen: a follow-up ticket carries the poor answer instead.
    follow_up = ticket_services.ticket_create(
        subject=f"Poor survey answer on {ticket.reference}: {ticket.subject}",
        customer=ticket.customer,
        channel=ticket.channel,
        priority=ticket.priority,
        team=ticket.team,
        follow_up_of=ticket,
        actor_label=SYSTEM,
        now=now,
    )
    ticket_services.message_add(
        ticket=follow_up,
        author_role=Message.AuthorRole.SYSTEM,
        visibility=Message.Visibility.INTERNAL,
        body_text=note,
        is_automatic=True,
        now=now,
    )
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        follow_up_ticket=follow_up, poor_follow_up_action=PoorAnswerAction.FOLLOW_UP
    )
    _audit(
        invitation=invitation,
        now=now,
        new_value=f"follow-up {follow_up.reference} opened after a poor answer",
        follow_up=follow_up.reference,
    )


# --- settings ------------------------------------------------------------------------------------

SETTINGS_FIELDS = (
    "enabled",
    "kinds",
    "csat_question",
    "ces_question",
    "nps_question",
    "delay_minutes",
    "token_lifetime_days",
    "throttle_days",
    "poor_answer_action",
)


@transaction.atomic
def survey_settings_update(*, team: Team, channel: str = "", changes: Mapping[str, object]) -> SurveySettings:
    """Change a team's survey settings for one channel ("" = all channels), creating the row if needed.

    A new row starts from the project defaults. Raises DomainError naming the field for a bad value.
    """
    unknown = sorted(set(changes) - set(SETTINGS_FIELDS))
    if unknown:
        raise DomainError(
            f"Unknown survey setting(s) {', '.join(unknown)}; use {', '.join(SETTINGS_FIELDS)}."
        )
    row = SurveySettings.objects.select_for_update().filter(team=team, channel=channel).first()
    if row is None:
        defaults = survey_settings_defaults()
        row = SurveySettings(
            team=team,
            channel=channel,
            enabled=defaults.enabled,
            kinds=list(defaults.kinds),
            delay_minutes=int(defaults.delay.total_seconds() // 60),
            token_lifetime_days=defaults.token_lifetime.days,
            throttle_days=defaults.throttle_days,
            poor_answer_action=defaults.poor_answer_action,
        )
    for name, value in changes.items():
        setattr(row, name, value)
    try:
        row.full_clean()
    except ValidationError as error:
        messages = "; ".join(f"{field}: {' '.join(errs)}" for field, errs in error.message_dict.items())
        raise DomainError(f"Invalid survey settings: {messages}") from None
    row.save()
    return row
