"""Notifications people can live with, @mentions, followers and CC: the services, the desk and the API."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sla import services as sla_services
from sla.models import Metric
from tests import factories
from tickets import services
from tickets.exceptions import DomainError
from tickets.mentions import mentioned_usernames
from tickets.models import (
    AuditEntry,
    Message,
    Notification,
    NotificationPreference,
    OutboundDelivery,
    Priority,
    Status,
    TicketParticipant,
)
from tickets.outbox.replies import reply_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def colleague(team):
    return factories.AgentFactory(teams=[team], user__username="lena").user


@pytest.fixture
def outsider():
    """An agent of another team: may not hear about, follow or be mentioned on the team's tickets."""
    return factories.AgentFactory(teams=[factories.TeamFactory()], user__username="otto").user


def _emails_to(user) -> list[OutboundDelivery]:
    return list(OutboundDelivery.objects.filter(kind=OutboundDelivery.Kind.NOTIFICATION, to=[user.email]))


def _note(ticket, author, text: str) -> Message:
    return services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=author,
        body_text=text,
        visibility=Message.Visibility.INTERNAL,
    )


# --- one entry per ticket and kind -----------------------------------------------------------------


def test_a_second_event_of_a_kind_on_a_ticket_updates_the_unread_entry_and_emails_once(agent_user, ticket):
    now = timezone.now()
    first = services.notification_create(
        recipient=agent_user, kind=Notification.Kind.SLA_BREACH, title="first", ticket=ticket, now=now
    )
    later = now + timedelta(minutes=5)
    second = services.notification_create(
        recipient=agent_user, kind=Notification.Kind.SLA_BREACH, title="second", ticket=ticket, now=later
    )
    assert second.pk == first.pk
    entry = Notification.objects.get(recipient=agent_user)
    assert (entry.title, entry.occurrences, entry.created_at) == ("second", 2, later)
    assert len(_emails_to(agent_user)) == 1


def test_another_kind_another_ticket_or_a_read_entry_makes_a_new_notification(agent_user, ticket, team):
    services.notification_create(recipient=agent_user, kind="sla_breach", title="a", ticket=ticket)
    services.notification_create(recipient=agent_user, kind="assignment", title="b", ticket=ticket)
    services.notification_create(
        recipient=agent_user, kind="sla_breach", title="c", ticket=factories.ticket(team=team)
    )
    services.notification_mark_all_read(recipient=agent_user)
    services.notification_create(recipient=agent_user, kind="sla_breach", title="d", ticket=ticket)
    assert Notification.objects.filter(recipient=agent_user).count() == 4
    assert Notification.objects.filter(recipient=agent_user, read_at__isnull=True).count() == 1


def test_one_batch_with_two_events_of_a_kind_on_a_ticket_writes_one_entry(agent_user, ticket):
    items = [
        services.NotificationInput(agent_user, "sla_warning", f"w{i}", ticket=ticket, dedupe_key=f"k{i}")
        for i in range(2)
    ]
    services.notifications_create(items)
    entry = Notification.objects.get(recipient=agent_user)
    assert (entry.title, entry.occurrences, entry.dedupe_key) == ("w1", 2, "k1")


def test_the_same_dedupe_key_notifies_once(agent_user, ticket):
    for _ in range(2):
        services.notification_create(
            recipient=agent_user, kind="sla_breach", title="late", ticket=ticket, dedupe_key="sla-breach:1"
        )
    assert Notification.objects.get(recipient=agent_user).occurrences == 1


def test_a_reassignment_back_and_forth_leaves_one_unread_assignment(agent_user, colleague, ticket):
    for assignee in (agent_user, colleague, agent_user):
        services.ticket_assign(ticket=ticket, assignee=assignee)
    assert Notification.objects.filter(recipient=agent_user, kind="assignment").count() == 1
    assert Notification.objects.get(recipient=agent_user, kind="assignment").occurrences == 2


# --- history never notifies ------------------------------------------------------------------------


def test_a_catch_up_sweep_over_history_notifies_nobody(team, agent_user):
    team.lead = agent_user
    team.save(update_fields=["lead"])
    factories.sla_policy(
        calendar=sla_services.calendar_create_always_open(),
        targets={(Priority.NORMAL, Metric.FIRST_RESPONSE): 3600},
    )
    past = timezone.now() - timedelta(days=3)
    ticket = factories.ticket(team=team, now=past)
    services.ticket_assign(ticket=ticket, assignee=agent_user, actor=agent_user, now=past)
    result = sla_services.sla_sweep(now=timezone.now(), live=False)
    assert result.breached == 1
    assert not Notification.objects.exists()
    assert not OutboundDelivery.objects.filter(kind=OutboundDelivery.Kind.NOTIFICATION).exists()
    assert ticket.audit_entries.filter(action=AuditEntry.Action.SLA, new_value="breached").exists()


def test_history_imported_without_delivery_tells_no_follower_or_mentioned_agent(
    agent_user, colleague, ticket
):
    services.ticket_set_followers(ticket=ticket, users=[colleague], actor=agent_user)
    services.message_add(
        ticket=ticket,
        author_role=Message.AuthorRole.AGENT,
        author_user=agent_user,
        body_text="Old note for @lena",
        visibility=Message.Visibility.INTERNAL,
        deliver=False,
    )
    assert not Notification.objects.exists()


# --- email preferences -----------------------------------------------------------------------------


def test_by_default_every_kind_but_followed_updates_is_emailed(agent_user, colleague, ticket):
    services.ticket_set_followers(ticket=ticket, users=[colleague], actor=agent_user)
    services.ticket_assign(ticket=ticket, assignee=colleague, actor=agent_user)
    kinds = set(Notification.objects.filter(recipient=colleague).values_list("kind", flat=True))
    assert kinds == {"assignment", "ticket_update"}
    emailed = [delivery.subject for delivery in _emails_to(colleague)]
    assert emailed == [f"{ticket.reference} was assigned to you"]


def test_an_agent_who_chose_no_email_gets_none_but_still_sees_the_bell(agent_user, colleague, ticket):
    services.notification_preferences_set(user=colleague, emailed_kinds=[])
    services.ticket_assign(ticket=ticket, assignee=colleague, actor=agent_user)
    assert Notification.objects.filter(recipient=colleague, kind="assignment").exists()
    assert _emails_to(colleague) == []


def test_an_agent_may_ask_for_followed_updates_by_email(agent_user, colleague, ticket):
    services.notification_preferences_set(user=colleague, emailed_kinds=["ticket_update"])
    services.ticket_set_followers(ticket=ticket, users=[colleague], actor=agent_user)
    services.ticket_change_status(ticket=ticket, status=Status.PENDING, actor=agent_user)
    assert [d.subject for d in _emails_to(colleague)] == [f"{ticket.reference}: status is now Pending"]


def test_unknown_notification_kinds_are_refused(agent_user):
    with pytest.raises(DomainError, match="Unknown notification kind"):
        services.notification_preferences_set(user=agent_user, emailed_kinds=["assignment", "spam" * 40])
    assert not NotificationPreference.objects.exists()


def test_the_profile_page_saves_the_emailed_kinds_and_refuses_unknown_ones(desk_client, agent_user):
    client = desk_client(agent_user)
    page = client.get(reverse("workspace:profile"))
    assert page.status_code == 200
    assert 'value="ticket_update">' in page.content.decode()  # unticked by default
    url = reverse("workspace:profile_notifications")
    response = client.post(url, {"emailed": ["mention", "sla_breach"]})
    assert response.status_code == 302
    assert NotificationPreference.objects.get(user=agent_user).emailed_kinds == ["mention", "sla_breach"]
    refused = client.post(url, {"emailed": ["<script>"]})
    assert refused.status_code == 400
    assert "Unknown notification kind" in refused.content.decode()
    assert NotificationPreference.objects.get(user=agent_user).emailed_kinds == ["mention", "sla_breach"]


def test_the_bell_shows_relative_and_local_times_and_the_update_count(desk_client, agent_user, ticket):
    for title in ("one", "two"):
        services.notification_create(recipient=agent_user, kind="sla_breach", title=title, ticket=ticket)
    html = desk_client(agent_user).get(reverse("workspace:bell")).content.decode()
    assert "two" in html and "(2\N{MULTIPLICATION SIGN})" in html
    assert "just now</time>" in html and 'title="' in html


# --- @mentions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Can you look, @lena?", ["lena"]),
        ("(@lena) and @Lena and @otto.", ["lena", "otto"]),
        ("write to bob@example.com", []),
        ("@@lena @ lena", []),
        ("@a.b-c_d+e, done", ["a.b-c_d+e"]),
    ],
)
def test_mentions_are_found_in_note_text(text, names):
    assert mentioned_usernames(text) == names


def test_a_note_mentioning_a_colleague_notifies_them_once_and_nobody_else(agent_user, colleague, ticket):
    note = _note(ticket, agent_user, "@lena please check the invoice, thanks @LENA")
    mention = Notification.objects.get(kind=Notification.Kind.MENTION)
    assert mention.recipient == colleague
    assert mention.dedupe_key == f"mention:{note.pk}"
    assert mention.ticket_id == ticket.pk
    assert "mentioned you" in mention.title
    assert not Notification.objects.filter(recipient=agent_user).exists()


def test_a_mentioned_agent_who_cannot_see_the_ticket_is_not_notified(agent_user, outsider, ticket):
    _note(ticket, agent_user, "@otto do you know this customer?")
    assert not Notification.objects.filter(recipient=outsider).exists()


def test_public_replies_and_unknown_names_mention_nobody(agent_user, colleague, ticket):
    services.message_add(
        ticket=ticket, author_role=Message.AuthorRole.AGENT, author_user=agent_user, body_text="Hi @lena"
    )
    _note(ticket, agent_user, "@nobody " + "@x" * 5000)
    assert not Notification.objects.filter(kind=Notification.Kind.MENTION).exists()


def test_a_note_on_the_ticket_page_is_rendered_with_the_mention_highlighted(desk_client, agent_user, ticket):
    _note(ticket, agent_user, "Ask @lena <script>alert(1)</script>")
    html = desk_client(agent_user).get(reverse("workspace:ticket", args=[ticket.pk])).content.decode()
    assert '<mark class="mention">@lena</mark>' in html
    assert "<script>alert(1)" not in html


def test_a_note_posted_through_the_api_notifies_the_mentioned_agent(as_user, agent_user, colleague, ticket):
    response = as_user(agent_user).post(
        f"/api/v1/tickets/{ticket.pk}/messages/",
        {"body_text": "@lena over to you", "visibility": "internal"},
        format="json",
    )
    assert response.status_code == 201
    assert Notification.objects.filter(recipient=colleague, kind="mention").exists()


# --- followers -------------------------------------------------------------------------------------


def test_followers_hear_of_messages_status_and_assignment_but_not_of_their_own(agent_user, colleague, ticket):
    services.ticket_set_followers(ticket=ticket, users=[agent_user, colleague], actor=agent_user)
    services.message_add(ticket=ticket, author_role=Message.AuthorRole.CUSTOMER, body_text="Any news?")
    services.ticket_change_status(ticket=ticket, status=Status.PENDING, actor=agent_user)
    services.ticket_assign(ticket=ticket, assignee=agent_user, actor=agent_user)
    update = Notification.objects.get(recipient=colleague, kind=Notification.Kind.TICKET_UPDATE)
    assert update.occurrences == 3
    assert "assignee is now" in update.title
    mine = Notification.objects.get(recipient=agent_user, kind=Notification.Kind.TICKET_UPDATE)
    assert mine.occurrences == 1 and "new message from" in mine.title


def test_a_follower_who_lost_sight_of_the_ticket_hears_nothing(agent_user, colleague, ticket, team):
    services.ticket_set_followers(ticket=ticket, users=[colleague], actor=agent_user)
    colleague.agent.teams.remove(team)
    services.message_add(ticket=ticket, author_role=Message.AuthorRole.CUSTOMER, body_text="Hello?")
    assert not Notification.objects.filter(recipient=colleague).exists()


def test_an_agent_of_another_team_cannot_follow(agent_user, outsider, ticket):
    with pytest.raises(DomainError, match="cannot see"):
        services.ticket_set_followers(ticket=ticket, users=[outsider], actor=agent_user)
    assert not ticket.followers.exists()


def test_setting_followers_is_audited(agent_user, colleague, ticket):
    services.ticket_set_followers(ticket=ticket, users=[colleague], actor=agent_user)
    services.ticket_set_followers(ticket=ticket, users=[colleague], actor=agent_user)
    entry = ticket.audit_entries.get(field="followers")
    assert (entry.old_value, entry.new_value, entry.actor) == ("", "lena", agent_user)


# --- CC --------------------------------------------------------------------------------------------


def test_cc_addresses_are_copied_on_public_replies_and_removable(agent_user, ticket):
    services.ticket_set_cc(
        ticket=ticket,
        addresses=["Boss@Example.ORG", "boss@example.org", ticket.customer.email],
        actor=agent_user,
    )
    assert list(ticket.participants.filter(is_cc=True).values_list("email", flat=True)) == [
        "Boss@example.org"
    ]
    reply = services.message_add(
        ticket=ticket, author_role=Message.AuthorRole.AGENT, author_user=agent_user, body_text="Done."
    )
    assert reply_email(message=reply, ticket=ticket).cc == ["Boss@example.org"]
    assert OutboundDelivery.objects.get(message=reply).cc == ["Boss@example.org"]
    services.ticket_set_cc(ticket=ticket, addresses=[], actor=agent_user)
    assert not TicketParticipant.objects.filter(ticket=ticket).exists()
    assert list(ticket.audit_entries.filter(field="cc").values_list("new_value", flat=True)) == [
        "Boss@example.org",
        "",
    ]


def test_a_participant_who_wrote_in_becomes_a_cc_without_a_second_row(agent_user, ticket):
    TicketParticipant.objects.create(ticket=ticket, email="ann@example.org", created_at=timezone.now())
    services.ticket_set_cc(ticket=ticket, addresses=["ANN@example.org"], actor=agent_user)
    assert list(ticket.participants.values_list("email", "is_cc")) == [("ann@example.org", True)]


@pytest.mark.parametrize(
    ("addresses", "message"),
    [
        (["not an address"], "not an email address"),
        (["support@helpdesk.test"], "our own support addresses"),
        ([f"p{i}@example.org" for i in range(21)], "at most 20"),
    ],
)
def test_hostile_cc_lists_are_refused(settings, agent_user, ticket, addresses, message):
    settings.HELPDESK_SUPPORT_ADDRESSES = ["support@helpdesk.test"]
    with pytest.raises(DomainError, match=message):
        services.ticket_set_cc(ticket=ticket, addresses=addresses, actor=agent_user)
    assert not ticket.participants.filter(is_cc=True).exists()


# --- the ticket page and the API -------------------------------------------------------------------


def test_the_ticket_page_edits_cc_and_followers_and_follows_in_one_click(
    desk_client, agent_user, colleague, ticket
):
    client = desk_client(agent_user)
    url = reverse("workspace:people", args=[ticket.pk])
    response = client.post(url, {"cc": "a@example.org, b@example.org", "followers": [colleague.pk]})
    assert response.status_code == 302
    assert set(ticket.participants.filter(is_cc=True).values_list("email", flat=True)) == {
        "a@example.org",
        "b@example.org",
    }
    assert list(ticket.followers.all()) == [colleague]
    client.post(url, {"follow": "1"})
    assert set(ticket.followers.all()) == {colleague, agent_user}
    page = client.get(reverse("workspace:ticket", args=[ticket.pk])).content.decode()
    assert "Unfollow" in page and "a@example.org, b@example.org" in page
    client.post(url, {"follow": "0"})
    assert list(ticket.followers.all()) == [colleague]


@pytest.mark.parametrize(
    "data",
    [{"cc": "nope", "followers": []}, {"cc": "", "followers": ["abc"]}, {"cc": "", "followers": ["999999"]}],
)
def test_the_ticket_page_answers_400_to_bad_cc_or_followers(desk_client, agent_user, ticket, data):
    response = desk_client(agent_user).post(reverse("workspace:people", args=[ticket.pk]), data)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_the_ticket_page_refuses_a_follower_from_another_team_and_hides_foreign_tickets(
    desk_client, agent_user, outsider, ticket
):
    client = desk_client(agent_user)
    response = client.post(
        reverse("workspace:people", args=[ticket.pk]), {"cc": "", "followers": [outsider.pk]}
    )
    assert response.status_code == 400
    assert not ticket.followers.exists()
    foreign = factories.ticket(team=outsider.agent.teams.get())
    assert client.post(reverse("workspace:people", args=[foreign.pk]), {"follow": "1"}).status_code == 404


def test_the_api_reads_and_sets_cc_and_followers(as_user, agent_user, colleague, outsider, ticket):
    client = as_user(agent_user)
    url = f"/api/v1/tickets/{ticket.pk}/"
    response = client.patch(url, {"cc": ["c@example.org"], "followers": [colleague.pk]}, format="json")
    assert response.status_code == 200
    assert response.json()["cc"] == ["c@example.org"]
    assert [f["username"] for f in response.json()["followers"]] == ["lena"]
    assert client.get(url).json()["followers"][0]["id"] == colleague.pk
    for bad in (
        {"cc": ["x"]},
        {"cc": "c@example.org"},
        {"followers": [outsider.pk]},
        {"followers": [10**30]},
        {"followers": ["abc"]},
        {"cc": [f"p{i}@example.org" for i in range(21)]},
    ):
        assert client.patch(url, bad, format="json").status_code == 400, bad
    assert list(ticket.followers.all()) == [colleague]
