"""Ticket search: by reference, customer, email, phone, organization and words; ranked; highlighted."""

import re

import pytest
from django.db import connection

from tests import factories
from tests.conftest import _on_postgres
from tickets import search, services
from tickets.api.filtersets import TicketFilterSet
from tickets.models import Customer, Message, Ticket
from tickets.search import matching_customer_ids, parse_search, ticket_search, ticket_search_highlights

TICKETS = "/api/v1/tickets/"


def test_parse_search_reads_references_with_or_without_prefix():
    assert parse_search("HD-3029", "HD").references == ("HD-3029",)
    assert parse_search("hd 3029", "HD").references == ("HD-3029",)
    assert parse_search("3029", "HD").references == ("HD-3029",)
    assert parse_search("#3029", "HD").references == ("HD-3029",)
    assert parse_search("order 3029", "HD").references == ()
    assert parse_search("XY-3029", "HD").references == ()


def test_parse_search_reads_phone_numbers_in_any_format_from_six_digits():
    assert parse_search("+45 12 34-56 78", "HD").phone_digits == "4512345678"
    assert parse_search("(0)123 456", "HD").phone_digits == "0123456"
    assert parse_search("3029", "HD").phone_digits == ""
    assert parse_search("call 123456", "HD").phone_digits == ""


@pytest.fixture
def api(as_user, agent_user):
    return as_user(agent_user)


@pytest.fixture
def wagner(db):
    organization = factories.OrganizationFactory(name="Northwind Traders")
    return Customer.objects.create(
        name="Noah Wagner", email="noah.wagner@example.com", phone="+4512345678", organization=organization
    )


@pytest.fixture
def others(team):
    """Tickets that must not show up in the searches below."""
    return [
        factories.ticket(team=team, subject="Cannot log in", body_text="The password reset mail never came."),
        factories.ticket(team=team, subject="Billing address", body_text="Please change my invoice address."),
    ]


def found(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.django_db
def test_search_finds_a_ticket_by_reference_and_by_bare_number(api, team, wagner, others):
    ticket = factories.ticket(team=team, customer=wagner, subject="Printer jam")
    number = ticket.reference.split("-")[1]
    assert found(api.get(TICKETS, {"q": ticket.reference})) == [ticket.pk]
    assert found(api.get(TICKETS, {"q": ticket.reference.lower()})) == [ticket.pk]
    assert found(api.get(TICKETS, {"q": number}))[0] == ticket.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    ["Wagner", "noah wagner", "noah.wagner@example.com", "wagner@example", "+45 12 34 56 78", "northwind"],
)
def test_search_finds_a_customers_tickets_by_name_email_phone_and_organization(
    api, team, wagner, others, text
):
    first = factories.ticket(team=team, customer=wagner, subject="Printer jam")
    second = factories.ticket(team=team, customer=wagner, subject="Toner", channel="phone")
    assert sorted(found(api.get(TICKETS, {"q": text}))) == sorted([first.pk, second.pk])


@pytest.mark.django_db
def test_search_finds_words_of_later_messages_and_internal_notes(api, team, agent_user, others):
    ticket = factories.ticket(team=team, subject="Printer jam", body_text="It makes a noise.")
    services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        visibility=Message.Visibility.INTERNAL,
        author_user=agent_user,
        body_text="Escalated to the hardware vendor Kyocera.",
    )
    assert found(api.get(TICKETS, {"q": "kyocera"})) == [ticket.pk]


@pytest.mark.django_db
def test_search_ranks_the_reference_first_then_subject_matches_above_message_matches(api, team, others):
    in_message = factories.ticket(team=team, subject="Question", body_text="The scanner drivers are missing.")
    in_subject = factories.ticket(team=team, subject="Scanner drivers missing", body_text="See subject.")
    assert found(api.get(TICKETS, {"q": "scanner drivers"})) == [in_subject.pk, in_message.pk]
    number = in_message.reference.split("-")[1]
    numbered = factories.ticket(team=team, subject=f"Order {number}", body_text=f"About order {number}.")
    results = found(api.get(TICKETS, {"q": number}))
    assert results[0] == in_message.pk
    if _on_postgres():
        assert numbered.pk in results  # the number in its text, ranked after the reference


@pytest.mark.django_db
def test_an_explicit_ordering_overrides_relevance(api, team, others):
    older = factories.ticket(team=team, subject="Scanner drivers missing")
    newer = factories.ticket(team=team, subject="Question", body_text="The scanner is broken.")
    assert found(api.get(TICKETS, {"q": "scanner", "ordering": "-created"})) == [newer.pk, older.pk]
    assert found(api.get(TICKETS, {"ordering": "relevance"}))[0] == newer.pk  # no q: newest first


@pytest.mark.django_db
def test_search_highlights_the_match_and_escapes_everything_else(api, team, wagner, others):
    ticket = factories.ticket(
        team=team, subject="<b>Scanner</b> broken", body_text="The <script>scanner</script> & <i stopped."
    )
    by_customer = factories.ticket(team=team, customer=wagner, subject="Toner")
    row = api.get(TICKETS, {"q": "scanner"}).json()["results"][0]
    assert row["id"] == ticket.pk
    highlight = row["search_highlight"]
    assert "<mark>" in highlight and "Scanner" in highlight
    assert "<" not in re.sub("</?mark>", "", highlight), highlight  # the rest is text, escaped
    row = api.get(TICKETS, {"q": "wagner"}).json()["results"][0]
    assert (row["id"], row["search_highlight"]) == (by_customer.pk, "Noah <mark>Wagner</mark>")
    assert api.get(TICKETS).json()["results"][0]["search_highlight"] is None


@pytest.mark.django_db
def test_search_uses_a_fixed_number_of_queries(api, team, wagner, django_assert_max_num_queries):
    for index in range(10):
        factories.ticket(team=team, customer=wagner, subject=f"Printer {index}")
    # session, user, teams (member, lead), page (the matching customers are a subquery), tags, highlights
    with django_assert_max_num_queries(7):
        assert len(found(api.get(TICKETS, {"q": "printer wagner"}))) in (0, 10)
    with django_assert_max_num_queries(7):
        assert len(found(api.get(TICKETS, {"q": "wagner"}))) == 10


@pytest.mark.django_db
def test_desk_search_box_finds_by_customer_and_shows_the_highlight(desk_client, agent_user, team, wagner):
    ticket = factories.ticket(team=team, customer=wagner, subject="Printer jam", assignee=agent_user)
    page = desk_client(agent_user).get("/desk/", {"view": "mine", "q": "wagner"}).content.decode()
    assert ticket.reference in page
    assert "Noah <mark>Wagner</mark>" in page


@pytest.mark.django_db
def test_highlights_of_nothing_are_empty(team):
    ticket = factories.ticket(team=team)
    assert ticket_search_highlights([], "printer") == {}
    assert ticket_search_highlights([ticket], "  ") == {}
    assert ticket_search(Ticket.objects.all(), " ").count() == 1


@pytest.mark.django_db
def test_two_letters_do_not_search_customers(wagner):
    assert matching_customer_ids(parse_search("wa", "HD")) == []
    assert matching_customer_ids(parse_search("wag", "HD")) == [wagner.pk]


@pytest.mark.django_db
def test_customers_found_by_name_and_by_organization_stop_at_the_limit(wagner, monkeypatch):
    for n in range(3):
        Customer.objects.create(name=f"Ann Northwind {n}", email=f"ann{n}@example.org")
        Customer.objects.create(
            name=f"Staff {n}", email=f"staff{n}@example.org", organization=wagner.organization
        )
    monkeypatch.setattr(search, "CUSTOMER_MATCH_LIMIT", 2)
    assert len(matching_customer_ids(parse_search("northwind", "HD"))) == 2


def test_search_runs_after_every_other_filter():
    """A search keeps its newest matches among the tickets the other filters leave, so it must see them."""
    assert list(TicketFilterSet.base_filters)[-2:] == ["q", "ordering"]


# --- PostgreSQL: the stored document and its indexes ----------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_search_finds_the_newest_candidates_of_each_kind_and_the_reference(
    api, team, wagner, others, monkeypatch
):
    """Words and customers each give their newest `SEARCH_CANDIDATES` matches; the reference always."""
    by_words = [factories.ticket(team=team, subject=f"Kyocera {n}", body_text="Jammed.") for n in range(3)]
    by_customer = [
        factories.ticket(team=team, customer=wagner, subject=f"Toner {n}", body_text="Empty.")
        for n in range(3)
    ]
    monkeypatch.setattr(search, "SEARCH_CANDIDATES", 2)
    assert sorted(found(api.get(TICKETS, {"q": "kyocera"}))) == sorted(t.pk for t in by_words[1:])
    assert sorted(found(api.get(TICKETS, {"q": "wagner", "ordering": "-created"}))) == sorted(
        t.pk for t in by_customer[1:]
    )
    oldest = by_words[0]
    number = oldest.reference.split("-")[1]
    for ticket in by_words[1:]:  # newer tickets mentioning the oldest one's number
        services.message_add(
            ticket=ticket, author_role=Message.AuthorRole.CUSTOMER, body_text=f"Like ticket {number}"
        )
    assert found(api.get(TICKETS, {"q": number}))[0] == oldest.pk


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        # The test tables are tiny, where a sequential scan is cheapest; forbid it to see that the
        # index can serve the query (a wrong expression or config would leave only the seq scan).
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
@pytest.mark.django_db
def test_search_vector_follows_subject_and_messages_through_the_triggers(team):
    ticket = factories.ticket(team=team, subject="Printer jam", body_text="Paper stuck.")
    vector = lambda: Ticket.objects.values_list("search_vector", flat=True).get(pk=ticket.pk)  # noqa: E731
    assert "'printer':1A" in vector() and "'paper'" in vector() and "B" in vector()
    services.message_add(
        ticket=ticket, author_role=Message.AuthorRole.CUSTOMER, body_text="Still stuck, Müller"
    )
    assert "'muller'" in vector()  # accents folded
    Ticket.objects.filter(pk=ticket.pk).update(
        subject="Scanner jam"
    )  # whatever writes it, the trigger follows
    assert "'scanner':1A" in vector() and "'printer'" not in vector() and "'muller'" in vector()
    Message.objects.filter(ticket=ticket, body_text__contains="Müller").delete()
    assert "'muller'" not in vector()


@pytest.mark.postgres
@pytest.mark.django_db
def test_automatic_messages_are_not_searched(team):
    ticket = factories.ticket(team=team, subject="Printer jam")
    Message.objects.create(
        ticket=ticket,
        author_role=Message.AuthorRole.SYSTEM,
        is_automatic=True,
        body_text="We received your request",
        created_at=ticket.created_at,
    )
    assert not ticket_search(Ticket.objects.all(), "received").exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_search_uses_the_gin_index_and_the_trigram_indexes(team, wagner):
    factories.ticket(team=team, customer=wagner)
    factories.desk_for_the_planner(teams=[team])
    plan = _plan(ticket_search(Ticket.objects.all(), "printer"))
    assert "ticket_search_vector" in plan, plan
    assert "Seq Scan on tickets_ticket" not in plan, plan
    # Each kind of match through its own index, each bounded (newest first, limited), so neither
    # the words nor the customers are read in full; the customers are found in the same statement.
    plan = _plan(ticket_search(Ticket.objects.all(), "wagner").order_by("-search_rank", "-pk")[:26])
    assert "ticket_search_vector" in plan and "customer_name_trgm" in plan, plan
    assert "Seq Scan on tickets_ticket" not in plan, plan
    assert plan.count("created_at DESC") == 2, plan  # each branch: its newest candidates
    Customer.objects.bulk_create(
        Customer(name=f"Person {n}", email=f"person{n}@example.org", phone=f"+1555{n:07d}")
        for n in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_customer")  # statistics, so the planner sees the index is selective
    assert "customer_name_trgm" in _plan(Customer.objects.filter(name__icontains="wagner"))
    assert "organization_name_trgm" in _plan(Customer.objects.filter(organization__name__icontains="north"))
    with connection.cursor() as cursor:
        # On a table this small, a bitmap scan of the whole partial unique index of emails (or phones)
        # looks cheaper than the trigram index; without those, the trigram indexes must serve the query.
        cursor.execute("DROP INDEX customer_email_unique_ci, customer_phone_unique")
    assert "customer_email_trgm" in _plan(Customer.objects.filter(email__icontains="wagner@exa"))
    assert "customer_phone_trgm" in _plan(Customer.objects.filter(phone__icontains="4512345"))
