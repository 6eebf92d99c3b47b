"""Similar solved tickets: known answers, visibility, drafts, macros, API, panel and precision@5."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveys.models import SurveyInvitation, SurveyResponse
from tests import factories
from tickets import services
from tickets.models import Macro, Message, Status, Ticket
from tickets.similar import corpus, scoring
from tickets.similar import selectors as similar

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def solved(team, subject, body, reply, *, agent, customer=None, csat=None, days_ago=10, macro=None):
    created = NOW - timedelta(days=days_ago)
    ticket = factories.ticket(team=team, customer=customer, subject=subject, body_text=body, now=created)
    message = services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent,
        body_text=reply,
        new_status=Status.SOLVED,
        now=created + timedelta(hours=1),
    )
    if macro is not None:
        Message.objects.filter(pk=message.pk).update(macro=macro)
    if csat is not None:
        invitation, _ = SurveyInvitation.objects.get_or_create(
            ticket=ticket,
            defaults={
                "channel": ticket.channel,
                "priority": ticket.priority,
                "kinds": ["csat"],
                "send_at": created,
                "created_at": created,
            },
        )
        SurveyResponse.objects.create(
            invitation=invitation,
            kind="csat",
            score=csat,
            source="web",
            created_at=created,
            updated_at=created,
        )
    return ticket


@pytest.fixture(autouse=True)
def _fresh_term_statistics():
    # Each process keeps the statistics it read for STATS_SECONDS; a test reads its own database's.
    similar.clear_term_statistics()
    yield
    similar.clear_term_statistics()


@pytest.fixture
def history(team, agent_user):
    carla = factories.CustomerFactory(name="Carla Costa")
    return {
        "double": solved(
            team,
            "Charged twice for invoice 1234",
            "My card shows two identical charges for invoice 1234, please refund one.",
            "Hi Carla, I refunded the duplicate charge on invoice 1234.",
            agent=agent_user,
            customer=carla,
            csat=5,
        ),
        "vat": solved(
            team,
            "VAT number missing on invoice 99",
            "Our accountant needs the VAT number on invoice 99.",
            "Hi, I reissued the invoice with your VAT number.",
            agent=agent_user,
        ),
        "crash": solved(
            team,
            "App crashes on startup",
            "The mobile app closes right after the splash screen.",
            "Please update the app.",
            agent=agent_user,
        ),
        "hidden": solved(
            factories.TeamFactory(),
            "Charged twice for invoice 777",
            "Two charges for invoice 777 on my card.",
            "Refunded.",
            agent=agent_user,
        ),
    }


def new_ticket(team, subject="Double charge on my invoice", body="I was charged twice for the same invoice."):
    return factories.ticket(
        team=team,
        customer=factories.CustomerFactory(name="Dana Dahl"),
        subject=subject,
        body_text=body,
        now=NOW,
    )


def test_the_most_similar_solved_ticket_comes_first_and_others_teams_tickets_never(team, agent_user, history):
    found = similar.similar_tickets(user=agent_user, ticket=new_ticket(team), now=NOW)

    assert found[0].ticket == history["double"]
    assert history["hidden"] not in [s.ticket for s in found]
    assert history["crash"] not in [s.ticket for s in found]  # shares no word or subject trigrams enough
    top = found[0]
    assert (top.csat, top.age_days) == (5, 9)  # solved an hour after it was opened, 10 days ago
    assert top.customer_text.startswith("My card shows two identical charges")
    assert top.solving_reply.body_text.startswith("Hi Carla")


def test_an_admin_also_sees_other_teams_solved_tickets(team, history):
    admin = factories.UserFactory(is_superuser=True)
    found = similar.similar_tickets(user=admin, ticket=new_ticket(team), now=NOW)
    assert {history["double"], history["hidden"]} <= {s.ticket for s in found}


def test_an_agent_also_sees_another_teams_ticket_assigned_to_them_and_nobody_sees_without_a_login(
    team, agent_user, history
):
    theirs = solved(
        factories.TeamFactory(),
        "Charged twice for invoice 555",
        "Two charges for invoice 555 on my card.",
        "Refunded.",
        agent=agent_user,
    )
    Ticket.objects.filter(pk=theirs.pk).update(assignee=agent_user)
    Ticket.objects.filter(pk=history["hidden"].pk).update(assignee=None)
    found = {s.ticket for s in similar.similar_tickets(user=agent_user, ticket=new_ticket(team), now=NOW)}
    assert theirs in found and history["double"] in found
    assert history["hidden"] not in found
    assert similar.similar_tickets(user=AnonymousUser(), ticket=new_ticket(team), now=NOW) == []


def test_a_candidate_deleted_while_the_others_are_ranked_is_left_out(team, agent_user, history, monkeypatch):
    csat_scores = similar.survey_adapter.csat_scores

    def scores_then_delete(ids):
        Ticket.objects.filter(pk=history["double"].pk).delete()
        return csat_scores(ids)

    monkeypatch.setattr(similar.survey_adapter, "csat_scores", scores_then_delete)
    found = similar.similar_tickets(user=agent_user, ticket=new_ticket(team), now=NOW)
    assert found and history["double"].pk not in [s.ticket.pk for s in found]


def test_a_good_csat_lifts_an_otherwise_equal_ticket(team, agent_user):
    plain = solved(team, "Password reset mail missing", "No reset email arrives.", "Sent.", agent=agent_user)
    liked = solved(
        team, "Password reset mail missing", "No reset email arrives.", "Sent.", agent=agent_user, csat=5
    )
    found = similar.similar_tickets(
        user=agent_user,
        ticket=new_ticket(team, "Password reset mail missing", "No reset email arrives."),
        now=NOW,
    )
    assert [s.ticket for s in found[:2]] == [liked, plain]


def test_the_draft_speaks_to_the_new_customer_and_macros_used_on_similar_tickets_come_first(
    team, agent_user, history
):
    refund = Macro.objects.create(name="Refund issued", body="Hi {{ customer.first_name }}, refunded.")
    other = Macro.objects.create(name="A generic answer", body="Thanks")
    solved(
        team,
        "Charged twice again",
        "Card charged twice.",
        "Hi Carla, refunded.",
        agent=agent_user,
        macro=refund,
    )
    ticket = new_ticket(team)
    answers = similar.similar_answers(user=agent_user, ticket=ticket, macros=Macro.objects.all(), now=NOW)
    by_ticket = {s.ticket: s for s in answers.results}
    assert by_ticket[history["double"]].draft == "Hi Dana, I refunded the duplicate charge on invoice 1234."
    assert [(m.macro, m.used_on_similar) for m in answers.suggested_macros] == [(refund, 1), (other, 0)]


def test_the_api_lists_similar_tickets_with_drafts_and_hides_invisible_tickets(
    team, agent_user, history, as_user
):
    ticket = new_ticket(team)
    client = as_user(agent_user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/api/v1/tickets/{ticket.pk}/similar/")
    assert response.status_code == 200
    # The ticket is read once (visible, else 404); the rest is the similar tickets' and the macros'.
    reads = [q["sql"] for q in captured if q["sql"].startswith('SELECT "tickets_ticket"."id"')]
    by_id = re.compile(rf'(?<!NOT \()"tickets_ticket"\."id" = {ticket.pk}\b')  # not "all but this one"
    assert sum(bool(by_id.search(sql)) for sql in reads) == 1
    first = response.json()["results"][0]
    assert first["ticket"] == history["double"].pk
    assert first["draft"].startswith("Hi Dana")
    assert first["csat"] == 5
    assert client.get(f"/api/v1/tickets/{history['hidden'].pk}/similar/").status_code == 404
    paths = client.get("/api/v1/schema/?format=json").json()["paths"]
    assert "get" in paths["/api/v1/tickets/{ticket_pk}/similar/"]


def test_the_ticket_page_panel_offers_insert_and_link(team, agent_user, history, desk_client):
    ticket = new_ticket(team)
    client = desk_client(agent_user)
    page = client.get(f"/desk/tickets/{ticket.pk}/").content.decode()
    assert 'id="similar"' in page
    panel = client.get(f"/desk/tickets/{ticket.pk}/similar/").content.decode()
    assert "Insert reply as draft" in panel
    assert history["double"].reference in panel
    response = client.post(f"/desk/tickets/{ticket.pk}/similar/{history['double'].pk}/link/")
    assert response.status_code == 302
    note = ticket.messages.get(visibility=Message.Visibility.INTERNAL)
    assert history["double"].reference in note.body_text
    assert client.post(f"/desk/tickets/{ticket.pk}/similar/{history['hidden'].pk}/link/").status_code == 404


def test_a_reply_sent_from_a_macro_records_it(team, agent_user, desk_client):
    macro = Macro.objects.create(name="Refund issued", body="Refunded.")
    ticket = new_ticket(team)
    desk_client(agent_user).post(
        f"/desk/tickets/{ticket.pk}/", {"body": "Refunded.", "visibility": "public", "macro": macro.pk}
    )
    assert ticket.messages.get(author_role="agent").macro == macro


# --- measured quality -----------------------------------------------------------------------------

HELD_APART_PER_GROUP = 1
INDEXED_PER_GROUP = 6


def test_precision_at_5_on_a_held_apart_set_of_the_duplicate_groups(team, agent_user):
    groups = len(corpus.GROUPS)
    tickets = list(corpus.generate(groups * (INDEXED_PER_GROUP + HELD_APART_PER_GROUP), seed=11))
    held_apart, indexed = tickets[: groups * HELD_APART_PER_GROUP], tickets[groups * HELD_APART_PER_GROUP :]
    group_of = {}
    for item in indexed:
        ticket = solved(
            team,
            item.subject,
            item.body,
            item.reply,
            agent=agent_user,
            csat=item.csat,
            days_ago=item.age_days,
        )
        group_of[ticket.pk] = item.group
    ranked, expected = [], []
    for item in held_apart:
        query = factories.ticket(team=team, subject=item.subject, body_text=item.body, now=NOW)
        found = similar.similar_tickets(user=agent_user, ticket=query, now=NOW, limit=5)
        ranked.append([group_of.get(s.ticket.pk, "?") for s in found])
        expected.append(item.group)
    precision = corpus.precision_at_k(ranked, expected)
    print(f"precision@5 on {connection.vendor}: {precision:.3f} over {len(held_apart)} queries")
    # Measured (docs/similar-tickets.md): 0.800 ranked in PostgreSQL, 0.762 by the SQLite fallback.
    assert precision >= (0.8 if connection.vendor == "postgresql" else 0.75)


# --- PostgreSQL: bounded candidates through the indexes ---------------------------------------------


@pytest.mark.postgres
def test_the_rarest_terms_pick_the_candidates_when_the_budget_is_small(team, agent_user, monkeypatch):
    for n in range(30):
        solved(team, f"Printer jam {n}", "The printer jams on every page.", "Cleaned.", agent=agent_user)
    target = solved(
        team,
        "Printer firmware bricked",
        "The printer firmware update bricked it.",
        "Reflashed.",
        agent=agent_user,
    )
    # Without statistics every term counts as rare; stop words of the configuration are left out. (No
    # ANALYZE here: its row estimate outlives the test's transaction and would change other tests' plans.)
    shares, _ = similar.term_frequencies(["printer", "firmware", "the"])
    assert shares == {"printer": 0.0, "firmware": 0.0}
    # As ANALYZE would see it: printer in 30 of 31 tickets, firmware in one.
    monkeypatch.setattr(
        similar, "term_frequencies", lambda terms: ({"printer": 0.97, "firmware": 0.03}, 31.0)
    )
    monkeypatch.setattr(scoring, "MATCH_BUDGET", 5)
    monkeypatch.setattr(similar, "MATCH_CAP", 1)  # only one match may be ranked
    monkeypatch.setattr(similar, "SUBJECT_CANDIDATES", 0)
    query = new_ticket(team, "Firmware update broke my printer", "After the firmware update nothing prints.")
    found = similar.similar_tickets(user=agent_user, ticket=query, now=NOW)
    assert [s.ticket for s in found] == [target]


@pytest.mark.postgres
def test_each_process_reads_the_term_statistics_once_and_each_terms_lexemes_once(
    django_assert_num_queries, monkeypatch
):
    with django_assert_num_queries(2):  # the statistics, the lexemes of the three terms
        shares, _ = similar.term_frequencies(["printers", "firmware", "the"])
    assert set(shares) == {"printers", "firmware"}  # "the" is a stop word of the configuration
    with django_assert_num_queries(0):
        similar.term_frequencies(["firmware", "printers"])
    with django_assert_num_queries(1):  # only the new term's lexemes
        similar.term_frequencies(["firmware", "scanner"])
    monkeypatch.setattr(similar, "STATS_SECONDS", 0)  # the statistics are read again once they are old
    with django_assert_num_queries(1):
        similar.term_frequencies(["firmware", "scanner"])


@pytest.mark.postgres
def test_the_candidates_come_from_one_statement_that_reads_the_matched_tickets_once(
    team, agent_user, history, monkeypatch
):
    monkeypatch.setattr(similar, "SUBJECT_FALLBACK_BELOW", 1)  # the words found enough: no subject look-up
    ticket = new_ticket(team)
    similar.similar_tickets(user=agent_user, ticket=ticket, now=NOW)  # reads the statistics and lexemes
    with CaptureQueriesContext(connection) as captured:
        found = similar.similar_tickets(user=agent_user, ticket=ticket, now=NOW)
    assert found[0].ticket == history["double"]
    statements = [q["sql"] for q in captured.captured_queries]
    # The query ticket's first message, the agent's teams, the candidates, their CSAT, the shown tickets,
    # and their messages (first customer message, solving reply).
    assert len(statements) == 6
    candidates = [sql for sql in statements if "ts_rank" in sql]
    assert len(candidates) == 1
    with connection.cursor() as cursor:
        # The test tables are tiny, where a sequential scan is cheapest; forbid it to see the plan a big
        # table gets.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + candidates[0])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on ticket_search_vector" in plan
    # The matched rows are read once: the visibility rule is not checked by a second look-up.
    assert len(re.findall(r"(?:Seq|Heap|Index|Only) Scan (?:using \S+ )?on tickets_ticket ", plan)) == 1, plan
