"""Reads for similar solved tickets and their suggested answers (weights in `tickets.similar.scoring`).

Candidates are the solved or closed, not merged tickets the user may see (`ticket_visibility_q`).

- PostgreSQL: ranked in the database, over every such ticket, with a bounded amount of work. The
  ticket's query terms are looked up in the planner's statistics of `Ticket.search_vector` (how many
  tickets hold each), and the rarest ones form the candidate tsquery (`scoring.candidate_query`). Of at
  most `SCAN_CAP` matches (GIN index), at most `MATCH_CAP` visible ones are ranked by `ts_rank` against all
  the terms and the best `CANDIDATES` kept. Only when the words found fewer than `SUBJECT_FALLBACK_BELOW`,
  the best `SUBJECT_CANDIDATES` of at most `MATCH_CAP` subjects similar by trigrams (`subject % …`,
  trigram GIN index of migration 0018) are added. Each look-up is one statement that reads the matched
  rows once, and each candidate comes measured from it: the share of the query terms its document
  matches (one `@@` per term) and `similarity()` of the subjects; the CSAT and recency boosts then order
  them, and only the shown tickets are loaded as models.
- SQLite (the embedded default): the latest `RECENT_SCAN` candidates, measured in Python the same way
  (the share of the terms in the subject and first customer message, pg_trgm's similarity recomputed).
"""

import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Q, QuerySet

from tickets import transitions
from tickets.adapters import surveys as survey_adapter
from tickets.models import Macro, Message, Ticket
from tickets.search import SEARCH_CONFIG
from tickets.selectors import ticket_visibility_q
from tickets.similar import scoring
from tickets.workspace.macro_text import render_macro

CANDIDATES = 50
SUBJECT_CANDIDATES = 20
SUBJECT_FALLBACK_BELOW = 10  # PostgreSQL: subjects alike are looked up when the words found fewer
MATCH_CAP = 1000  # PostgreSQL: matches of the candidate query (and of the subject) that are ranked at most
SCAN_CAP = 2000  # PostgreSQL: index matches of the candidate query read at most, before the visibility rule
RECENT_SCAN = 2000  # SQLite: the latest solved tickets scored in Python
SOLVED_STATES = (transitions.SOLVED, transitions.CLOSED)


@dataclass(frozen=True)
class SimilarTicket:
    ticket: Ticket
    score: float
    customer_text: str
    solving_reply: Message | None
    csat: int | None
    age_days: int
    draft: str = ""  # the solving reply made into a draft for the ticket being worked (see similar_answers)


@dataclass(frozen=True)
class SuggestedMacro:
    macro: Macro
    used_on_similar: int


@dataclass(frozen=True)
class SimilarAnswers:
    ticket: int
    results: list[SimilarTicket]
    suggested_macros: list[SuggestedMacro]


def first_customer_messages(ticket_ids: list[int]) -> dict[int, str]:
    """The first public customer message of each ticket (one query)."""
    rows = (
        Message.objects.filter(
            ticket_id__in=ticket_ids,
            author_role=Message.AuthorRole.CUSTOMER,
            visibility=Message.Visibility.PUBLIC,
        )
        .order_by("ticket_id", "created_at", "pk")
        .values_list("ticket_id", "body_text")
    )
    first: dict[int, str] = {}
    for ticket_id, body in rows:
        first.setdefault(ticket_id, body)
    return first


def _customer_texts_and_solving_replies(tickets: list[Ticket]) -> tuple[dict[int, str], dict[int, Message]]:
    """Each ticket's first public customer message (`first_customer_messages`) and its last public agent
    reply at or before it was solved, in one query."""
    solved_at = {t.pk: t.solved_at or t.closed_at or t.updated_at for t in tickets}
    messages = (
        Message.objects.filter(ticket_id__in=list(solved_at), visibility=Message.Visibility.PUBLIC)
        .filter(
            Q(author_role=Message.AuthorRole.CUSTOMER)
            | Q(author_role=Message.AuthorRole.AGENT, is_automatic=False)
        )
        .select_related("author_user", "macro")
        .order_by("ticket_id", "created_at", "pk")
    )
    first: dict[int, str] = {}
    last: dict[int, Message] = {}
    for message in messages:
        if message.author_role == Message.AuthorRole.CUSTOMER:
            first.setdefault(message.ticket_id, message.body_text)
        elif message.created_at <= solved_at[message.ticket_id]:
            last[message.ticket_id] = message
    return first, last


def solving_replies(tickets: list[Ticket]) -> dict[int, Message]:
    """Each ticket's last public agent reply at or before it was solved (one query)."""
    return _customer_texts_and_solving_replies(tickets)[1]


def ticket_words(ticket: Ticket) -> str:
    return scoring.customer_words(ticket.subject, first_customer_messages([ticket.pk]).get(ticket.pk, ""))


def _solved_visible(user: AbstractBaseUser, ticket: Ticket) -> QuerySet[Ticket]:
    return (
        Ticket.objects.filter(ticket_visibility_q(user), status__in=SOLVED_STATES, merged_into__isnull=True)
        .exclude(pk=ticket.pk)
        .order_by()
    )


@dataclass(frozen=True)
class _Candidate:
    pk: int
    solved_at: datetime  # when it was solved (else closed, else last updated): its age
    text_rank: float
    subject_similarity: float


def _recent_candidates(tickets: QuerySet[Ticket], subject: str, terms: list[str]) -> list[_Candidate]:
    recent = list(
        tickets.order_by("-solved_at", "-pk").values_list(
            "pk", "subject", "solved_at", "closed_at", "updated_at"
        )[:RECENT_SCAN]
    )
    texts = first_customer_messages([pk for pk, *_ in recent])
    scored = []
    for pk, candidate_subject, solved_at, closed_at, updated_at in recent:
        # Message.body_text is already the visible new text (intake strips quoted history), so the
        # candidates skip `extract_reply`, which costs milliseconds per message.
        words = f"{candidate_subject}\n{texts.get(pk, '')[: scoring.TEXT_LIMIT]}"
        text_rank = scoring.word_overlap(terms, words)
        subject_similarity = scoring.trigram_similarity(subject, candidate_subject)
        if text_rank or subject_similarity >= scoring.TRIGRAM_THRESHOLD:
            solved = solved_at or closed_at or updated_at
            scored.append(_Candidate(pk, solved, text_rank, subject_similarity))
    scored.sort(
        key=lambda c: -(scoring.TEXT_WEIGHT * c.text_rank + scoring.SUBJECT_WEIGHT * c.subject_similarity)
    )
    return scored[:CANDIDATES]


# The statistics ANALYZE keeps for `Ticket.search_vector` change only when ANALYZE runs (autovacuum: after
# a tenth of the table changed, hours apart on a big desk), so each process reads them at most every
# STATS_SECONDS. Lexemes depend only on the text search configuration: each process keeps up to
# LEXEME_CACHE terms' lexemes.
STATS_SECONDS = 300
LEXEME_CACHE = 10_000


@dataclass(frozen=True)
class _TermStatistics:
    read_at: float  # time.monotonic() of the read
    database: str
    shares: dict[str, float]  # lexeme: share of tickets whose search document holds it
    floor: float  # the share of a lexeme the statistics do not list
    rows: float  # tickets in the table (pg_class.reltuples)


_statistics: _TermStatistics | None = None
_lexemes: dict[str, tuple[str, ...]] = {}


def clear_term_statistics() -> None:
    """Forget what this process read of the statistics and lexemes (tests, after ANALYZE)."""
    global _statistics
    _statistics = None
    _lexemes.clear()


def _term_statistics() -> _TermStatistics:
    global _statistics
    database = connection.settings_dict["NAME"]
    cached = _statistics
    fresh = cached is not None and time.monotonic() - cached.read_at < STATS_SECONDS
    if fresh and cached.database == database:
        return cached
    sql = """
        SELECT s.lexeme, s.share,
               (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'tickets_ticket'::regclass)
        FROM (SELECT 1) AS always
        LEFT JOIN (
            SELECT unnest(most_common_elems::text::text[]) AS lexeme, unnest(most_common_elem_freqs) AS share
            FROM pg_stats
            WHERE schemaname = current_schema() AND tablename = 'tickets_ticket' AND attname = 'search_vector'
        ) AS s ON true
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    # most_common_elem_freqs ends with three summary numbers (min, max, null share), not lexemes' shares.
    shares = {lexeme: float(share) for lexeme, share, _ in rows if lexeme is not None}
    _statistics = _TermStatistics(
        time.monotonic(), database, shares, min(shares.values()) / 2 if shares else 0.0, float(rows[0][2])
    )
    return _statistics


def _term_lexemes(terms: list[str]) -> dict[str, tuple[str, ...]]:
    """Each term's lexemes in the configuration (none for its stop words); one query for unseen terms."""
    missing = [term for term in terms if term not in _lexemes]
    if missing:
        if len(_lexemes) + len(missing) > LEXEME_CACHE:
            _lexemes.clear()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT t.term, tsvector_to_array(to_tsvector(%s::regconfig, t.term))"
                " FROM unnest(%s::text[]) AS t(term)",
                [SEARCH_CONFIG, missing],
            )
            _lexemes.update((term, tuple(lexemes)) for term, lexemes in cursor.fetchall())
    return {term: _lexemes[term] for term in terms}


def term_frequencies(terms: list[str]) -> tuple[dict[str, float], float]:
    """({term: share of tickets whose search document holds it}, number of tickets), from the statistics
    ANALYZE keeps for `Ticket.search_vector` (`pg_stats.most_common_elems`, no table scan; read at most every
    STATS_SECONDS by each process). A term the statistics do not list is rarer than every listed one: it
    gets half the smallest listed share (0 before any ANALYZE). Terms that the text search configuration
    drops (its stop words) are left out."""
    statistics = _term_statistics()
    frequencies = {
        term: max(statistics.shares.get(lexeme, statistics.floor) for lexeme in lexemes)
        for term, lexemes in _term_lexemes(terms).items()
        if lexemes
    }
    return frequencies, statistics.rows


def _where_sql(tickets: QuerySet[Ticket]) -> tuple[str, list]:
    """The conditions of `tickets` as SQL over the columns of `"tickets_ticket"` (the visibility rule and
    the status filters need no join)."""
    sql, params = tickets.query.get_compiler(using=tickets.db).compile(tickets.query.where)
    return sql, list(params)


# Query terms are letters only (scoring.WORD), so they are valid to_tsquery operands as they are.
TSQUERY = "to_tsquery(%s::regconfig, %s)"


def _postgres_candidates(tickets: QuerySet[Ticket], subject: str, terms: list[str]) -> list[_Candidate]:
    try:
        visible, visible_params = _where_sql(tickets)
    except EmptyResultSet:  # the user may see no ticket at all
        return []
    frequencies, rows = term_frequencies(terms) if terms else ({}, 0.0)
    # The text measure: the share of the terms (those the configuration keeps) each document holds.
    hits = [f"CASE WHEN search_vector @@ {TSQUERY} THEN 1.0 ELSE 0.0 END" for _ in frequencies]
    text_rank = f"({' + '.join(hits)}) / {len(hits)}" if hits else "0.0"
    text_rank_params = [value for term in frequencies for value in (SEARCH_CONFIG, term)]

    def best(matches: str, params: list, order: str, order_params: list, limit: int) -> list[_Candidate]:
        """The best `limit` by `order` of at most MATCH_CAP visible tickets among `matches` (a SELECT of
        ticket rows), measured, in one statement that reads each row once: the visibility rule is
        checked on the rows `matches` read, under the table's name. Only the `limit` kept rows are
        measured (a `@@` per term and `similarity()` cost about as much as the rank)."""
        sql = f"""
            SELECT id, solved, {text_rank}, similarity(subject, %s)
            FROM (
                SELECT * FROM (
                    SELECT id, subject, search_vector, coalesce(solved_at, closed_at, updated_at) AS solved
                    FROM ({matches}) AS tickets_ticket
                    WHERE {visible}
                    LIMIT %s
                ) AS visible
                ORDER BY {order} DESC, id DESC
                LIMIT %s
            ) AS kept
        """
        with connection.cursor() as cursor:
            cursor.execute(
                sql, [*text_rank_params, subject, *params, *visible_params, MATCH_CAP, *order_params, limit]
            )
            return [_Candidate(pk, solved, float(rank), float(alike)) for pk, solved, rank, alike in cursor]

    found: list[_Candidate] = []
    if frequencies:
        # At most SCAN_CAP of the index's matches, and the visibility rule checked on those rows (the
        # LIMIT keeps the planner from merging the two: as one condition, it intersected the matches with
        # a bitmap of every visible solved ticket, ~90,000 index entries for a team at 1M tickets).
        found += best(
            f"SELECT * FROM tickets_ticket WHERE search_vector @@ {TSQUERY} LIMIT %s",
            [SEARCH_CONFIG, scoring.candidate_query(frequencies, rows, scoring.MATCH_BUDGET), SCAN_CAP],
            f"ts_rank(search_vector, {TSQUERY})",
            [SEARCH_CONFIG, " | ".join(frequencies)],
            CANDIDATES,
        )
    if len(found) < SUBJECT_FALLBACK_BELOW and subject.strip():
        # Subjects alike by trigrams (`%`, the trigram GIN index) find what the words miss (typos, no
        # shared word), but a common subject matches a large share of a big table through the trigram
        # index: only when the words found too few candidates.
        found += best(
            "SELECT * FROM tickets_ticket WHERE subject %% %s AND NOT id = ANY(%s)",
            [subject, [candidate.pk for candidate in found]],
            "similarity(subject, %s)",
            [subject],
            SUBJECT_CANDIDATES,
        )
    return found


def similar_tickets(
    *, user: AbstractBaseUser, ticket: Ticket, now: datetime, limit: int = 5
) -> list[SimilarTicket]:
    """The solved tickets most like `ticket` that `user` may see, best first, with their solving replies."""
    words = ticket_words(ticket)
    terms = scoring.query_terms(words)
    tickets = _solved_visible(user, ticket)
    if connection.vendor == "postgresql":
        candidates = _postgres_candidates(tickets, ticket.subject, terms)
    else:
        candidates = _recent_candidates(tickets, ticket.subject, terms)
    if not candidates:
        return []
    csat = survey_adapter.csat_scores([candidate.pk for candidate in candidates])
    ranked = []
    for candidate in candidates:
        age_days = max(0, (now - candidate.solved_at).days)
        rating = csat.get(candidate.pk)
        value = scoring.score(
            text_rank=candidate.text_rank,
            subject_similarity=candidate.subject_similarity,
            csat=rating[0] if rating else None,
            csat_scale=(rating[1], rating[2]) if rating else (1, 5),
            age_days=age_days,
        )
        ranked.append((value, candidate.pk, rating[0] if rating else None, age_days))
    ranked.sort(key=lambda row: (-row[0], -row[1]))
    top = ranked[:limit]
    # Only the shown tickets are loaded as models (with their customer, for the draft).
    shown = Ticket.objects.select_related("customer").in_bulk([pk for _, pk, _, _ in top])
    texts, replies = _customer_texts_and_solving_replies(list(shown.values()))
    return [
        SimilarTicket(
            ticket=shown[pk],
            score=round(value, 4),
            customer_text=scoring.customer_words("", texts.get(pk, "")),
            solving_reply=replies.get(pk),
            csat=rating,
            age_days=age_days,
        )
        for value, pk, rating, age_days in top
        if pk in shown  # not deleted since the candidates were read
    ]


def suggested_macros(*, macros: QuerySet[Macro], similar: list[SimilarTicket]) -> list[SuggestedMacro]:
    """The offered macros, those used on the similar tickets first (most used first), then the rest."""
    used = Counter(
        Message.objects.filter(
            ticket_id__in=[s.ticket.pk for s in similar], macro__isnull=False, macro__in=macros
        ).values_list("macro_id", flat=True)
    )
    offered = list(macros)
    order = {macro.pk: position for position, macro in enumerate(offered)}
    ranked = sorted(offered, key=lambda macro: (-used.get(macro.pk, 0), order[macro.pk]))
    return [SuggestedMacro(macro, used.get(macro.pk, 0)) for macro in ranked]


def similar_reply_draft(*, similar: SimilarTicket, ticket: Ticket, agent: AbstractBaseUser) -> str:
    """The similar ticket's solving reply as a draft for `ticket`: its names become macro placeholders,
    which are then filled with this ticket's customer, reference and agent."""
    reply = similar.solving_reply
    if reply is None:
        return ""
    author = reply.author_user
    old = scoring.DraftValues(
        customer_name=similar.ticket.customer.name,
        customer_first_name=similar.ticket.customer.first_name,
        customer_email=similar.ticket.customer.email or "",
        ticket_reference=similar.ticket.reference or "",
        agent_name=(author.get_full_name() or author.get_username()) if author else "",
        agent_first_name=(author.first_name if author else ""),
    )
    customer = ticket.customer
    new = scoring.DraftValues(
        customer_name=customer.name,
        customer_first_name=customer.first_name,
        customer_email=customer.email or "",
        ticket_reference=ticket.reference or "",
        ticket_subject=ticket.subject,
        agent_name=agent.get_full_name() or agent.get_username(),
        agent_first_name=agent.first_name or agent.get_username(),
    )
    return render_macro(scoring.reply_to_template(reply.body_text, old), new.as_macro_values())


def similar_answers(
    *, user: AbstractBaseUser, ticket: Ticket, macros: QuerySet[Macro], now: datetime, limit: int = 5
) -> SimilarAnswers:
    """Similar solved tickets with their replies drafted for `ticket`, and the macros to try first."""
    found = similar_tickets(user=user, ticket=ticket, now=now, limit=limit)
    results = [replace(s, draft=similar_reply_draft(similar=s, ticket=ticket, agent=user)) for s in found]
    return SimilarAnswers(ticket.pk, results, suggested_macros(macros=macros, similar=found))
