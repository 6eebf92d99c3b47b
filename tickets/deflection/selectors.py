"""Reads of deflection at the door: answers suggested for a subject, and the deflection measure.

Suggestions match the subject a customer is typing against published answers only (never tickets):
on PostgreSQL, full text over the title (weight A) and answer (weight B) in the search configuration
`helpdesk`, plus trigram similarity of the titles; on SQLite, the same measures computed in Python
(`tickets.similar.scoring`) over the latest `SQLITE_SCAN` published answers.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F, Max, Q, QuerySet, Value

from tickets import transitions
from tickets.models import AnswerView, PublishedAnswer, Ticket
from tickets.search import SEARCH_CONFIG
from tickets.similar import scoring
from tickets.similar.selectors import solving_replies

SUGGESTIONS = 3
SQLITE_SCAN = 500


def deflection_window() -> timedelta:
    """How long after its last answer view a form not sent counts as deflected (the customer found the
    answer and left): `HELPDESK_DEFLECTION_WINDOW_SECONDS`."""
    return timedelta(seconds=settings.HELPDESK_DEFLECTION_WINDOW_SECONDS)


def published_answers() -> QuerySet[PublishedAnswer]:
    return PublishedAnswer.objects.filter(is_published=True)


def published_answer_suggestions(*, subject: str, limit: int = SUGGESTIONS) -> list[PublishedAnswer]:
    """Up to `limit` published answers most like `subject`, best first; none for a subject without words."""
    terms = scoring.query_terms(subject)
    if not terms:
        return []
    if connection.vendor == "postgresql":
        from django.contrib.postgres.lookups import TrigramSimilar
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector, TrigramSimilarity

        query = SearchQuery(" | ".join(terms), config=SEARCH_CONFIG, search_type="raw")
        document = SearchVector("title", weight="A", config=SEARCH_CONFIG) + SearchVector(
            "body", weight="B", config=SEARCH_CONFIG
        )
        rank = SearchRank(F("document"), query) + scoring.SUBJECT_WEIGHT * TrigramSimilarity("title", subject)
        return list(
            published_answers()
            .annotate(document=document, rank=rank)
            .filter(Q(document=query) | TrigramSimilar(F("title"), Value(subject)))
            .order_by("-rank", "-pk")[:limit]
        )
    scored = []
    for answer in published_answers()[:SQLITE_SCAN]:
        text = scoring.word_overlap(terms, f"{answer.title}\n{answer.body}")
        title = scoring.trigram_similarity(subject, answer.title)
        if text or title >= scoring.TRIGRAM_THRESHOLD:
            scored.append((scoring.TEXT_WEIGHT * text + scoring.SUBJECT_WEIGHT * title, answer))
    scored.sort(key=lambda row: (-row[0], -row[1].pk))
    return [answer for _, answer in scored[:limit]]


@dataclass(frozen=True)
class Deflection:
    answers_viewed: int  # views of suggested answers in the period
    forms_with_views: int  # forms (one per form shown) whose customer opened at least one answer
    forms_submitted_after_viewing: int
    forms_abandoned_after_viewing: int  # not sent, and the window after the last view is over
    deflection_rate: float | None  # abandoned ÷ (abandoned + submitted); None without such forms
    window_minutes: int  # the deflection window these counts used (`deflection_window`), for the pages


def deflection_measures(*, start_at: datetime, end_at: datetime, now: datetime) -> Deflection:
    """Deflection at the door for the answer views in [start_at, end_at) (three aggregate queries).

    Forms still inside the deflection window after their last view are neither submitted nor abandoned yet.
    """
    window = deflection_window()
    views = AnswerView.objects.filter(viewed_at__gte=start_at, viewed_at__lt=end_at)
    forms = views.values("form_token").annotate(
        last_view=Max("viewed_at"), submitted=Max("form_submitted_at")
    )
    submitted = forms.filter(submitted__isnull=False).count()
    abandoned = forms.filter(submitted__isnull=True, last_view__lte=now - window).count()
    settled = submitted + abandoned
    return Deflection(
        answers_viewed=views.count(),
        forms_with_views=forms.count(),
        forms_submitted_after_viewing=submitted,
        forms_abandoned_after_viewing=abandoned,
        deflection_rate=round(abandoned / settled, 4) if settled else None,
        window_minutes=int(window.total_seconds() // 60),
    )


@dataclass(frozen=True)
class PublicAnswerDraft:
    answer: PublishedAnswer | None  # the ticket's answer, if one was written
    title: str
    body: str
    is_published: bool


def public_answer_draft(*, ticket: Ticket) -> PublicAnswerDraft | None:
    """What the ticket page's "public answer" form starts from: the ticket's answer, else its solving
    reply for the agent to rewrite (never the customer's words); None for a ticket not solved."""
    if ticket.status not in (transitions.SOLVED, transitions.CLOSED):
        return None
    answer = PublishedAnswer.objects.filter(ticket=ticket).first()
    if answer is not None:
        return PublicAnswerDraft(answer, answer.title, answer.body, answer.is_published)
    reply = solving_replies([ticket]).get(ticket.pk)
    return PublicAnswerDraft(None, "", reply.body_text if reply else "", True)
