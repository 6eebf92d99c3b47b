"""TicketFilterSet: every filter, the ordering, search, cursor pagination and query counts."""

from datetime import UTC, datetime, timedelta

import pytest

from tests import factories
from tickets import services
from tickets.models import Message, Status

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(as_user, agent_user):
    return as_user(agent_user)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def make(team, **kwargs):
    return factories.ticket(team=team, **kwargs)


def test_filter_by_several_statuses(client, team):
    new = make(team)
    pending = services.ticket_change_status(ticket=make(team), status=Status.PENDING)
    make_solved = services.ticket_change_status(ticket=make(team), status=Status.SOLVED)
    assert sorted(ids(client.get("/api/v1/tickets/?status=new&status=pending"))) == sorted(
        [new.pk, pending.pk]
    )
    assert ids(client.get("/api/v1/tickets/?status=solved")) == [make_solved.pk]


def test_filter_by_priority_channel_and_customer(client, team, customer):
    urgent = make(team, priority="urgent", channel="phone", customer=customer)
    make(team, priority="low", channel="email")
    assert ids(client.get("/api/v1/tickets/?priority=urgent")) == [urgent.pk]
    assert ids(client.get("/api/v1/tickets/?channel=phone")) == [urgent.pk]
    assert ids(client.get(f"/api/v1/tickets/?customer={customer.pk}")) == [urgent.pk]


def test_filter_by_team(as_user, admin_user, team):
    other = factories.TeamFactory()
    mine = make(team)
    make(other)
    assert ids(as_user(admin_user).get(f"/api/v1/tickets/?team={team.pk}")) == [mine.pk]


def test_filter_by_assignee_me_unassigned_and_id(client, agent_user, team):
    colleague = factories.AgentFactory(teams=[team]).user
    mine = services.ticket_assign(ticket=make(team), assignee=agent_user)
    theirs = services.ticket_assign(ticket=make(team), assignee=colleague)
    nobody = make(team)
    assert ids(client.get("/api/v1/tickets/?assignee=me")) == [mine.pk]
    assert ids(client.get("/api/v1/tickets/?assignee=unassigned")) == [nobody.pk]
    assert ids(client.get(f"/api/v1/tickets/?assignee={colleague.pk}")) == [theirs.pk]
    response = client.get("/api/v1/tickets/?assignee=somebody")
    assert response.status_code == 400
    assert "'me', 'unassigned' or a user id" in response.json()["detail"]


def test_filter_by_organization_and_tag(client, team):
    organization = factories.OrganizationFactory()
    of_org = make(
        team, customer=factories.CustomerFactory(organization=organization), tags=["vip", "billing"]
    )
    make(team, tags=["billing"])
    assert ids(client.get(f"/api/v1/tickets/?organization={organization.pk}")) == [of_org.pk]
    assert ids(client.get("/api/v1/tickets/?tag=VIP")) == [of_org.pk]
    assert len(ids(client.get("/api/v1/tickets/?tag=billing"))) == 2


def test_filter_by_created_and_solved_ranges(client, team):
    early = make(team, now=T0)
    late = make(team, now=T0 + timedelta(days=10))
    services.ticket_change_status(ticket=early, status=Status.SOLVED, now=T0 + timedelta(days=1))
    assert ids(client.get("/api/v1/tickets/?created_after=2026-03-05T00:00:00Z")) == [late.pk]
    assert ids(client.get("/api/v1/tickets/?created_before=2026-03-05T00:00:00Z")) == [early.pk]
    assert ids(client.get("/api/v1/tickets/?solved_after=2026-03-03T00:00:00Z&solved_before=2026-03-04")) == [
        early.pk
    ]
    assert client.get("/api/v1/tickets/?created_after=yesterday").status_code == 400


def test_search_finds_words_in_subject_and_in_messages(client, team, agent_user):
    by_subject = make(team, subject="Invoice missing", body_text="hello")
    by_message = make(team, subject="Question", body_text="Where is my invoice?")
    make(team, subject="Printer", body_text="paper jam")
    services.message_add(
        ticket=make(team, subject="Other", body_text="x"),
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="unrelated",
    )
    assert sorted(ids(client.get("/api/v1/tickets/?q=invoice"))) == sorted([by_subject.pk, by_message.pk])
    assert ids(client.get("/api/v1/tickets/?q=jam")) != []


@pytest.mark.postgres
def test_search_on_postgres_uses_full_text_search_with_stemming(client, team):
    found = make(team, subject="Question", body_text="The printers are jamming")
    assert ids(client.get("/api/v1/tickets/?q=printer jam")) == [found.pk]
    assert client.get('/api/v1/tickets/?q=" OR (').status_code == 200


def test_ordering_by_priority_uses_urgency_rank_not_the_alphabet(client, team):
    low = make(team, priority="low", now=T0)
    urgent = make(team, priority="urgent", now=T0 + timedelta(minutes=1))
    normal = make(team, priority="normal", now=T0 + timedelta(minutes=2))
    high = make(team, priority="high", now=T0 + timedelta(minutes=3))
    assert ids(client.get("/api/v1/tickets/?ordering=-priority")) == [urgent.pk, high.pk, normal.pk, low.pk]
    assert ids(client.get("/api/v1/tickets/?ordering=priority")) == [low.pk, normal.pk, high.pk, urgent.pk]


def test_ordering_by_created_and_updated(client, team):
    first = make(team, now=T0)
    second = make(team, now=T0 + timedelta(hours=1))
    services.ticket_change_priority(ticket=first, priority="high", now=T0 + timedelta(hours=2))
    assert ids(client.get("/api/v1/tickets/")) == [second.pk, first.pk]
    assert ids(client.get("/api/v1/tickets/?ordering=created")) == [first.pk, second.pk]
    assert ids(client.get("/api/v1/tickets/?ordering=-updated")) == [first.pk, second.pk]
    assert ids(client.get("/api/v1/tickets/?ordering=updated")) == [second.pk, first.pk]
    response = client.get("/api/v1/tickets/?ordering=subject")
    assert response.status_code == 400
    assert "ordering" in response.json()["errors"]


def test_cursor_pagination_walks_every_ticket_once(client, team):
    created = [make(team, now=T0 + timedelta(minutes=i)) for i in range(7)]
    seen = []
    url = "/api/v1/tickets/?page_size=3&ordering=-priority"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(t.pk for t in created)
    assert len(seen) == 7


def test_a_malformed_cursor_answers_404_with_the_error_body(client, team):
    response = client.get("/api/v1/tickets/?cursor=garbage")
    assert response.status_code == 404
    assert response.json()["detail"] == "Invalid cursor"


def _list_queries(client, django_assert_max_num_queries, url, count):
    with django_assert_max_num_queries(count) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), len(response.json()["results"])


@pytest.mark.parametrize("url", ["/api/v1/tickets/?page_size=50", "/api/v1/tickets/?page_size=50&q=fire"])
def test_ticket_list_query_count_does_not_grow_with_the_page(
    client, team, agent_user, django_assert_max_num_queries, url
):
    for _ in range(5):
        make(
            team,
            tags=["a", "b"],
            customer=factories.CustomerFactory(organization=factories.OrganizationFactory()),
        )
    few, rows = _list_queries(client, django_assert_max_num_queries, url, 12)
    assert rows == 5
    for _ in range(45):
        services.ticket_assign(
            ticket=make(team, tags=["c"], customer=factories.CustomerFactory()), assignee=agent_user
        )
    many, rows = _list_queries(client, django_assert_max_num_queries, url, 12)
    assert rows == 50
    assert many == few


def test_message_list_query_count_does_not_grow_with_the_page(
    client, ticket, agent_user, django_assert_max_num_queries
):
    url = f"/api/v1/tickets/{ticket.pk}/messages/?page_size=50"

    def reply(n):
        for _ in range(n):
            services.message_add(
                ticket=ticket,
                author_role=Message.AuthorRole.AGENT,
                author_user=agent_user,
                body_text="x",
                attachments=[services.AttachmentInput(filename="f.txt", content=b"1")],
            )

    reply(4)
    few, rows = _list_queries(client, django_assert_max_num_queries, url, 10)
    assert rows == 5
    reply(45)
    many, rows = _list_queries(client, django_assert_max_num_queries, url, 10)
    assert rows == 50
    assert many == few


@pytest.mark.parametrize(
    "url", ["/api/v1/customers/", "/api/v1/agents/", "/api/v1/notifications/", "/api/v1/organizations/"]
)
def test_other_lists_have_a_constant_query_count(
    client, team, agent_user, django_assert_max_num_queries, url
):
    for _ in range(3):
        services.notification_create(recipient=agent_user, kind="assignment", title="t")
        make(team, customer=factories.CustomerFactory(organization=factories.OrganizationFactory()))
        factories.AgentFactory(teams=[team])
    few, _ = _list_queries(client, django_assert_max_num_queries, url, 10)
    for _ in range(10):
        services.notification_create(recipient=agent_user, kind="assignment", title="t")
        make(team, customer=factories.CustomerFactory(organization=factories.OrganizationFactory()))
        factories.AgentFactory(teams=[team, factories.TeamFactory()])
    many, _ = _list_queries(client, django_assert_max_num_queries, url, 10)
    assert many == few


def test_a_hand_made_cursor_with_a_position_of_the_wrong_type_answers_404(client, team):
    import base64
    from urllib.parse import quote

    make(team)
    cursor = base64.b64encode(b"o=0&p=not-a-date").decode()
    response = client.get(f"/api/v1/tickets/?cursor={quote(cursor)}")
    assert response.status_code == 404
    assert response.json()["detail"] == "Invalid cursor"


@pytest.mark.parametrize("query", ["team=99999999999999999999", "customer=-1", "organization=1.5"])
def test_ids_out_of_range_answer_400(client, query):
    response = client.get(f"/api/v1/tickets/?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tickets/?created_before=3625-02-22T17:49:49%2B16:36",
        "/api/v1/phone-calls/?started_before=3625-02-22T17:49:49%2B16:36",
        "/api/v1/survey-responses/?created_after=2026-03-01T00:00:00-18:00",
    ],
)
def test_instants_with_offsets_beyond_what_postgresql_accepts_still_filter(as_user, admin_user, path):
    assert as_user(admin_user).get(path).status_code == 200


def test_instants_out_of_range_after_conversion_answer_400(as_user, admin_user):
    response = as_user(admin_user).get("/api/v1/tickets/?created_after=0001-01-01T00:00:00%2B01:00")
    assert response.status_code == 400
    assert "out of range" in response.json()["detail"]
