"""Signed, unguessable survey tokens bound to one invitation, and the addresses that carry them.

A token is ``<invitation id>-<HMAC>``: the HMAC (SHA-256 keyed with SECRET_KEY, truncated to 160
bits, base32) covers the id and the invitation's own random secret, so a token cannot be forged or
moved to another invitation, and nothing in the database is enough to make one. Expiry is checked
against the invitation's ``expires_at`` (not inside the token), so it can be changed per team.
Rotating SECRET_KEY keeps old links working while the old key is in SECRET_KEY_FALLBACKS.
"""

import base64
from email.utils import parseaddr

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from surveys import addressing
from surveys.exceptions import InvalidSurveyToken
from surveys.models import SurveyInvitation

_SALT = "surveys.invitation-token"


def _digest(invitation_id: int, secret: str, key: str) -> str:
    mac = salted_hmac(_SALT, f"{invitation_id}:{secret}", secret=key, algorithm="sha256").digest()[:20]
    return base64.b32encode(mac).decode("ascii").lower()


def invitation_token(invitation: SurveyInvitation) -> str:
    return f"{invitation.pk}-{_digest(invitation.pk, invitation.secret, settings.SECRET_KEY)}"


def invitation_from_token(token: object) -> SurveyInvitation:
    """The invitation a token names; raises InvalidSurveyToken when it is malformed or forged."""
    if not isinstance(token, str):
        raise InvalidSurveyToken("This survey link is not valid.")
    token = token.strip().lower()
    if not addressing.is_token(token):
        raise InvalidSurveyToken("This survey link is not valid: it looks incomplete or altered.")
    pk_text, _, digest = token.partition("-")
    invitation = (
        SurveyInvitation.objects.select_related("ticket", "ticket__customer", "team")
        .filter(pk=int(pk_text))
        .first()
    )
    if invitation is not None:
        for key in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
            if constant_time_compare(digest, _digest(invitation.pk, invitation.secret, key)):
                return invitation
    raise InvalidSurveyToken("This survey link is not valid: it looks incomplete or altered.")


def _support_mailbox() -> str:
    configured = settings.HELPDESK_SURVEY_REPLY_MAILBOX or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return configured


def survey_reply_address(invitation: SurveyInvitation) -> str:
    """Reply-To of the survey email, e.g. ``support+survey-<token>@example.com``."""
    return addressing.reply_address(invitation_token(invitation), _support_mailbox())


def survey_message_id(invitation: SurveyInvitation) -> str:
    """Message-ID of the survey email, e.g. ``<survey-<token>@example.com>``."""
    domain = _support_mailbox().rpartition("@")[2] or "helpdesk.localhost"
    return addressing.survey_message_id_for(invitation_token(invitation), domain)


def survey_url(invitation: SurveyInvitation, score: int | None = None) -> str:
    """Absolute link to the survey page (HELPDESK_PUBLIC_BASE_URL), with a pre-selected score."""
    path = reverse("surveys:answer", args=[invitation_token(invitation)])
    query = f"?score={score}" if score is not None else ""
    return f"{settings.HELPDESK_PUBLIC_BASE_URL.rstrip('/')}{path}{query}"
