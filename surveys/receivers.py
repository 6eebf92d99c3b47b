"""How surveys follow the ticket core: receivers of `tickets.hooks`, registered in `SurveysConfig.ready()`."""

from datetime import datetime

from surveys import services
from surveys.addressing import invitation_token_from_address, invitation_token_from_message_id
from surveys.exceptions import InvalidSurveyToken, SurveyExpired
from surveys.models import SurveyInvitation
from tickets import transitions
from tickets.hooks import InboundClaim, InboundMail
from tickets.models import OutboundDelivery, Status, Ticket


def on_status_changed(*, ticket: Ticket, old: str, new: str, now: datetime) -> None:
    """Solving schedules the survey; reopening cancels a survey not yet sent."""
    if new == Status.SOLVED:
        services.survey_on_ticket_solved(ticket=ticket, now=now)
    elif transitions.is_reopen(old, new):
        services.survey_on_ticket_reopened(ticket=ticket, now=now)


def _survey_token(mail: InboundMail) -> str | None:
    """The survey a message answers: its survey reply address, or a survey Message-ID it replies to."""
    for address in mail.recipients:
        token = invitation_token_from_address(address)
        if token:
            return token
    for message_id in mail.replied_to_message_ids:
        token = invitation_token_from_message_id(f"<{message_id}>")
        if token:
            return token
    return None


def claim_survey_reply(*, mail: InboundMail) -> InboundClaim | None:
    """Record a reply to a survey email as the survey's answer: it never opens or reopens a ticket.

    A reply naming an unknown or expired survey is not claimed, so it is taken in as ordinary mail and
    nothing is lost.
    """
    token = _survey_token(mail)
    if token is None:
        return None
    try:
        response = services.survey_reply_receive(
            invitation_token_or_invitation=token,
            text=mail.body_text,
            raw_message_id=mail.message_id,
            sender=mail.from_address,
            now=mail.received_at,
        )
    except (InvalidSurveyToken, SurveyExpired):
        return None
    return InboundClaim(
        reason=f"survey reply recorded as survey response {response.pk}",
        ticket_id=response.invitation.ticket_id,
    )


def _survey_of(delivery: OutboundDelivery) -> SurveyInvitation | None:
    if delivery.kind != OutboundDelivery.Kind.SURVEY:
        return None
    return (
        SurveyInvitation.objects.select_related("ticket__customer", "team")
        .filter(pk=delivery.source_id)
        .first()
    )


def on_outbound_sent(*, delivery: OutboundDelivery, now: datetime) -> None:
    """The outbox sent a survey email: the invitation is sent and its links start to expire."""
    invitation = _survey_of(delivery)
    if invitation is not None:
        services.survey_invitation_mark_sent(
            invitation=invitation, message_id=f"<{delivery.email_message_id}>", now=now
        )


def on_outbound_failed(*, delivery: OutboundDelivery, now: datetime, bounced: bool) -> None:
    """The outbox gave up on a survey email. A bounce after sending leaves the survey answerable."""
    invitation = _survey_of(delivery)
    if invitation is not None and not bounced:
        services.survey_invitation_fail(invitation=invitation, error=delivery.last_error, now=now)
