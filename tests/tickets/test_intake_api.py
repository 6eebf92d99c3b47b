import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from tests import factories
from tickets.intake.services import hash_key
from tickets.models import (
    AuditEntry,
    Channel,
    Customer,
    ExternalMessage,
    IntegrationKey,
    Message,
    PhoneCall,
    Status,
    Team,
    Ticket,
)

pytestmark = pytest.mark.django_db

CHAT = "/api/v1/intake/chat/transcripts/"
PHONE = "/api/v1/intake/phone/calls/"
SOCIAL = "/api/v1/intake/social/messages/"
T0 = timezone.now().replace(microsecond=0) - timedelta(hours=1)


def api(channel: str, **kwargs) -> APIClient:
    _, key = factories.integration_key(channel=channel, **kwargs)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def transcript(conversation_id="conv-1", messages=None, **customer):
    return {
        "conversation_id": conversation_id,
        "customer": customer or {"name": "Ada", "email": "ada@example.com", "handle": "visitor-1"},
        "messages": messages
        if messages is not None
        else [
            {"author": "customer", "text": "My invoice is wrong", "timestamp": T0.isoformat()},
            {
                "author": "agent",
                "author_name": "maria",
                "text": "Checking",
                "timestamp": (T0 + timedelta(minutes=1)).isoformat(),
            },
        ],
    }


# --- authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", [CHAT, PHONE, SOCIAL])
def test_requests_without_a_key_are_unauthorised(endpoint):
    response = APIClient().post(endpoint, {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_key_is_unauthorised_and_writes_nothing():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer hdk_not-a-real-key")
    response = client.post(CHAT, transcript(), format="json")
    assert response.status_code == 401
    assert "Unknown or inactive API key" in response.json()["detail"]
    assert not Ticket.objects.exists()


def test_an_inactive_key_is_unauthorised():
    integration, key = factories.integration_key(channel=Channel.CHAT)
    IntegrationKey.objects.filter(pk=integration.pk).update(is_active=False)
    response = APIClient().post(CHAT, transcript(), format="json", HTTP_X_API_KEY=key)
    assert response.status_code == 401
    assert not Ticket.objects.exists()


def test_the_key_works_in_the_x_api_key_header_and_records_its_last_use():
    integration, key = factories.integration_key(channel=Channel.CHAT)
    response = APIClient().post(CHAT, transcript(), format="json", HTTP_X_API_KEY=key)
    assert response.status_code == 201
    integration.refresh_from_db()
    assert integration.last_used_at is not None


def test_a_key_for_another_channel_is_forbidden():
    response = api(Channel.PHONE).post(CHAT, transcript(), format="json")
    assert response.status_code == 403
    assert "for the phone channel" in response.json()["detail"]
    assert not Ticket.objects.exists()


def test_only_a_hash_of_the_key_is_stored():
    integration, key = factories.integration_key(channel=Channel.CHAT)
    assert integration.key_hash == hash_key(key)
    assert key not in integration.key_hash
    assert key.startswith(integration.key_prefix)


def test_the_management_command_prints_a_working_key_once(capsys):
    factories.TeamFactory(name="Chat team")
    call_command("create_integration_key", "website chat", "--channel", "chat", "--default-team", "Chat team")
    key = capsys.readouterr().out.strip()
    integration = IntegrationKey.objects.get(name="website chat")
    assert integration.key_hash == hash_key(key)
    assert integration.default_team.name == "Chat team"
    response = APIClient().post(CHAT, transcript(), format="json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 201
    assert Ticket.objects.get().team.name == "Chat team"


def test_the_admin_shows_a_new_key_once(client, django_user_model):
    admin_user = django_user_model.objects.create_superuser("lead", "lead@helpdesk.test", "pass-word-123")
    client.force_login(admin_user)
    response = client.post(
        "/admin/tickets/integrationkey/add/",
        {"name": "phones", "channel": "phone", "is_active": "on"},
        follow=True,
    )
    body = response.content.decode()
    integration = IntegrationKey.objects.get(name="phones")
    shown = body.split("The API key of &#x27;phones&#x27; is ")[1].split(" ")[0]
    assert integration.key_hash == hash_key(shown)
    assert (
        client.get(f"/admin/tickets/integrationkey/{integration.pk}/change/").content.decode().count(shown)
        == 0
    )


# --- chat -----------------------------------------------------------------------------------------


def test_a_chat_transcript_opens_a_routed_chat_ticket_with_every_message():
    team = factories.TeamFactory(assignment_strategy=Team.AssignmentStrategy.LEAST_LOADED)
    maria = factories.AgentFactory(teams=[team], user=factories.UserFactory(username="maria"))
    factories.RoutingRuleFactory(channels=["chat"], keywords=["invoice"], set_team=team)
    response = api(Channel.CHAT, default_team=team).post(CHAT, transcript(), format="json")
    assert response.status_code == 201
    ticket = Ticket.objects.get()
    assert response.json() == {
        "ticket": ticket.reference,
        "ticket_id": ticket.pk,
        "created": True,
        "messages_added": 2,
    }
    assert ticket.channel == Channel.CHAT
    assert ticket.subject == "My invoice is wrong"
    assert ticket.team == team
    assert ticket.assignee == maria.user
    first, second = ticket.messages.order_by("created_at")
    assert (first.author_role, first.author_customer.email, first.created_at) == (
        "customer",
        "ada@example.com",
        T0,
    )
    assert (second.author_role, second.author_user) == ("agent", maria.user)
    assert ticket.customer.handles.filter(channel=Channel.CHAT, handle="visitor-1").exists()
    assert ticket.first_response_at == T0 + timedelta(minutes=1)
    assert ticket.audit_entries.filter(action=AuditEntry.Action.ROUTED).exists()


def test_an_agent_line_from_someone_unknown_keeps_their_name_in_the_original():
    lines = [{"author": "agent", "author_name": "Bot Anna", "text": "Hi!", "timestamp": T0.isoformat()}]
    api(Channel.CHAT).post(CHAT, transcript(messages=lines), format="json")
    message = Message.objects.get()
    assert (message.author_role, message.author_user, message.body_text) == ("agent", None, "Hi!")
    assert message.full_text == "Bot Anna: Hi!"
    assert Ticket.objects.get().subject == "Chat conversation conv-1"


def test_re_posting_a_transcript_does_not_duplicate_messages():
    client = api(Channel.CHAT)
    client.post(CHAT, transcript(), format="json")
    response = client.post(CHAT, transcript(), format="json")
    assert response.status_code == 200
    assert response.json()["created"] is False
    assert response.json()["messages_added"] == 0
    assert Message.objects.count() == 2


def test_a_longer_transcript_appends_only_the_new_messages_to_the_open_ticket():
    client = api(Channel.CHAT)
    client.post(CHAT, transcript(), format="json")
    longer = transcript()
    longer["messages"].append(
        {"author": "customer", "text": "Thanks!", "timestamp": (T0 + timedelta(minutes=3)).isoformat()}
    )
    response = client.post(CHAT, longer, format="json")
    assert response.status_code == 200
    assert response.json()["messages_added"] == 1
    ticket = Ticket.objects.get()
    assert list(ticket.messages.values_list("body_text", flat=True)) == [
        "My invoice is wrong",
        "Checking",
        "Thanks!",
    ]


def test_messages_with_ids_are_recognised_by_id_not_position():
    client = api(Channel.CHAT)
    line = {"id": "m-2", "author": "customer", "text": "second", "timestamp": T0.isoformat()}
    client.post(CHAT, transcript(messages=[line]), format="json")
    earlier = {
        "id": "m-1",
        "author": "customer",
        "text": "first",
        "timestamp": (T0 - timedelta(minutes=1)).isoformat(),
    }
    response = client.post(CHAT, transcript(messages=[earlier, line]), format="json")
    assert response.json()["messages_added"] == 1
    assert Message.objects.count() == 2


def test_a_conversation_whose_ticket_is_solved_opens_a_new_ticket():
    client = api(Channel.CHAT)
    client.post(CHAT, transcript(), format="json")
    Ticket.objects.update(status=Status.SOLVED)
    later = transcript(
        messages=[{"id": "late", "author": "customer", "text": "One more thing", "timestamp": T0.isoformat()}]
    )
    response = client.post(CHAT, later, format="json")
    assert response.status_code == 201
    assert Ticket.objects.count() == 2


def test_separate_conversations_make_separate_tickets():
    client = api(Channel.CHAT)
    client.post(CHAT, transcript("conv-1"), format="json")
    client.post(CHAT, transcript("conv-2"), format="json")
    assert Ticket.objects.count() == 2
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (
            {
                "customer": {"email": "a@example.com"},
                "messages": [{"author": "customer", "text": "x", "timestamp": "2026-01-01T00:00:00Z"}],
            },
            "conversation_id",
        ),
        (transcript(messages=[]), "messages"),
        (transcript(name="No contact"), "customer"),
        (transcript(email="not-an-email"), "customer"),
        (
            transcript(messages=[{"author": "robot", "text": "x", "timestamp": "2026-01-01T00:00:00Z"}]),
            "messages",
        ),
        (transcript(messages=[{"author": "customer", "text": "x", "timestamp": "yesterday"}]), "messages"),
        (
            transcript(messages=[{"author": "customer", "text": "", "timestamp": "2026-01-01T00:00:00Z"}]),
            "messages",
        ),
    ],
)
def test_bad_chat_payloads_are_400_with_field_errors_and_write_nothing(payload, field):
    response = api(Channel.CHAT).post(CHAT, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Ticket.objects.exists()
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    "payload", [[], "text", 42, {"conversation_id": "c", "customer": "ada", "messages": "hi"}]
)
def test_payloads_of_the_wrong_shape_are_400(payload):
    response = api(Channel.CHAT).post(CHAT, payload, format="json")
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_malformed_json_is_400():
    response = api(Channel.CHAT).post(CHAT, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_a_failure_midway_rolls_back_the_whole_transcript(monkeypatch):
    from tickets.intake import services as intake

    def explode(**kwargs):
        raise RuntimeError("routing exploded")

    monkeypatch.setattr(intake, "ticket_route", explode)
    client = api(Channel.CHAT)
    client.raise_request_exception = False
    response = client.post(CHAT, transcript(), format="json")
    assert response.status_code == 500
    assert not Ticket.objects.exists()
    assert not Message.objects.exists()
    assert not ExternalMessage.objects.exists()
    assert not Customer.objects.exists()


# --- phone ----------------------------------------------------------------------------------------


def call(**overrides):
    data = {
        "call_id": "c-1",
        "caller": "+14155550123",
        "outcome": "answered",
        "queue_wait_seconds": 30,
        "talk_seconds": 240,
        "agent": "maria@helpdesk.test",
        "notes": "Wants a refund",
        "started_at": T0.isoformat(),
    }
    data.update(overrides)
    return data


def test_an_answered_call_creates_a_phone_ticket_and_a_call_record():
    team = factories.TeamFactory()
    maria = factories.AgentFactory(
        teams=[team], user=factories.UserFactory(username="maria", email="maria@helpdesk.test")
    )
    response = api(Channel.PHONE, default_team=team).post(PHONE, call(), format="json")
    assert response.status_code == 201
    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.PHONE
    assert ticket.customer.phone == "+14155550123"
    assert "Wants a refund" in ticket.messages.get().body_text
    record = PhoneCall.objects.get()
    assert (record.ticket, record.outcome, record.queue_wait_seconds, record.talk_seconds) == (
        ticket,
        "answered",
        30,
        240,
    )
    assert record.agent == maria.user
    assert record.started_at == T0


def test_the_agent_who_answered_owns_the_new_ticket_if_routing_keeps_them_in_team():
    team = factories.TeamFactory(assignment_strategy=Team.AssignmentStrategy.LEAST_LOADED)
    maria = factories.AgentFactory(
        teams=[team], user=factories.UserFactory(username="maria", email="maria@helpdesk.test")
    )
    factories.AgentFactory(teams=[team])
    factories.RoutingRuleFactory(channels=["phone"], set_team=team)
    api(Channel.PHONE, default_team=team).post(PHONE, call(), format="json")
    ticket = Ticket.objects.get()
    assert (ticket.team, ticket.assignee) == (team, maria.user)


def test_an_answering_agent_outside_the_routed_team_is_replaced_by_the_teams_strategy():
    team = factories.TeamFactory(assignment_strategy=Team.AssignmentStrategy.LEAST_LOADED)
    factories.AgentFactory(user=factories.UserFactory(username="maria", email="maria@helpdesk.test"))
    member = factories.AgentFactory(teams=[team])
    factories.RoutingRuleFactory(channels=["phone"], set_team=team)
    api(Channel.PHONE).post(PHONE, call(), format="json")
    assert Ticket.objects.get().assignee == member.user


def test_an_abandoned_call_is_recorded_and_makes_a_tagged_ticket():
    response = api(Channel.PHONE).post(
        PHONE, call(outcome="abandoned", talk_seconds=0, agent="", notes=""), format="json"
    )
    assert response.status_code == 201
    ticket = Ticket.objects.get()
    assert ticket.subject.startswith("Missed call")
    assert list(ticket.tags.values_list("name", flat=True)) == ["abandoned-call"]
    assert PhoneCall.objects.get().outcome == PhoneCall.Outcome.ABANDONED


def test_a_repeat_call_within_the_window_lands_on_the_open_phone_ticket(settings):
    settings.HELPDESK_PHONE_THREAD_HOURS = 24
    client = api(Channel.PHONE)
    client.post(PHONE, call(call_id="c-1"), format="json")
    later = (T0 + timedelta(hours=5)).isoformat()
    response = client.post(
        PHONE, call(call_id="c-2", caller="+1 (415) 555-0123", started_at=later), format="json"
    )
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.phone_calls.count() == 2
    assert ticket.messages.count() == 2


def test_a_call_after_the_window_opens_a_new_ticket(settings):
    settings.HELPDESK_PHONE_THREAD_HOURS = 2
    client = api(Channel.PHONE)
    client.post(PHONE, call(call_id="c-1"), format="json")
    response = client.post(
        PHONE, call(call_id="c-2", started_at=(T0 + timedelta(hours=3)).isoformat()), format="json"
    )
    assert response.status_code == 201
    assert Ticket.objects.count() == 2


def test_an_abandoned_repeat_call_tags_the_open_ticket():
    client = api(Channel.PHONE)
    client.post(PHONE, call(call_id="c-1"), format="json")
    client.post(PHONE, call(call_id="c-2", outcome="abandoned", talk_seconds=0), format="json")
    assert list(Ticket.objects.get().tags.values_list("name", flat=True)) == ["abandoned-call"]


def test_a_re_posted_call_id_is_not_recorded_twice():
    client = api(Channel.PHONE)
    client.post(PHONE, call(), format="json")
    response = client.post(PHONE, call(), format="json")
    assert response.status_code == 200
    assert PhoneCall.objects.count() == 1
    assert Message.objects.count() == 1


def test_national_numbers_use_the_default_region(settings):
    settings.HELPDESK_DEFAULT_PHONE_REGION = "US"
    response = api(Channel.PHONE).post(PHONE, call(caller="(415) 555-0123"), format="json")
    assert response.status_code == 201
    assert PhoneCall.objects.get().caller == "+14155550123"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"caller": "12"}, "caller"),
        ({"caller": ""}, "caller"),
        ({"outcome": "voicemail"}, "outcome"),
        ({"queue_wait_seconds": -1}, "queue_wait_seconds"),
        ({"talk_seconds": "long"}, "talk_seconds"),
        ({"outcome": "abandoned", "talk_seconds": 10}, "talk_seconds"),
        ({"started_at": None}, "started_at"),
        ({"direction": "sideways"}, "direction"),
    ],
)
def test_bad_phone_payloads_are_400_with_field_errors(overrides, field):
    response = api(Channel.PHONE).post(PHONE, call(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not PhoneCall.objects.exists()
    assert not Ticket.objects.exists()


# --- social ---------------------------------------------------------------------------------------


def post(**overrides):
    data = {
        "platform": "Twitter",
        "handle": "@Ada",
        "name": "Ada",
        "external_id": "1790",
        "post_url": "https://twitter.com/ada/status/1790",
        "text": "@acme my order never arrived",
    }
    data.update(overrides)
    return data


def test_a_social_message_opens_a_social_ticket():
    response = api(Channel.SOCIAL).post(SOCIAL, post(), format="json")
    assert response.status_code == 201
    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.SOCIAL
    assert "https://twitter.com/ada/status/1790" in ticket.messages.get().body_text
    handle = ticket.customer.handles.get()
    assert (handle.channel, handle.platform, handle.handle) == ("social", "twitter", "ada")
    assert "twitter" in ticket.tags.values_list("name", flat=True)


def test_a_social_message_is_idempotent_on_its_external_id():
    client = api(Channel.SOCIAL)
    client.post(SOCIAL, post(), format="json")
    response = client.post(SOCIAL, post(), format="json")
    assert response.status_code == 200
    assert response.json()["messages_added"] == 0
    assert Message.objects.count() == 1


def test_a_second_message_from_the_same_handle_joins_the_open_ticket():
    client = api(Channel.SOCIAL)
    client.post(SOCIAL, post(), format="json")
    response = client.post(SOCIAL, post(external_id="1791", handle="ada", text="any news?"), format="json")
    assert response.status_code == 200
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().messages.count() == 2


def test_the_same_handle_on_another_platform_is_another_conversation():
    client = api(Channel.SOCIAL)
    client.post(SOCIAL, post(), format="json")
    client.post(SOCIAL, post(platform="instagram", external_id="1790"), format="json")
    assert Ticket.objects.count() == 2


def test_a_request_that_lost_a_race_is_retried_once_and_answers_idempotently(monkeypatch):
    from django.db import IntegrityError

    from tickets.intake import services as intake

    real = intake.intake_social_message
    calls = []

    def lose_the_first_race(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            real(**kwargs)  # the "other" request files the message ...
            raise IntegrityError("duplicate key value violates unique constraint")  # ... and we collide
        return real(**kwargs)

    monkeypatch.setattr(intake, "intake_social_message", lose_the_first_race)
    response = api(Channel.SOCIAL).post(SOCIAL, post(), format="json")
    assert response.status_code == 200
    assert len(calls) == 2
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"platform": ""}, "platform"),
        ({"platform": "bad platform!"}, "platform"),
        ({"handle": "@"}, "handle"),
        ({"external_id": ""}, "external_id"),
        ({"text": ""}, "text"),
        ({"post_url": "not a url"}, "post_url"),
    ],
)
def test_bad_social_payloads_are_400_with_field_errors(overrides, field):
    response = api(Channel.SOCIAL).post(SOCIAL, post(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Ticket.objects.exists()


def test_the_schema_describes_the_intake_endpoints():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in (CHAT, PHONE, SOCIAL):
        operation = schema["paths"][path]["post"]
        assert operation["tags"] == ["intake"]
        assert "201" in operation["responses"] and "401" in operation["responses"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_posts_of_one_transcript_file_it_once():
    _, key = factories.integration_key(channel=Channel.CHAT)
    barrier = threading.Barrier(2)
    statuses, errors = [], []

    def send() -> None:
        try:
            client = APIClient()
            barrier.wait()
            statuses.append(client.post(CHAT, transcript(), format="json", HTTP_X_API_KEY=key).status_code)
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(statuses) == [200, 201]
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("channel", [Channel.CHAT, Channel.SOCIAL])
def test_two_new_messages_of_one_conversation_at_once_share_one_ticket(channel):
    factories.CustomerFactory(email="ada@example.com")  # a known customer, so both requests lock the same row
    _, key = factories.integration_key(channel=channel)
    endpoint = CHAT if channel == Channel.CHAT else SOCIAL
    if channel == Channel.CHAT:
        payloads = [
            transcript(
                messages=[
                    {"id": f"m{i}", "author": "customer", "text": f"line {i}", "timestamp": T0.isoformat()}
                ]
            )
            for i in range(2)
        ]
    else:
        factories.CustomerFactory(email=None).handles.create(
            channel="social", platform="twitter", handle="ada"
        )
        payloads = [post(external_id=f"x{i}") for i in range(2)]
    barrier = threading.Barrier(2)
    statuses, errors = [], []

    def send(payload) -> None:
        try:
            client = APIClient()
            barrier.wait()
            statuses.append(client.post(endpoint, payload, format="json", HTTP_X_API_KEY=key).status_code)
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(payload,)) for payload in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(statuses) == [200, 201]
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 2


# --- integration keys stay inside their team ------------------------------------------------------


def test_another_teams_chat_key_cannot_append_to_a_conversation_with_the_same_id():
    team_a, team_b = factories.TeamFactory(), factories.TeamFactory()
    first = api(Channel.CHAT, default_team=team_a).post(CHAT, transcript("shared-id"), format="json")
    lines = [{"author": "customer", "text": "Team B's visitor here", "timestamp": T0.isoformat()}]

    other = api(Channel.CHAT, default_team=team_b).post(CHAT, transcript("shared-id", lines), format="json")

    assert (first.status_code, other.status_code) == (201, 201)
    assert other.json()["ticket_id"] != first.json()["ticket_id"]
    assert Ticket.objects.get(pk=first.json()["ticket_id"]).messages.count() == 2


def test_keys_of_one_team_share_its_conversations():
    team = factories.TeamFactory()
    api(Channel.CHAT, default_team=team).post(CHAT, transcript("conv-9"), format="json")
    lines = [{"author": "customer", "text": "Still there?", "timestamp": T0.isoformat()}]

    again = api(Channel.CHAT, default_team=team).post(CHAT, transcript("conv-9", lines), format="json")

    assert again.json()["created"] is False


def test_a_chat_key_cannot_write_as_an_agent_of_another_team():
    team, other_team = factories.TeamFactory(), factories.TeamFactory()
    factories.AgentFactory(teams=[other_team], user=factories.UserFactory(username="boss"))
    lines = [
        {"author": "agent", "author_name": "boss", "text": "Refund approved", "timestamp": T0.isoformat()}
    ]

    api(Channel.CHAT, default_team=team).post(CHAT, transcript("conv-x", lines), format="json")

    message = Message.objects.get()
    assert (message.author_role, message.author_user) == ("agent", None)
    assert message.full_text == "boss: Refund approved"


def test_a_chat_key_without_a_team_writes_agent_lines_as_itself():
    factories.AgentFactory(user=factories.UserFactory(username="maria"))

    api(Channel.CHAT).post(CHAT, transcript(), format="json")

    assert Message.objects.get(author_role="agent").author_user is None


def phone_api(team: Team) -> APIClient:
    return api(Channel.PHONE, default_team=team)


def test_another_teams_phone_key_cannot_re_find_a_call_by_its_id():
    team_a, team_b = factories.TeamFactory(), factories.TeamFactory()
    first = phone_api(team_a).post(PHONE, call(call_id="c-77"), format="json")

    other = phone_api(team_b).post(PHONE, call(call_id="c-77", notes="Team B's caller"), format="json")

    # Team B's key learns nothing of team A's ticket: its call with the same id is its own.
    assert (first.status_code, other.status_code) == (201, 201)
    assert other.json()["ticket_id"] != first.json()["ticket_id"]
    assert other.json()["ticket"] != first.json()["ticket"]
    assert PhoneCall.objects.filter(external_id="c-77").count() == 2
    assert Ticket.objects.get(pk=first.json()["ticket_id"]).messages.count() == 1


def test_a_callers_next_call_threads_only_onto_a_ticket_of_the_keys_team():
    team_a, team_b = factories.TeamFactory(), factories.TeamFactory()
    first = phone_api(team_a).post(PHONE, call(call_id="c-1"), format="json")
    later = (T0 + timedelta(minutes=30)).isoformat()

    other = phone_api(team_b).post(PHONE, call(call_id="c-2", started_at=later), format="json")

    assert other.status_code == 201
    team_a_ticket = Ticket.objects.get(pk=first.json()["ticket_id"])
    assert (team_a_ticket.phone_calls.count(), team_a_ticket.messages.count()) == (1, 1)
    assert Ticket.objects.get(pk=other.json()["ticket_id"]).team == team_b


def test_phone_keys_of_one_team_share_its_callers_tickets():
    team = factories.TeamFactory()
    phone_api(team).post(PHONE, call(call_id="c-1"), format="json")
    later = (T0 + timedelta(minutes=30)).isoformat()

    again = phone_api(team).post(PHONE, call(call_id="c-2", started_at=later), format="json")
    repost = phone_api(team).post(PHONE, call(call_id="c-2", started_at=later), format="json")

    assert (again.json()["created"], repost.json()["created"]) == (False, False)
    assert Ticket.objects.get().phone_calls.count() == 2


def test_a_phone_key_cannot_credit_a_call_to_an_agent_of_another_team():
    team, other_team = factories.TeamFactory(), factories.TeamFactory()
    factories.AgentFactory(
        teams=[other_team], user=factories.UserFactory(username="maria", email="maria@helpdesk.test")
    )

    phone_api(team).post(PHONE, call(), format="json")

    record = PhoneCall.objects.get()
    assert (record.agent, record.ticket.assignee) == (None, None)
    assert "Agent: maria@helpdesk.test" in record.ticket.messages.get().body_text
