"""Ticket search as people use it: by reference, by customer and by the words of the conversation.

One box finds a ticket by its reference (`HD-3029`, `3029`, `#3029`), by its customer's name, email or
phone (any formatting of at least six digits) or organization, and by the words of its subject and
messages. Results are ranked: the exact reference first, then text relevance (subject above messages),
with matching customers lifted a little; `ticket_search_highlights` shows where each result matched.

PostgreSQL: `Ticket.search_vector` (tsvector, config `helpdesk`: English stemming without accents;
subject weight A, message text weight B; written by the triggers of migration 0015_ticket_search) with a
GIN index, queried with `websearch_to_tsquery` so any input is a valid query; customers, emails, phones
and organizations through trigram GIN indexes on the `UPPER(column)` form that `icontains` compiles to.
SQLite: substring matching, the embedded default's best effort.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, Left
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from tickets.models import Customer, Message, Organization, Ticket

SEARCH_CONFIG = "helpdesk"
# Substring search on fewer characters matches nearly everyone and cannot use a trigram index.
MIN_SUBSTRING_LENGTH = 3
MIN_PHONE_DIGITS = 6
# A search matching more customers than this is not looking for one customer: only these many count
# (each one costs a probe of its tickets: 500 took 90 ms of a surname search at 1M).
CUSTOMER_MATCH_LIMIT = 100
MESSAGE_TEXT_LIMIT = 20000  # characters of each message that are searched (the triggers use the same)
REFERENCE_RANK = 10.0
CUSTOMER_RANK = 1.0
# A search finds the newest this many tickets matching by words, as many by customer, and the reference.
SEARCH_CANDIDATES = 500
_START, _STOP = "\x02", "\x03"  # headline markers: control characters never shown, replaced after escaping
_EXCERPT_RADIUS = 60


@dataclass(frozen=True)
class SearchTerms:
    text: str
    references: tuple[str, ...] = ()
    phone_digits: str = ""


def parse_search(text: str, reference_prefix: str) -> SearchTerms:
    """What a search box entry can mean besides words: a ticket reference, a phone number."""
    text = " ".join(text.split())
    prefix = re.escape(reference_prefix)
    reference = re.fullmatch(rf"#?\s*(?:{prefix}\s*-?\s*)?(\d{{1,18}})", text, flags=re.IGNORECASE)
    references = (f"{reference_prefix}-{int(reference.group(1))}",) if reference else ()
    phone_digits = ""
    if re.fullmatch(r"\+?[\d\s().-]+", text):
        digits = re.sub(r"\D", "", text)
        if len(digits) >= MIN_PHONE_DIGITS:
            phone_digits = digits
    return SearchTerms(text=text, references=references, phone_digits=phone_digits)


def _terms(text: str) -> SearchTerms:
    return parse_search(text, settings.HELPDESK_REFERENCE_PREFIX)


def matching_customers(terms: SearchTerms) -> QuerySet[Customer] | None:
    """The ids of customers whose name, email, phone or organization contains the text (trigram indexes),
    at most `CUSTOMER_MATCH_LIMIT`; None when the text is too short to look for customers.

    A query to use as a subquery: the ticket search reads it in its own statement (one round trip, and
    the planner does not estimate a list of 500 literal ids, which took longer than the search).
    Each branch stops at the limit too: a surname matches one customer in thirty, and deduplicating
    every match before the limit grew with the customers (12,000 for a surname at 1M).
    """
    if len(terms.text) < MIN_SUBSTRING_LENGTH:
        return None
    # A union rather than one OR: each branch can use its own index (an OR across the join cannot).
    # The organizations are found first (a small table), then their customers by organization.
    organizations = Organization.objects.filter(name__icontains=terms.text).values("pk")
    by_organization = Customer.objects.filter(organization__in=organizations).order_by().values("pk")
    by_person = Customer.objects.filter(_person_matches(terms)).order_by().values("pk")
    if connection.features.supports_slicing_ordering_in_compound:  # not SQLite
        by_person, by_organization = by_person[:CUSTOMER_MATCH_LIMIT], by_organization[:CUSTOMER_MATCH_LIMIT]
    return by_person.union(by_organization)[:CUSTOMER_MATCH_LIMIT]


def _person_matches(terms: SearchTerms, customer: str = "") -> Q:
    """A customer (reached through the `customer` path, e.g. "customer__") whose name, email or phone
    contains the text."""
    matches = Q(**{f"{customer}name__icontains": terms.text})
    matches |= Q(**{f"{customer}email__icontains": terms.text})
    if terms.phone_digits:
        matches |= Q(**{f"{customer}phone__icontains": terms.phone_digits})
    return matches


def _customer_matches(terms: SearchTerms) -> Q:
    """A ticket whose customer `matching_customers` would find (without its limit)."""
    return _person_matches(terms, "customer__") | Q(customer__organization__name__icontains=terms.text)


def matching_customer_ids(terms: SearchTerms) -> list[int]:
    """The ids of `matching_customers` (one query)."""
    customers = matching_customers(terms)
    return [] if customers is None else [row["pk"] for row in customers]


def _text_query(terms: SearchTerms):
    from django.contrib.postgres.search import SearchQuery

    return SearchQuery(terms.text, config=SEARCH_CONFIG, search_type="websearch")


def ticket_search(tickets: QuerySet[Ticket], text: str) -> QuerySet[Ticket]:
    """Tickets of `tickets` matching `text`, annotated with `search_rank` (higher is better).

    On PostgreSQL the matches are found by kind, each through its own index in its own branch of a
    union: by words (GIN), by customer (`matching_customers`, trigram) and by reference (unique index);
    one OR across them left the planner one plan, a walk of every ticket testing each. A search finds
    the newest `SEARCH_CANDIDATES` tickets of `tickets` matching by words, the newest as many matching
    by customer, and the exact reference: a common word matches tens of thousands of tickets at 1M,
    and ranking, joining and sorting all of them grew with the data. One query: the customers are a
    subquery. On SQLite every match, by substring.
    """
    terms = _terms(text)
    if not terms.text:
        return tickets
    customers = matching_customers(terms)
    bonus = Value(0.0)
    if terms.references:
        bonus = Case(When(reference__in=terms.references, then=Value(REFERENCE_RANK)), default=bonus)
    if customers is not None:
        # Tested on the row's own customer (a join the list makes anyway), not by membership in
        # `customers`: as a subquery of the rank, PostgreSQL matched the customers a second time.
        bonus = bonus + Case(When(_customer_matches(terms), then=Value(CUSTOMER_RANK)), default=0.0)
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchRank

        query = _text_query(terms)
        found = tickets.filter(pk__in=_candidate_ids(tickets, terms, customers, query))
        rank = Coalesce(SearchRank(F("search_vector"), query), Value(0.0))
    else:
        messages = Message.objects.filter(
            ticket=OuterRef("pk"), is_automatic=False, body_text__icontains=terms.text
        )
        in_subject = Q(subject__icontains=terms.text)
        matches = in_subject | Exists(messages) | Q(reference__in=terms.references)
        if customers is not None:
            matches |= Q(customer_id__in=customers)
        found = tickets.filter(matches)
        rank = Case(When(in_subject, then=Value(0.5)), default=Value(0.1))
    return found.annotate(search_rank=Value(0.0, output_field=FloatField()) + bonus + rank)


def _candidate_ids(tickets: QuerySet[Ticket], terms: SearchTerms, customers, query) -> QuerySet:
    """The ids a search finds in `tickets` on PostgreSQL, as one union (see `ticket_search`)."""

    def newest(condition: Q) -> QuerySet:
        # Through the condition's index and a top-N sort of the matches' dates, or, when the matches are
        # dense, a walk of `created_at` that stops at the limit.
        matching = tickets.filter(condition).order_by("-created_at", "-pk")
        return matching.values("pk")[:SEARCH_CANDIDATES]

    branches = [newest(Q(search_vector=query))]
    if customers is not None:
        branches.append(newest(Q(customer_id__in=customers)))
    if terms.references:
        branches.append(tickets.filter(reference__in=terms.references).order_by().values("pk"))
    return branches[0].union(*branches[1:]) if len(branches) > 1 else branches[0]


def _marked(value: str, needle: str) -> str:
    """`value` escaped for HTML, with each case-insensitive occurrence of `needle` in <mark>."""
    if not needle:
        return escape(value)
    parts = re.split(f"({re.escape(needle)})", value, flags=re.IGNORECASE)
    return "".join(f"<mark>{escape(part)}</mark>" if i % 2 else escape(part) for i, part in enumerate(parts))


def _excerpt(value: str, needle: str) -> str:
    """About `_EXCERPT_RADIUS` characters either side of the first occurrence of `needle`, marked."""
    value = " ".join(value.split())
    at = value.lower().find(needle.lower())
    if at < 0:
        return ""
    start, end = max(0, at - _EXCERPT_RADIUS), at + len(needle) + _EXCERPT_RADIUS
    text = _marked(value[start:end], needle)
    return ("…" if start else "") + text + ("…" if end < len(value) else "")


def _headline_html(headline: str) -> str:
    return escape(headline).replace(_START, "<mark>").replace(_STOP, "</mark>")


def _field_highlight(ticket: Ticket, terms: SearchTerms) -> str:
    """Where a ticket matched outside its text: reference, customer or organization."""
    if ticket.reference in terms.references:
        return f"<mark>{escape(ticket.reference)}</mark>"
    customer = ticket.customer
    needle = terms.text
    for value in (customer.name, customer.email):
        if value and needle.lower() in value.lower():
            return _marked(value, needle)
    if customer.phone and terms.phone_digits and terms.phone_digits in customer.phone:
        return _marked(customer.phone, terms.phone_digits)
    organization = customer.organization
    if organization is not None and needle.lower() in organization.name.lower():
        return _marked(organization.name, needle)
    return ""


def ticket_search_highlights(tickets: Sequence[Ticket], text: str) -> dict[int, SafeString]:
    """{ticket id: HTML snippet with the match in <mark>} for the tickets a search returned (one query).

    Tickets need their customer and organization loaded (`ticket_list` does). A ticket found by its
    reference or customer shows that field; one found by its words shows the words in context.
    """
    terms = _terms(text)
    if not terms.text or not tickets:
        return {}
    ids = [ticket.pk for ticket in tickets]
    text_snippets: dict[int, str] = {}
    if connection.vendor == "postgresql":
        from django.contrib.postgres.aggregates import StringAgg
        from django.contrib.postgres.search import SearchHeadline

        message_text = (
            Message.objects.filter(ticket=OuterRef("pk"), is_automatic=False)
            .order_by()
            .values("ticket")
            .annotate(
                text=StringAgg(Left("body_text", MESSAGE_TEXT_LIMIT), " ", order_by=("created_at", "pk"))
            )
            .values("text")
        )
        headlines = Ticket.objects.filter(pk__in=ids).annotate(
            headline=SearchHeadline(
                Concat(
                    "subject",
                    Value(" "),
                    Coalesce(Subquery(message_text), Value(""), output_field=TextField()),
                    output_field=TextField(),
                ),
                _text_query(terms),
                config=SEARCH_CONFIG,
                start_sel=_START,
                stop_sel=_STOP,
                max_words=24,
                min_words=8,
                max_fragments=2,
                fragment_delimiter=" … ",
            )
        )
        for pk, headline in headlines.values_list("pk", "headline"):
            if headline and _START in headline:
                text_snippets[pk] = _headline_html(headline)
    else:
        for ticket in tickets:
            if terms.text.lower() in ticket.subject.lower():
                text_snippets[ticket.pk] = _marked(ticket.subject, terms.text)
        bodies = Message.objects.filter(
            ticket_id__in=[pk for pk in ids if pk not in text_snippets],
            is_automatic=False,
            body_text__icontains=terms.text,
        ).order_by("created_at", "pk")
        for ticket_id, body in bodies.values_list("ticket_id", "body_text"):
            text_snippets.setdefault(ticket_id, _excerpt(body, terms.text))
    highlights = {}
    for ticket in tickets:
        snippet = _field_highlight(ticket, terms) or text_snippets.get(ticket.pk, "")
        if snippet:
            highlights[ticket.pk] = mark_safe(snippet)  # built from escaped parts above
    return highlights
