"""Writes of deflection at the door: curated public answers and what customers do with them."""

import re
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from tickets import transitions
from tickets.exceptions import DomainError
from tickets.models import AnswerView, AuditEntry, PublishedAnswer, Ticket
from tickets.services import audit_record

# secrets.token_urlsafe(16) is 22 characters; anything else is not a token this site handed out.
FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def form_token_is_valid(token: str) -> bool:
    return bool(FORM_TOKEN.fullmatch(token or ""))


@transaction.atomic
def published_answer_save(
    *, ticket: Ticket, title: str, body: str, is_published: bool, actor: AbstractBaseUser, now: datetime
) -> PublishedAnswer:
    """Create or edit the public answer written from a solved ticket (one per ticket), and audit it."""
    if ticket.status not in (transitions.SOLVED, transitions.CLOSED):
        raise DomainError("Only a solved or closed ticket can become a public answer.")
    title, body = " ".join(title.split()), body.strip()
    if not title or not body:
        raise DomainError("A public answer needs a title and an answer text.")
    if len(title) > PublishedAnswer._meta.get_field("title").max_length:
        raise DomainError("The title is too long (200 characters at most).")
    if len(body) > PublishedAnswer._meta.get_field("body").max_length:
        raise DomainError("The answer is too long (5,000 characters at most).")
    answer, created = PublishedAnswer.objects.select_for_update().get_or_create(
        ticket=ticket,
        defaults={
            "title": title,
            "body": body,
            "is_published": is_published,
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
        },
    )
    old = "" if created else ("published" if answer.is_published else "unpublished")
    if not created:
        answer.title, answer.body, answer.is_published, answer.updated_at = title, body, is_published, now
        answer.save(update_fields=["title", "body", "is_published", "updated_at"])
    audit_record(
        ticket=ticket,
        action=AuditEntry.Action.FIELD_CHANGED,
        now=now,
        actor=actor,
        field="published_answer",
        old_value=old,
        new_value="published" if is_published else "unpublished",
        details={"published_answer": answer.pk, "title": title},
    )
    return answer


def answer_view_record(*, answer: PublishedAnswer, form_token: str, now: datetime) -> AnswerView | None:
    """A customer opened `answer` from the form `form_token`; nothing is recorded without a valid token."""
    if not answer.is_published or not form_token_is_valid(form_token):
        return None
    return AnswerView.objects.create(answer=answer, form_token=form_token, viewed_at=now)


def deflection_form_submitted(*, form_token: str, now: datetime) -> int:
    """The form `form_token` was sent: its answer views no longer count as a deflection."""
    if not form_token_is_valid(form_token):
        return 0
    return AnswerView.objects.filter(form_token=form_token, form_submitted_at__isnull=True).update(
        form_submitted_at=now
    )
