"""View tests of the agent workspace (/desk/): every page, every permission rule, the writes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sla import services as sla_services
from sla.models import Metric
from tests import factories
from tickets import services
from tickets.exceptions import DomainError
from tickets.models import (
    Agent,
    AuditEntry,
    DeskProfile,
    Macro,
    Message,
    Notification,
    Priority,
    Status,
    Tag,
    Ticket,
    TicketPresence,
)
from tickets.services import AttachmentInput
from tickets.workspace import services as ws_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_team():
    return factories.TeamFactory(name="Other team")


@pytest.fixture
def foreign_ticket(other_team):
    return factories.ticket(team=other_team, subject="Someone else's problem")


@pytest.fixture
def lead(team):
    user = factories.UserFactory(first_name="Lena")
    factories.AgentFactory(user=user, teams=[team])
    team.lead = user
    team.save(update_fields=["lead"])
    return user


@pytest.fixture
def agent_client(desk_client, agent_user):
    return desk_client(agent_user)


def _url(name, *args):
    return reverse(f"workspace:{name}", args=args)


# --- login and access ----------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_workspace_login(client):
    response = client.get(_url("queue"))
    assert response.status_code == 302
    assert response["Location"].startswith("/desk/login/?next=")


def test_login_page_renders_labelled_fields(client):
    response = client.get(_url("login"))
    assert response.status_code == 200
    assert b'<label for="id_username">' in response.content
    assert b'<label for="id_password">' in response.content


def test_agent_logs_in_with_password_and_lands_on_the_queue(client, agent_user):
    response = client.post(_url("login"), {"username": agent_user.username, "password": "pass-word-123"})
    assert response.status_code == 302
    assert response["Location"] == "/desk/"


def test_wrong_password_shows_an_error_and_no_session(client, agent_user):
    response = client.post(_url("login"), {"username": agent_user.username, "password": "nope"})
    assert response.status_code == 200
    assert b"form-error" in response.content
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post(agent_client):
    assert agent_client.get(_url("logout")).status_code == 405
    response = agent_client.post(_url("logout"))
    assert response.status_code == 302
    assert agent_client.get(_url("queue")).status_code == 302


def test_a_user_who_is_not_helpdesk_staff_is_refused(desk_client):
    outsider = factories.UserFactory()
    assert desk_client(outsider).get(_url("queue")).status_code == 403


def test_root_redirects_to_the_workspace(client):
    assert client.get("/")["Location"] == "/desk/"


# --- queue -------------------------------------------------------------------------------------------


def test_my_open_tickets_lists_only_tickets_assigned_to_me(agent_client, agent_user, team):
    mine = factories.ticket(team=team, subject="Mine")
    services.ticket_assign(ticket=mine, assignee=agent_user)
    factories.ticket(team=team, subject="Nobody's")
    response = agent_client.get(_url("queue"))
    assert response.status_code == 200
    assert [t.pk for t, _ in response.context["rows"]] == [mine.pk]
    assert response.context["counts"]["mine"] == 1
    assert response.context["counts"]["unassigned"] == 1


def test_a_queue_row_shows_the_ticket_its_tags_labels_customer_assignee_and_sla(
    agent_client, agent_user, team
):
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={(Priority.HIGH, Metric.FIRST_RESPONSE): (3600, False)},
        teams=[team],
    )
    customer = factories.CustomerFactory(name="Ada Lovelace", is_vip=True)
    now = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    ticket = factories.ticket(
        team=team, customer=customer, priority=Priority.HIGH, tags=["vpn", "billing"], now=now
    )
    services.ticket_change_status(ticket=ticket, status=Status.OPEN, now=now)
    services.ticket_assign(ticket=ticket, assignee=agent_user, now=now)
    ws_services.desk_profile_update(user=agent_user, time_zone="Europe/Lisbon")
    page = agent_client.get(_url("queue"), {"view": "mine"}).content.decode()
    url = _url("ticket", ticket.pk)
    assert f'data-id="{ticket.pk}" data-href="{url}">' in page
    assert f'<td class="col-ref"><a href="{url}" tabindex="-1">{ticket.reference}</a></td>' in page
    assert '<span class="tag">billing</span><span class="tag">vpn</span></td>' in page  # in name order
    assert 'Ada Lovelace <span class="vip" title="VIP customer">VIP</span>' in page
    assert '<span class="pill priority priority-high">High</span>' in page
    assert '<span class="pill status status-open">Open</span>' in page
    assert f'<td class="col-assignee">{agent_user.get_full_name() or agent_user.get_username()}</td>' in page
    assert 'title="First response due Wed 1 Jul 2026, 14:00 WEST"' in page
    assert 'title="Wed 1 Jul 2026, 13:00 WEST">' in page  # the last update, in the agent's zone
    name = agent_user.get_full_name() or agent_user.get_username()
    assert f'<option value="{agent_user.pk}">{name}</option>' in page  # the bulk bar's "Assign to"


def test_queue_never_shows_another_teams_ticket_in_any_view_or_search(agent_client, foreign_ticket):
    for view in ("mine", "unassigned", "breaching", "breached", "pending", "open"):
        response = agent_client.get(_url("queue"), {"view": view, "q": "problem"})
        assert foreign_ticket.pk not in [t.pk for t, _ in response.context["rows"]]
        assert foreign_ticket.subject.encode() not in response.content
    assert agent_client.get(_url("queue"), {"view": "open"}).context["counts"]["open"] == 0


def test_queue_views_pending_and_all_open(agent_client, team):
    pending = factories.ticket(team=team, subject="Waiting")
    services.ticket_change_status(ticket=pending, status=Status.PENDING)
    solved = factories.ticket(team=team, subject="Done")
    services.ticket_change_status(ticket=solved, status=Status.SOLVED)
    fresh = factories.ticket(team=team, subject="Fresh")
    pending_rows = agent_client.get(_url("queue"), {"view": "pending"}).context["rows"]
    open_rows = agent_client.get(_url("queue"), {"view": "open"}).context["rows"]
    assert [t.pk for t, _ in pending_rows] == [pending.pk]
    assert {t.pk for t, _ in open_rows} == {pending.pk, fresh.pk}


def test_the_breached_view_shows_a_red_badge_and_tickets_without_a_policy_show_none(agent_client, team):
    policy = factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={(Priority.NORMAL, Metric.FIRST_RESPONSE): (3600, False)},
        teams=[team],
    )
    late = factories.ticket(team=team, subject="Late", now=timezone.now() - timedelta(hours=2))
    policy.teams.set([])
    policy.is_active = False
    policy.save()
    factories.ticket(team=team, subject="No policy")
    breached = agent_client.get(_url("queue"), {"view": "breached"})
    assert [t.pk for t, _ in breached.context["rows"]] == [late.pk]
    assert breached.context["counts"]["breached"] == 1
    assert b"sla-breached" in breached.content
    rows = agent_client.get(_url("queue"), {"view": "open"}).context["rows"]
    assert {t.subject: summary.level for t, summary in rows} == {"Late": "breached", "No policy": ""}
    # The ticket page names the metric and its state in words, not slugs.
    page = agent_client.get(_url("ticket", late.pk)).content.decode()
    assert "<span>First response</span>" in page and "First_response" not in page


def test_queue_filters_use_the_api_filterset(agent_client, team):
    chat = factories.ticket(team=team, subject="Chat one", channel="chat")
    factories.ticket(team=team, subject="Mail one", channel="email")
    services.ticket_add_tags(ticket=chat, names=["billing"])
    for params in ({"channel": "chat"}, {"tag": "billing"}, {"q": "Chat"}, {"team": team.pk}):
        rows = agent_client.get(_url("queue"), {"view": "open", **params}).context["rows"]
        expected = [chat.pk] if "team" not in params else None
        if expected is not None:
            assert [t.pk for t, _ in rows] == expected, params
        else:
            assert len(rows) == 2


def test_the_filter_form_as_a_browser_sends_it_with_empty_choices_searches(agent_client, team):
    wanted = factories.ticket(team=team, subject="Invoice sent twice")
    factories.ticket(team=team, subject="Printer jam")
    form = {"view": "all", "q": wanted.reference, "team": "", "channel": "", "priority": "", "tag": ""}
    response = agent_client.get(_url("queue"), form)
    assert [t.pk for t, _ in response.context["rows"]] == [wanted.pk]
    assert "channel=" not in response.context["base_query"]


def test_queue_with_a_malformed_filter_shows_the_error_and_no_tickets(agent_client, team):
    factories.ticket(team=team)
    response = agent_client.get(_url("queue"), {"view": "open", "team": "not-a-number"})
    assert response.status_code == 200
    assert response.context["rows"] == []
    assert b"Check the filters" in response.content


def test_queue_sorts_by_priority(agent_client, team):
    low = factories.ticket(team=team, priority="low")
    urgent = factories.ticket(team=team, priority="urgent")
    rows = agent_client.get(_url("queue"), {"view": "open", "ordering": "-priority"}).context["rows"]
    assert [t.pk for t, _ in rows] == [urgent.pk, low.pk]


def test_an_unknown_view_answers_404_and_says_so(agent_client):
    response = agent_client.get(_url("queue"), {"view": "bogus"})
    assert response.status_code == 404


def test_solved_closed_and_all_views_list_what_their_names_say(agent_client, team):
    solved = factories.ticket(team=team, subject="Done")
    services.ticket_change_status(ticket=solved, status=Status.SOLVED)
    closed = factories.ticket(team=team, subject="Long done")
    services.ticket_change_status(ticket=closed, status=Status.SOLVED)
    services.ticket_change_status(ticket=closed, status=Status.CLOSED)
    fresh = factories.ticket(team=team, subject="Fresh")

    def listed(view):
        return {t.pk for t, _ in agent_client.get(_url("queue"), {"view": view}).context["rows"]}

    assert listed("solved") == {solved.pk}
    assert listed("closed") == {closed.pk}
    assert listed("all") == {solved.pk, closed.pk, fresh.pk}
    counts = agent_client.get(_url("queue")).context["counts"]
    assert (counts["solved"], counts["closed"], counts["all"]) == (1, 1, 3)


def test_the_unrouted_view_is_for_leads_and_admins_and_lists_team_less_tickets(
    desk_client, agent_user, lead, team
):
    lost = factories.ticket(team=None, subject="Nobody's")
    factories.ticket(team=team, subject="Routed")
    response = desk_client(lead).get(_url("queue"), {"view": "unrouted"})
    assert [t.pk for t, _ in response.context["rows"]] == [lost.pk]
    assert response.context["counts"]["unrouted"] == 1
    assert b"Unrouted (no team)" in response.content
    agent_client = desk_client(agent_user)
    assert agent_client.get(_url("queue"), {"view": "unrouted"}).status_code == 404
    assert "unrouted" not in agent_client.get(_url("queue")).context["counts"]


def test_an_agent_saves_a_view_and_it_reopens_with_its_filters(agent_client, agent_user, team):
    factories.ticket(team=team, subject="Urgent one", priority=Priority.URGENT)
    factories.ticket(team=team, subject="Calm one", priority=Priority.LOW)
    response = agent_client.post(
        _url("saved_view_save"),
        {"name": "My urgent", "view": "open", "priority": "urgent", "ordering": "-priority"},
    )
    saved = agent_user.saved_views.get()
    assert saved.team is None and "priority=urgent" in saved.query
    page = agent_client.get(response["Location"])
    assert [t.subject for t, _ in page.context["rows"]] == ["Urgent one"]
    assert page.context["active_saved"] == saved.pk
    assert b"My urgent" in page.content


def test_a_view_shared_with_a_team_shows_for_its_members_only(desk_client, agent_user, team, other_team):
    agent_client = desk_client(agent_user)
    agent_client.post(_url("saved_view_save"), {"name": "Team backlog", "view": "open", "team": team.pk})
    teammate = factories.AgentFactory(teams=[team]).user
    outsider = factories.AgentFactory(teams=[other_team]).user
    assert [v.name for v in desk_client(teammate).get(_url("queue")).context["saved_views"]] == [
        "Team backlog"
    ]
    assert desk_client(outsider).get(_url("queue")).context["saved_views"] == []


def test_sharing_a_view_with_a_team_you_are_not_in_is_refused(agent_client, agent_user, other_team):
    response = agent_client.post(
        _url("saved_view_save"), {"name": "Theirs", "view": "open", "team": other_team.pk}
    )
    assert response.status_code == 302
    assert not agent_user.saved_views.exists()


def test_only_the_owner_deletes_a_saved_view(desk_client, agent_user, team):
    desk_client(agent_user).post(_url("saved_view_save"), {"name": "Shared", "view": "open", "team": team.pk})
    saved = agent_user.saved_views.get()
    teammate = factories.AgentFactory(teams=[team]).user
    assert desk_client(teammate).post(_url("saved_view_delete", saved.pk)).status_code == 403
    assert desk_client(agent_user).post(_url("saved_view_delete", saved.pk)).status_code == 302
    assert not agent_user.saved_views.exists()


def test_queue_rows_partial_is_only_the_table_body(agent_client, team):
    factories.ticket(team=team, subject="Partial")
    response = agent_client.get(_url("queue_rows"), {"view": "open"})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.startswith('<tbody id="queue-rows"')
    assert "Partial" in body
    assert 'hx-trigger="every 20s"' in body


def test_queue_query_count_does_not_grow_with_the_number_of_tickets(
    agent_client, team, agent_user, django_assert_max_num_queries
):
    def make(n):
        for _ in range(n):
            ticket = factories.ticket(team=team)
            services.ticket_add_tags(ticket=ticket, names=["a", "b"])
            services.ticket_assign(ticket=ticket, assignee=agent_user)

    make(2)
    # 20, plus one each for the user's led teams (Unrouted), saved views, teams (to share a view with) and
    # time zone (DeskTimeZoneMiddleware).
    with django_assert_max_num_queries(25) as small:  # view counts: unsolved views, then the others
        agent_client.get(_url("queue"), {"view": "open"})
    make(25)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = agent_client.get(_url("queue"), {"view": "open"})
    assert len(response.context["rows"]) == 27
    with django_assert_max_num_queries(len(small.captured_queries)):
        agent_client.get(_url("queue_rows"), {"view": "open"})


# --- bulk actions --------------------------------------------------------------------------------


def test_bulk_assign_to_me_changes_every_selected_ticket(agent_client, agent_user, team):
    tickets = [factories.ticket(team=team) for _ in range(3)]
    response = agent_client.post(
        _url("bulk"), {"ticket": [t.pk for t in tickets], "action": "assign", "value_assign": "me"}
    )
    assert response.status_code == 302
    assert set(Ticket.objects.values_list("assignee", flat=True)) == {agent_user.pk}


def test_bulk_action_on_a_foreign_id_is_refused_and_reported(agent_client, team, foreign_ticket):
    own = factories.ticket(team=team)
    response = agent_client.post(
        _url("bulk"),
        {"ticket": [own.pk, foreign_ticket.pk], "action": "priority", "value_priority": "urgent"},
        follow=True,
    )
    own.refresh_from_db()
    foreign_ticket.refresh_from_db()
    assert own.priority == "urgent"
    assert foreign_ticket.priority == "normal"
    texts = [str(m) for m in response.context["messages"]]
    assert any(f"#{foreign_ticket.pk}: No such ticket that you can see." in t for t in texts)


def test_bulk_reports_per_ticket_service_errors_and_applies_the_rest(agent_client, team):
    ok = factories.ticket(team=team)
    closed = factories.ticket(team=team)
    services.ticket_change_status(ticket=closed, status=Status.SOLVED)
    services.ticket_change_status(ticket=closed, status=Status.CLOSED)
    response = agent_client.post(
        _url("bulk"),
        {"ticket": [ok.pk, closed.pk], "action": "status", "value_status": "pending"},
        follow=True,
    )
    ok.refresh_from_db()
    assert ok.status == Status.PENDING
    texts = [str(m) for m in response.context["messages"]]
    assert any(closed.reference in t and "closed" in t for t in texts)


def test_bulk_add_tag_and_merge(agent_client, team):
    target, source = factories.ticket(team=team), factories.ticket(team=team)
    agent_client.post(_url("bulk"), {"ticket": [target.pk, source.pk], "action": "tag", "value_tag": "vip"})
    assert set(Tag.objects.get(name="vip").tickets.all()) == {target, source}
    agent_client.post(
        _url("bulk"), {"ticket": [source.pk, target.pk], "action": "merge", "value_merge": target.reference}
    )
    source.refresh_from_db()
    assert source.merged_into_id == target.pk
    assert source.status == Status.CLOSED


def test_bulk_merge_into_a_foreign_ticket_is_refused(agent_client, team, foreign_ticket):
    source = factories.ticket(team=team)
    response = agent_client.post(
        _url("bulk"),
        {"ticket": [source.pk], "action": "merge", "value_merge": foreign_ticket.reference},
        follow=True,
    )
    source.refresh_from_db()
    assert source.merged_into_id is None
    assert any("No ticket" in str(m) for m in response.context["messages"])


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"ticket": ["abc", "-1", "99999999999999999999999"]},
        {"ticket": ["1"], "action": "explode"},
        {"ticket": ["1"], "action": "tag", "value_tag": ""},
    ],
)
def test_bulk_with_hostile_input_changes_nothing_and_explains(agent_client, team, data):
    ticket = factories.ticket(team=team)
    response = agent_client.post(_url("bulk"), data, follow=True)
    assert response.status_code == 200
    assert list(response.context["messages"])
    assert Ticket.objects.get(pk=ticket.pk).updated_at == ticket.updated_at


def test_bulk_next_parameter_cannot_redirect_off_site(agent_client, team):
    ticket = factories.ticket(team=team)
    response = agent_client.post(
        _url("bulk"),
        {"ticket": [ticket.pk], "action": "priority", "value_priority": "high", "next": "https://evil.test/"},
    )
    assert response["Location"] == "/desk/"


# --- ticket page ------------------------------------------------------------------------------------


def test_ticket_page_shows_thread_with_distinct_labelled_messages(agent_client, agent_user, ticket):
    services.message_add(
        ticket=ticket, author_role="agent", author_user=agent_user, body_text="Public answer"
    )
    services.message_add(
        ticket=ticket, author_role="agent", author_user=agent_user, body_text="Secret", visibility="internal"
    )
    response = agent_client.get(_url("ticket", ticket.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="msg msg-customer"' in html
    assert 'class="msg msg-agent"' in html
    assert 'class="msg msg-note"' in html
    assert 'aria-label="Internal note from' in html
    assert 'aria-label="Customer message from' in html


def test_ticket_page_renders_sanitised_html_and_escapes_plain_text(agent_client, team):
    ticket = factories.ticket(
        team=team,
        body_text="<script>alert(1)</script>",
        body_html="<p>Hi <b>bold</b><script>alert(2)</script></p>",  # the services sanitise it
    )
    services.message_add(ticket=ticket, author_role="customer", body_text="<img src=x onerror=alert(3)>")
    html = agent_client.get(_url("ticket", ticket.pk)).content.decode()
    assert "<b>bold</b>" in html
    assert "alert(2)" not in html
    assert "<img src=x onerror" not in html
    assert "&lt;img src=x onerror=alert(3)&gt;" in html


def test_another_teams_ticket_answers_404_everywhere(agent_client, foreign_ticket):
    pk = foreign_ticket.pk
    assert agent_client.get(_url("ticket", pk)).status_code == 404
    assert agent_client.post(_url("ticket", pk), {"body": "x", "visibility": "public"}).status_code == 404
    assert agent_client.post(_url("update", pk), {"priority": "urgent"}).status_code == 404
    assert agent_client.post(_url("presence", pk), {"activity": "viewing"}).status_code == 404
    macro = Macro.objects.create(name="Hi", body="Hello")
    assert agent_client.get(_url("macro", pk, macro.pk)).status_code == 404
    foreign_ticket.refresh_from_db()
    assert foreign_ticket.priority == "normal"
    assert foreign_ticket.messages.count() == 1


def test_customer_panel_shows_other_tickets_only_if_visible(agent_client, team, other_team, customer):
    ticket = factories.ticket(team=team, customer=customer)
    sibling = factories.ticket(team=team, customer=customer, subject="Sibling", channel="chat")
    hidden = factories.ticket(team=other_team, customer=customer, subject="Hidden sibling")
    response = agent_client.get(_url("ticket", ticket.pk))
    others = [t.pk for t in response.context["other_tickets"]]
    assert others == [sibling.pk]
    assert hidden.reference.encode() not in response.content
    assert customer.email.encode() in response.content


def test_public_reply_is_sent_and_opens_a_new_ticket(agent_client, ticket):
    response = agent_client.post(_url("ticket", ticket.pk), {"body": "We are on it.", "visibility": "public"})
    assert response.status_code == 302
    message = ticket.messages.latest("pk")
    assert response["Location"] == f"/desk/tickets/{ticket.pk}/#message-{message.pk}"
    assert message.is_public_agent_reply
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_internal_note_does_not_count_as_a_response(agent_client, ticket):
    agent_client.post(_url("ticket", ticket.pk), {"body": "Check logs", "visibility": "internal"})
    message = ticket.messages.latest("pk")
    assert message.visibility == Message.Visibility.INTERNAL
    ticket.refresh_from_db()
    assert ticket.first_response_at is None


def test_reply_submitted_as_solved_solves_the_ticket(agent_client, ticket):
    agent_client.post(
        _url("ticket", ticket.pk), {"body": "Fixed", "visibility": "public", "submit_as": "solved"}
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED


def test_reply_with_attachment_can_be_downloaded(agent_client, ticket):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")
    agent_client.post(
        _url("ticket", ticket.pk), {"body": "See file", "visibility": "public", "attachments": upload}
    )
    attachment = ticket.messages.latest("pk").attachments.get()
    response = agent_client.get(_url("attachment", attachment.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert "attachment;" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == b"hello"


def test_empty_reply_is_refused_with_an_inline_error(agent_client, ticket):
    response = agent_client.post(_url("ticket", ticket.pk), {"body": "  ", "visibility": "internal"})
    assert response.status_code == 400
    content = response.content.decode()
    assert (
        'id="id_body" name="body" rows="7" autofocus aria-invalid="true" aria-describedby="body-error"'
        in content
    )
    assert '<p class="field-error" id="body-error">Write a message before sending.</p>' in content
    assert 'value="internal" id="id_visibility_1" required checked>' in content  # the draft's choices kept
    assert ticket.messages.count() == 1


def test_replies_post_to_the_ticket_page_and_redirect_back_to_it(agent_client, ticket):
    page = agent_client.get(_url("ticket", ticket.pk)).content.decode()
    assert f'action="{_url("ticket", ticket.pk)}" enctype="multipart/form-data"' in page
    assert "/reply/" not in page
    response = agent_client.post(_url("ticket", ticket.pk), {"body": "On it.", "visibility": "public"})
    message = ticket.messages.get(body_text="On it.")
    assert response.status_code == 302
    assert response["Location"] == f"{_url('ticket', ticket.pk)}#message-{message.pk}"


def test_a_refused_reply_keeps_the_draft_and_says_why_at_the_reply_box(agent_client, ticket):
    services.ticket_change_status(ticket=ticket, status=Status.SOLVED)
    response = agent_client.post(
        _url("ticket", ticket.pk),
        {"body": "Draft I do not want to lose", "visibility": "public", "submit_as": "pending"},
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "Draft I do not want to lose</textarea>" in content
    assert "A solved ticket can&#x27;t be set to Pending." in content
    assert content.index('class="form-error" role="alert"') > content.index('id="reply"')
    assert " autofocus " in content


def test_reply_to_a_closed_ticket_shows_the_service_error(agent_client, ticket):
    services.ticket_change_status(ticket=ticket, status=Status.SOLVED)
    services.ticket_change_status(ticket=ticket, status=Status.CLOSED)
    response = agent_client.post(_url("ticket", ticket.pk), {"body": "Late", "visibility": "public"})
    assert response.status_code == 400
    assert b"is closed" in response.content


def test_reply_with_invalid_visibility_is_refused(agent_client, ticket):
    response = agent_client.post(_url("ticket", ticket.pk), {"body": "x", "visibility": "shout"})
    assert response.status_code == 400
    assert ticket.messages.count() == 1


def test_another_teams_attachment_answers_404(agent_client, foreign_ticket):
    message = services.message_add(
        ticket=foreign_ticket,
        author_role="customer",
        body_text="file",
        attachments=[AttachmentInput(filename="secret.pdf", content=b"%PDF")],
    )
    attachment = message.attachments.get()
    assert agent_client.get(_url("attachment", attachment.pk)).status_code == 404


def test_rejected_attachment_answers_404_with_the_reason(agent_client, ticket):
    message = services.message_add(
        ticket=ticket,
        author_role="customer",
        body_text="big",
        attachments=[
            AttachmentInput(filename="huge.iso", content=b"", rejected_reason="over the size limit")
        ],
    )
    assert agent_client.get(_url("attachment", message.attachments.get().pk)).status_code == 404


# --- properties ----------------------------------------------------------------------------------


def test_properties_update_in_place_with_htmx(agent_client, agent_user, ticket):
    response = agent_client.post(
        _url("update", ticket.pk),
        {
            "status": "pending",
            "priority": "high",
            "team": ticket.team_id,
            "assignee": agent_user.pk,
            "tags": "a, b",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<form id="properties"')
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == ("pending", "high", agent_user)
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["a", "b"]
    assert ticket.audit_entries.filter(action=AuditEntry.Action.FIELD_CHANGED, field="priority").exists()


def test_a_property_change_answers_the_card_with_saved_marks_and_the_header_and_sla_card_out_of_band(
    agent_client, agent_user, team, ticket
):
    _always_open_policy(team)
    ticket = services.ticket_change_priority(ticket=ticket, priority=Priority.NORMAL)
    data = {"status": "new", "priority": "urgent", "team": team.pk, "assignee": "", "tags": ""}
    response = agent_client.post(_url("update", ticket.pk), data, headers={"HX-Request": "true"})
    content = response.content.decode()
    assert content.lstrip().startswith('<form id="properties"')
    assert content.count("✓ Saved") == 1  # by the priority control only
    assert content.index("✓ Saved") < content.index('id="p-priority"') and content.index(
        "✓ Saved"
    ) > content.index('id="p-status"')
    assert '<header class="ticket-head" id="ticket-head" hx-swap-oob="true">' in content
    assert 'class="pill priority priority-urgent">Urgent<' in content
    assert '<section class="card" id="sla-card" aria-labelledby="sla-title" hx-swap-oob="true">' in content
    assert "First response" in content and "First_response" not in content


def test_the_ticket_page_offers_only_the_allowed_status_changes(agent_client, ticket):
    services.ticket_change_status(ticket=ticket, status=Status.PENDING)
    content = agent_client.get(_url("ticket", ticket.pk)).content.decode()
    status_select = content[
        content.index('id="p-status"') : content.index("</select>", content.index('id="p-status"'))
    ]
    assert [
        label
        for label in ("New", "Open", "Pending", "On hold", "Solved", "Closed")
        if f">{label}<" in status_select
    ] == ["Open", "Pending", "On hold", "Solved"]
    services.ticket_change_status(ticket=ticket, status=Status.SOLVED)
    content = agent_client.get(_url("ticket", ticket.pk)).content.decode()
    assert "Send as solved" in content and "Send as pending" not in content  # solved -> pending is refused


def test_a_refused_status_change_is_explained_in_human_words(agent_client, ticket):
    services.ticket_change_status(ticket=ticket, status=Status.PENDING)
    response = agent_client.post(_url("update", ticket.pk), {"status": "new"}, headers={"HX-Request": "true"})
    assert (
        "A pending ticket can&#x27;t go back to New. You can set it to Open, On hold or Solved."
        in response.content.decode()
    )


def test_properties_error_from_the_service_is_shown_inline(agent_client, ticket):
    outsider = factories.UserFactory()
    response = agent_client.post(
        _url("update", ticket.pk), {"assignee": outsider.pk}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert b'class="form-error"' in response.content
    assert b"not an agent" in response.content


def test_properties_without_javascript_redirect_with_a_message(agent_client, ticket):
    response = agent_client.post(_url("update", ticket.pk), {"status": "exploded"}, follow=True)
    assert any("Unknown status" in str(m) for m in response.context["messages"])


def test_moving_a_ticket_out_of_my_teams_sends_me_back_to_the_queue(agent_client, ticket, other_team):
    response = agent_client.post(
        _url("update", ticket.pk), {"team": other_team.pk}, headers={"HX-Request": "true"}
    )
    assert response["HX-Redirect"] == "/desk/"
    assert agent_client.get(_url("ticket", ticket.pk)).status_code == 404


def test_transferring_a_ticket_drops_an_assignee_who_is_not_in_the_new_team(
    desk_client, lead, agent_user, ticket, other_team
):
    other_team.lead = lead
    other_team.save(update_fields=["lead"])
    services.ticket_assign(ticket=ticket, assignee=agent_user)
    desk_client(lead).post(
        _url("update", ticket.pk),
        {"team": other_team.pk, "assignee": agent_user.pk, "status": ticket.status},
        headers={"HX-Request": "true"},
    )
    ticket.refresh_from_db()
    assert (ticket.team, ticket.assignee) == (other_team, None)


@pytest.mark.parametrize("data", [{"team": "999999"}, {"assignee": "999999"}, {"team": "abc"}])
def test_properties_with_unknown_team_or_agent_change_nothing(agent_client, ticket, data):
    response = agent_client.post(_url("update", ticket.pk), data, headers={"HX-Request": "true"})
    assert b"form-error" in response.content
    ticket.refresh_from_db()
    assert ticket.assignee is None


# --- macros ----------------------------------------------------------------------------------------


def test_macro_preview_renders_placeholders_for_this_ticket(agent_client, agent_user, ticket):
    macro = Macro.objects.create(
        name="Thanks",
        body="Hi {{ customer.first_name }}, about {{ ticket.reference }} — {{ agent.first_name }} {{ 7*7 }}",
        set_status="solved",
    )
    macro.add_tags.add(Tag.objects.create(name="thanked"))
    data = agent_client.get(_url("macro", ticket.pk, macro.pk)).json()
    assert data["body"] == (
        f"Hi {ticket.customer.first_name}, about {ticket.reference} — {agent_user.first_name} {{{{ 7*7 }}}}"
    )
    assert data["set_status"] == "solved"
    assert data["tags"] == ["thanked"]


def test_macros_of_another_team_are_not_offered(agent_client, ticket, other_team):
    own = Macro.objects.create(name="Own", body="x", team=ticket.team)
    everywhere = Macro.objects.create(name="Global", body="y")
    foreign = Macro.objects.create(name="Foreign", body="z", team=other_team)
    response = agent_client.get(_url("ticket", ticket.pk))
    assert set(response.context["macros"]) == {own, everywhere}
    assert agent_client.get(_url("macro", ticket.pk, foreign.pk)).status_code == 404


def test_inserting_a_macro_without_javascript_fills_the_reply_box(agent_client, ticket):
    macro = Macro.objects.create(name="Hello", body="Hello {{ customer.name }}", set_status="on_hold")
    response = agent_client.post(
        _url("ticket", ticket.pk),
        {"macro": macro.pk, "insert_macro": "1", "body": "Draft", "visibility": "public"},
    )
    assert response.status_code == 200
    assert f"Draft\n\nHello {ticket.customer.name}".encode() in response.content
    assert b"Suggested by the canned response: On hold<" in response.content
    assert ticket.messages.count() == 1


def test_reply_with_a_macro_applies_its_tags(agent_client, ticket):
    macro = Macro.objects.create(name="Billing", body="b")
    macro.add_tags.add(Tag.objects.create(name="billing"))
    agent_client.post(_url("ticket", ticket.pk), {"body": "Text", "visibility": "public", "macro": macro.pk})
    assert list(ticket.tags.values_list("name", flat=True)) == ["billing"]


# --- presence ----------------------------------------------------------------------------------------


def test_opening_a_ticket_records_presence_and_others_see_it(desk_client, agent_user, team, ticket):
    colleague = factories.AgentFactory(teams=[team], user__first_name="Ana").user
    desk_client(colleague).get(_url("ticket", ticket.pk))
    response = desk_client(agent_user).get(_url("ticket", ticket.pk))
    assert b"<strong>Ana</strong> is viewing" in response.content


def test_typing_heartbeat_shows_is_typing_to_others(desk_client, agent_user, team, ticket):
    colleague = factories.AgentFactory(teams=[team], user__first_name="Ana").user
    desk_client(colleague).post(_url("presence", ticket.pk), {"activity": "typing"})
    response = desk_client(agent_user).post(_url("presence", ticket.pk), {"activity": "viewing"})
    assert response.status_code == 200
    assert b"<strong>Ana</strong> is typing a reply" in response.content
    assert TicketPresence.objects.filter(ticket=ticket).count() == 2


def test_presence_expires_after_the_ttl(agent_client, team, ticket):
    colleague = factories.AgentFactory(teams=[team], user__first_name="Ana").user
    ws_services.presence_touch(
        ticket=ticket, user=colleague, activity="typing", now=timezone.now() - timedelta(seconds=31)
    )
    response = agent_client.post(_url("presence", ticket.pk), {"activity": "viewing"})
    assert b"Ana" not in response.content


def test_presence_with_unknown_activity_is_a_400(agent_client, ticket):
    response = agent_client.post(_url("presence", ticket.pk), {"activity": "dancing"})
    assert response.status_code == 400
    assert b"Unknown activity" in response.content


# --- notifications ---------------------------------------------------------------------------------


def test_bell_shows_unread_count_and_latest(agent_client, agent_user, ticket):
    services.notification_create(
        recipient=agent_user, kind="assignment", title="Assigned to you", ticket=ticket
    )
    response = agent_client.get(_url("bell"))
    assert b'class="bell-count">1<' in response.content
    assert b"Assigned to you" in response.content


def test_bell_and_notifications_show_relative_times_titled_with_the_full_local_time(
    agent_client, agent_user, ticket
):
    note = services.notification_create(recipient=agent_user, kind="assignment", title="Yours", ticket=ticket)
    Notification.objects.filter(pk=note.pk).update(created_at=datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    ws_services.desk_profile_update(user=agent_user, time_zone="Europe/Lisbon")
    for page in ("bell", "notifications"):
        content = agent_client.get(_url(page)).content.decode()
        assert 'datetime="2026-07-01T12:00:00+00:00" title="Wed 1 Jul 2026, 13:00 WEST">' in content, page
        assert " ago</time>" in content


def test_relative_times_read_as_djangos_timesince_says_them():
    """`when` keeps the formatted units per language and number; the text is Django's own."""
    from django.utils.timesince import timesince, timeuntil

    from tickets.templatetags.workspace_tags import when

    now = timezone.now()
    for delta in (timedelta(minutes=1), timedelta(minutes=5), timedelta(hours=1), timedelta(days=3, hours=2),
                  timedelta(days=9), timedelta(days=45), timedelta(days=400)):  # fmt: skip
        for _ in range(2):  # the second time from what was kept
            assert f">{timesince(now - delta, now, depth=1)} ago</time>" in when(now - delta)
            later = now + delta + timedelta(seconds=30)
            assert f">in {timeuntil(later, now, depth=1)}</time>" in when(later)


# --- profile and time zone -------------------------------------------------------------------------


def test_an_agent_sets_their_time_zone_and_the_desk_shows_times_in_it(agent_client, agent_user, ticket):
    page = agent_client.get(_url("profile"))
    assert page.status_code == 200
    assert b'<option value="" selected>The installation&#x27;s (UTC)</option>' in page.content
    response = agent_client.post(_url("profile"), {"time_zone": "America/Sao_Paulo"})
    assert response["Location"] == _url("profile")
    assert DeskProfile.objects.get(user=agent_user).time_zone == "America/Sao_Paulo"
    AuditEntry.objects.filter(ticket=ticket).update(created_at=datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    content = agent_client.get(_url("ticket", ticket.pk)).content.decode()
    assert 'title="Tue 1 Dec 2026, 12:00 -03">' in content  # the audit trail, in São Paulo time


def test_an_unknown_time_zone_is_refused_and_changes_nothing(agent_client, agent_user):
    response = agent_client.post(_url("profile"), {"time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 400
    assert b'aria-invalid="true"' in response.content
    assert not DeskProfile.objects.filter(user=agent_user).exists()
    with pytest.raises(DomainError, match="is not a time zone"):
        ws_services.desk_profile_update(user=agent_user, time_zone="Mars/Olympus_Mons")


def test_without_a_profile_the_desk_uses_the_installations_time_zone(settings, agent_client, ticket):
    settings.TIME_ZONE = "Asia/Tokyo"
    AuditEntry.objects.filter(ticket=ticket).update(created_at=datetime(2026, 12, 1, 15, 0, tzinfo=UTC))
    assert (
        'title="Wed 2 Dec 2026, 00:00 JST">' in agent_client.get(_url("ticket", ticket.pk)).content.decode()
    )


def test_the_audit_trail_names_fields_and_values_in_human_words(agent_client, ticket):
    services.ticket_change_status(ticket=ticket, status=Status.ON_HOLD)
    services.audit_record(
        ticket=ticket,
        action=AuditEntry.Action.SLA,
        now=timezone.now(),
        field="sla_first_response_due",
        old_value="2026-12-01T15:00:00+00:00",
        new_value="2026-12-01T16:30:00+00:00",
    )
    content = agent_client.get(_url("ticket", ticket.pk)).content.decode()
    assert "Status <del>New</del> → <ins>On hold</ins>" in content
    assert (
        "SLA first response due <del>Tue 1 Dec 2026, 15:00 UTC</del> → <ins>Tue 1 Dec 2026, 16:30 UTC</ins>"
        in content
    )
    assert "on_hold" not in content.split('class="audit-list"')[1]


def test_opening_a_notification_marks_it_read_and_opens_the_ticket(agent_client, agent_user, ticket):
    note = services.notification_create(
        recipient=agent_user, kind="sla_breach", title="Breach", ticket=ticket
    )
    response = agent_client.post(_url("notification_open", note.pk))
    assert response["Location"] == f"/desk/tickets/{ticket.pk}/"
    note.refresh_from_db()
    assert note.read_at is not None


def test_notification_of_a_ticket_no_longer_visible_opens_the_list(agent_client, agent_user, foreign_ticket):
    note = services.notification_create(
        recipient=agent_user, kind="assignment", title="X", ticket=foreign_ticket
    )
    assert agent_client.post(_url("notification_open", note.pk))["Location"] == "/desk/notifications/"


def test_someone_elses_notification_answers_404(agent_client, ticket):
    other = factories.UserFactory()
    note = services.notification_create(recipient=other, kind="assignment", title="Theirs", ticket=ticket)
    assert agent_client.post(_url("notification_open", note.pk)).status_code == 404
    assert b"Theirs" not in agent_client.get(_url("notifications")).content


def test_mark_all_read(agent_client, agent_user):
    for i in range(3):
        services.notification_create(recipient=agent_user, kind="assignment", title=f"N{i}")
    agent_client.post(_url("notifications_read_all"))
    assert not Notification.objects.filter(recipient=agent_user, read_at__isnull=True).exists()
    assert b"N2" in agent_client.get(_url("notifications")).content


# --- team lead -----------------------------------------------------------------------------------


def test_board_is_for_leads_only(agent_client):
    assert agent_client.get(_url("board")).status_code == 403
    assert agent_client.get(_url("metrics")).status_code == 403


def test_board_counts_per_agent_and_unassigned(desk_client, lead, agent_user, team, other_team):
    for _ in range(2):
        services.ticket_assign(ticket=factories.ticket(team=team), assignee=agent_user)
    factories.ticket(team=team, subject="Waiting for someone")
    factories.ticket(team=other_team, subject="Not my team")
    response = desk_client(lead).get(_url("board"))
    assert response.status_code == 200
    (board,) = response.context["boards"]
    counts = {row.agent.user_id: row.open for row in board.rows}
    assert counts == {agent_user.pk: 2, lead.pk: 0}
    assert board.unassigned == 1
    assert [t.subject for t, _, _ in response.context["unassigned"]] == ["Waiting for someone"]
    assert b"Not my team" not in response.content


def test_board_query_count_is_constant(desk_client, lead, team, django_assert_max_num_queries):
    client = desk_client(lead)
    for _ in range(3):
        factories.AgentFactory(teams=[team])
        factories.ticket(team=team)
    with django_assert_max_num_queries(20) as small:
        client.get(_url("board"))
    for _ in range(10):
        factories.AgentFactory(teams=[team])
        factories.ticket(team=team)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(_url("board"))


def _always_open_policy(team, first_response=3600):
    return factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={
            (Priority.NORMAL, Metric.FIRST_RESPONSE): first_response,
            (Priority.URGENT, Metric.FIRST_RESPONSE): 600,
        },
        teams=[team],
    )


def test_board_pages_through_every_unassigned_ticket_most_urgent_first_at_a_constant_cost(
    desk_client, lead, team, django_assert_max_num_queries
):
    _always_open_policy(team)
    now = timezone.now()
    for n in range(27):
        factories.ticket(team=team, subject=f"Normal {n:02}", now=now - timedelta(minutes=30 - n))
    urgent = factories.ticket(team=team, subject="Urgent one", priority=Priority.URGENT, now=now)
    unmeasured = factories.ticket(team=team, subject="No SLA", now=now - timedelta(days=2))
    Ticket.objects.filter(pk=unmeasured.pk).update(next_sla_due_at=None)
    client = desk_client(lead)
    with django_assert_max_num_queries(25) as first:
        response = client.get(_url("board"))
    rows = [t for t, _, _ in response.context["unassigned"]]
    assert response.context["page"].paginator.count == 29
    assert len(rows) == 25
    assert rows[0] == urgent  # due in 10 minutes, before the normal tickets due within the hour
    assert [t.subject for t in rows[1:4]] == ["Normal 00", "Normal 01", "Normal 02"]
    content = response.content.decode()
    assert "?page=2#unassigned" in content
    assert 'class="sla sla-' in content and " ago</time>" in content  # SLA badge and age on each row
    with django_assert_max_num_queries(len(first.captured_queries)):
        response = client.get(_url("board"), {"page": 2})
    assert [t.subject for t, _, _ in response.context["unassigned"]][-1] == "No SLA"  # no clock: last
    assert len(response.context["unassigned"]) == 4


def test_board_shows_each_agents_availability_and_load_against_capacity(
    desk_client, lead, agent_user, team, other_team
):
    agent = Agent.objects.get(user=agent_user)
    Agent.objects.filter(pk=agent.pk).update(capacity=3, is_available=False)
    other_team.agents.add(agent)
    for owner in (team, team, other_team):
        services.ticket_assign(ticket=factories.ticket(team=owner), assignee=agent_user)
    factories.ticket(team=team, subject="Waiting")
    response = desk_client(lead).get(_url("board"))
    (board,) = response.context["boards"]
    row = next(r for r in board.rows if r.agent.user_id == agent_user.pk)
    assert (row.open, row.load, row.over_capacity) == (2, 3, True)  # load counts every team
    content = response.content.decode()
    assert "3 / 3" in content and ">full<" in content
    assert f"{agent} (away, 3/3)" in content


def test_assigning_to_an_agent_who_is_away_asks_first_without_javascript(desk_client, lead, agent_user, team):
    Agent.objects.filter(user=agent_user).update(is_available=False)
    ticket = factories.ticket(team=team)
    client = desk_client(lead)
    data = {"assignee": agent_user.pk, "next": _url("board")}
    response = client.post(_url("update", ticket.pk), data)
    assert response.status_code == 200
    assert b"is away" in response.content and b'name="confirm_away"' in response.content
    ticket.refresh_from_db()
    assert ticket.assignee is None
    response = client.post(_url("update", ticket.pk), {**data, "confirm_away": "1"})
    assert response["Location"] == _url("board")
    ticket.refresh_from_db()
    assert ticket.assignee == agent_user


def test_assigning_to_an_agent_who_is_away_asks_first_in_the_properties_card(
    agent_client, agent_user, team, ticket
):
    colleague = factories.AgentFactory(teams=[team], is_available=False)
    data = {
        "status": ticket.status,
        "priority": ticket.priority,
        "team": team.pk,
        "assignee": colleague.user_id,
    }
    response = agent_client.post(_url("update", ticket.pk), data, headers={"HX-Request": "true"})
    content = response.content.decode()
    assert 'class="confirm-away"' in content and "is away" in content
    assert f'<option value="{colleague.user_id}" selected>' in content  # the choice stays in the select
    ticket.refresh_from_db()
    assert ticket.assignee is None
    agent_client.post(
        _url("update", ticket.pk), {**data, "confirm_away": "1"}, headers={"HX-Request": "true"}
    )
    ticket.refresh_from_db()
    assert ticket.assignee == colleague.user
    # Assigning to yourself while marked away, or keeping an away assignee, asks nothing.
    Agent.objects.filter(user=agent_user).update(is_available=False)
    response = agent_client.post(
        _url("update", ticket.pk),
        {**data, "assignee": colleague.user_id, "priority": "high"},
        headers={"HX-Request": "true"},
    )
    assert b"confirm-away" not in response.content


def test_lead_reassigns_from_the_board(desk_client, lead, agent_user, team):
    ticket = factories.ticket(team=team)
    response = desk_client(lead).post(
        _url("update", ticket.pk), {"assignee": agent_user.pk, "next": _url("board")}
    )
    assert response["Location"] == _url("board")
    ticket.refresh_from_db()
    assert ticket.assignee == agent_user
    assert Notification.objects.filter(recipient=agent_user, ticket=ticket).exists()


def test_lead_toggles_an_agents_availability(desk_client, lead, agent_user):
    agent = Agent.objects.get(user=agent_user)
    desk_client(lead).post(_url("availability", agent.pk), {"is_available": "false"})
    agent.refresh_from_db()
    assert agent.is_available is False


def test_agent_may_not_toggle_a_colleague_but_may_toggle_themself(desk_client, agent_user, team):
    colleague = factories.AgentFactory(teams=[team])
    client = desk_client(agent_user)
    assert client.post(_url("availability", colleague.pk), {"is_available": "false"}).status_code == 403
    own = Agent.objects.get(user=agent_user)
    client.post(_url("availability", own.pk), {"is_available": "false"})
    own.refresh_from_db()
    colleague.refresh_from_db()
    assert (own.is_available, colleague.is_available) == (False, True)


def test_agent_of_another_team_is_404_for_availability(desk_client, lead, other_team):
    stranger = factories.AgentFactory(teams=[other_team])
    assert (
        desk_client(lead).post(_url("availability", stranger.pk), {"is_available": "false"}).status_code
        == 404
    )


def test_metrics_page_draws_charts_and_explains_missing_measures(desk_client, lead, agent_user, team):
    ticket = factories.ticket(team=team)
    services.message_add(ticket=ticket, author_role="agent", author_user=agent_user, body_text="Hi")
    response = desk_client(lead).get(_url("metrics"))
    assert response.status_code == 200
    html = response.content.decode()
    # volume, created/solved/backlog, first response and resolution; no SLA outcome yet
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 4
    assert "No SLA clock was achieved or breached in this period." in html
    assert "Breaching now: 0" in html
    assert "No surveys sent or answered in this period." in html
    assert "No inbound phone calls in this period." in html
    assert response.context["trend"]["totals"]["tickets_created"] == 1


def test_metrics_page_draws_survey_trends_and_phone_numbers(desk_client, lead, team):
    from surveys.models import SurveySettings
    from surveys.services import survey_response_record

    SurveySettings.objects.create(team=team, kinds=["csat", "nps", "ces"], delay_minutes=0, throttle_days=0)
    solved_at = timezone.now() - timedelta(days=1)
    for scores in ({"csat": 4, "nps": 9, "ces": 6}, {"csat": 3, "nps": 2, "ces": 1}):
        ticket = factories.ticket(team=team, now=solved_at - timedelta(hours=1))
        services.ticket_change_status(ticket=ticket, status="solved", now=solved_at)
        invitation = factories.sent_survey(ticket=ticket, now=solved_at)
        survey_response_record(invitation=invitation, answers=scores, now=solved_at + timedelta(minutes=5))
    factories.sent_survey(
        ticket=services.ticket_change_status(
            ticket=factories.ticket(team=team, now=solved_at), status="solved", now=solved_at
        ),
        now=solved_at,
    )
    factories.phone_call(
        ticket=factories.ticket(team=team, channel="phone"),
        started_at=solved_at,
        outcome="abandoned",
        queue_wait_seconds=60,
    )
    html = desk_client(lead).get(_url("metrics")).content.decode()
    # Four as above, the status times, three for surveys and the phone service level (no SLA outcomes).
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 9
    # CSAT 4 and 3: 50 %; NPS 9 and 2: 50 - 50 = 0; CES 6 and 1: mean 3.5, 50 % easy; 2 of 3 answered.
    # Whole percents for people.
    assert "CSAT 50% satisfied (2 answers), CES 50% easy; 2 of 3 surveys answered (67%)" in html
    assert "NPS 0 over the period" in html and "CES mean 3.5 (2 answers)" in html
    assert (
        '<th scope="row">Total</th><td class="num">1</td><td class="num">1</td><td class="num">100%</td>'
        in html
    )
    assert "No surveys sent" not in html


def test_metrics_page_charts_sla_compliance_and_lists_live_breaches(desk_client, lead, agent_user, team):
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={(Priority.NORMAL, Metric.FIRST_RESPONSE): (3600, False)},
    )
    now = timezone.now()
    for subject in ("Late one", "Late two"):
        factories.ticket(team=team, subject=subject, now=now - timedelta(hours=2))
    on_time = factories.ticket(team=team, subject="On time", now=now - timedelta(hours=2))
    services.message_add(
        ticket=on_time,
        author_role="agent",
        author_user=agent_user,
        body_text="Hi",
        now=now - timedelta(hours=1, minutes=30),
    )
    sla_services.sla_sweep(now=now)
    response = desk_client(lead).get(_url("metrics"))
    html = response.content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 5  # and the SLA compliance chart
    assert "SLA compliance per day: 33% over the period" in html
    assert "breaches: first response 2," in html
    live = html.split('id="sla-live-breaches"')[1].split("</section>")[0]
    assert "Breaching now: 2" in live
    assert "Late one" in live and "Late two" in live and "On time" not in live


def test_metrics_csv_links_point_to_the_api_export(desk_client, lead, team):
    client = desk_client(lead)
    response = client.get(_url("metrics"), {"start": "2026-01-01", "end": "2026-01-31", "team": team.pk})
    link = response.context["csv_agents"]
    assert link == f"format=csv&start=2026-01-01&end=2026-01-31&team={team.pk}&group_by=agent"
    export = client.get(f"/api/v1/metrics/?{link}")
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")


def test_metrics_of_a_team_the_lead_does_not_lead_are_refused(desk_client, lead, other_team):
    response = desk_client(lead).get(
        _url("metrics"), {"start": "2026-01-01", "end": "2026-01-31", "team": other_team.pk}
    )
    assert response.status_code == 400
    assert "trend" not in response.context


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2026-02-01", "end": "2026-01-01"},
        {"start": "yesterday", "end": "2026-01-01"},
        {"start": "2020-01-01", "end": "2026-01-01"},
    ],
)
def test_metrics_with_a_bad_period_shows_the_form_error(desk_client, lead, params):
    response = desk_client(lead).get(_url("metrics"), params)
    assert response.status_code == 400
    assert b"field-error" in response.content or b"form-error" in response.content


def test_admin_sees_every_team_on_the_board(desk_client, team, other_team):
    admin = factories.UserFactory(is_superuser=True, is_staff=True)
    response = desk_client(admin).get(_url("board"))
    assert {b.team for b in response.context["boards"]} == {team, other_team}


def test_ticket_page_query_count_does_not_grow_with_the_thread(
    agent_client, agent_user, ticket, django_assert_max_num_queries
):
    def add_messages(n):
        for i in range(n):
            services.message_add(
                ticket=ticket,
                author_role="agent" if i % 2 else "customer",
                author_user=agent_user if i % 2 else None,
                body_text=f"Message {i}",
                attachments=[AttachmentInput(filename=f"f{i}.txt", content=b"x")],
            )

    add_messages(2)
    with django_assert_max_num_queries(40) as small:
        agent_client.get(_url("ticket", ticket.pk))
    add_messages(12)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = agent_client.get(_url("ticket", ticket.pk))
    assert response.content.count(b'class="msg msg-') == 15


def test_metrics_page_links_numbers_to_their_tickets_and_shows_the_new_measures(
    desk_client, lead, agent_user, team
):
    now = timezone.now()
    solved = factories.ticket(team=team, assignee=agent_user, now=now - timedelta(hours=5))
    services.message_add(
        ticket=solved, author_role="agent", author_user=agent_user, body_text="Fixed", new_status="solved"
    )
    factories.ticket(team=team, now=now - timedelta(hours=1))  # unassigned
    factories.phone_call(
        ticket=solved, started_at=now - timedelta(hours=5), queue_wait_seconds=5, agent=agent_user
    )
    response = desk_client(lead).get(_url("metrics"))
    html = response.content.decode()
    for preset in ("Last 7 days", "Last 30 days", "Last 90 days", "This quarter"):
        assert preset in html
    agents = {row["label"]: row for row in response.context["leaderboard"]}
    assert agents["(unassigned)"]["tickets_created"] == 1
    assert "assignee=unassigned" in agents["(unassigned)"]["links"]["created"]
    assert f'href="{agents["(unassigned)"]["links"]["created"]}"'.replace("&", "&amp;") in html
    links = response.context["links"]
    assert (
        links["solved"].startswith("/desk/?view=all&team=") is False
    )  # no team chosen: all the lead's teams
    assert "view=all" in links["solved"] and "solved_after=" in links["solved"]
    # Following the solved link lists exactly the solved ticket.
    queue = desk_client(lead).get(links["solved"])
    assert [row[0].pk for row in queue.context["rows"]] == [solved.pk]
    assert "Phone service level against its target" in html
    assert "one-touch" in html and "solved without transfer" in html and "repeat contacts" in html


# --- tickets opened at the desk ------------------------------------------------------------------


def test_an_agent_opens_a_phone_ticket_for_a_customer_and_the_first_message_is_queued_as_email(
    agent_client, agent_user, team
):
    response = agent_client.post(
        _url("ticket_new"),
        {
            "customer_email": "noah.wagner@example.com",
            "customer_name": "Noah Wagner",
            "channel": "phone",
            "team": team.pk,
            "priority": "normal",
            "subject": "Callback about invoice 1042",
            "message": "Hi Noah, as discussed on the phone: the refund is on its way.",
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == _url("ticket", ticket.pk)
    assert (ticket.channel, ticket.opened_by, ticket.assignee, ticket.team) == (
        "phone",
        agent_user,
        agent_user,
        team,
    )
    assert (ticket.customer.name, ticket.customer.email) == ("Noah Wagner", "noah.wagner@example.com")
    [message] = ticket.messages.all()
    assert message.author_role == Message.AuthorRole.AGENT and message.visibility == Message.Visibility.PUBLIC
    assert message.delivery_status == Message.DeliveryStatus.QUEUED


def test_a_desk_ticket_reuses_the_customer_found_by_phone(agent_client, team):
    known = factories.CustomerFactory(name="Ada", phone="+14155550123", email=None)
    agent_client.post(
        _url("ticket_new"),
        {
            "customer_phone": "+14155550123",
            "channel": "phone",
            "team": team.pk,
            "priority": "normal",
            "subject": "Walk-in",
            "message": "Notes from the visit.",
        },
    )
    ticket = Ticket.objects.get()
    assert ticket.customer == known
    assert (
        ticket.messages.get().delivery_status == Message.DeliveryStatus.NO_ROUTE
    )  # no address to send it to


def test_a_desk_ticket_needs_a_way_to_reach_the_customer_and_one_of_my_teams(agent_client, team, other_team):
    base = {"channel": "phone", "priority": "normal", "subject": "S", "message": "M"}
    response = agent_client.post(_url("ticket_new"), {**base, "team": team.pk})
    assert response.status_code == 400 and b"email address or phone number" in response.content
    response = agent_client.post(
        _url("ticket_new"), {**base, "team": other_team.pk, "customer_email": "a@b.example"}
    )
    assert response.status_code == 400
    assert not Ticket.objects.exists()
