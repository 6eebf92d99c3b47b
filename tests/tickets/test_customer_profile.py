"""The customer profile (desk and API) and merging customers: scope, what moves, the audit, idempotence."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from surveys.models import SurveyInvitation, SurveyResponse
from tests import factories
from tickets import services
from tickets.customer_profile import customer_find, customer_profile, customer_recent_contacts
from tickets.customers import customer_get_or_create, customer_merge
from tickets.exceptions import CustomerIdentityError, CustomerMergeRefused
from tickets.models import Channel, Customer, CustomerHandle, CustomerMerge, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_team():
    return factories.TeamFactory(name="Other team")


@pytest.fixture
def lead(team):
    user = factories.AgentFactory(teams=[team]).user
    team.lead = user
    team.save(update_fields=["lead"])
    return user


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@helpdesk.test", "pass-word-123")


@pytest.fixture
def noah(team, other_team):
    """A customer with an email ticket and a phone ticket in the team, and a chat ticket elsewhere."""
    now = timezone.now()
    customer = factories.CustomerFactory(
        name="Noah Wagner",
        email="noah@example.com",
        phone="+4532123456",
        is_vip=True,
        notes="Prefers mornings.",
    )
    CustomerHandle.objects.create(customer=customer, channel=Channel.SOCIAL, platform="x", handle="noahw")
    email = factories.ticket(
        customer=customer, team=team, subject="Invoice twice", now=now - timedelta(days=2)
    )
    phone = factories.ticket(
        customer=customer, team=team, subject="Called about delivery", channel=Channel.PHONE, now=now
    )
    factories.phone_call(ticket=phone, started_at=now - timedelta(minutes=1), talk_seconds=125)
    secret = factories.ticket(
        customer=customer, team=other_team, subject="Secret other-team matter", channel=Channel.CHAT
    )
    return customer, email, phone, secret


def _answer_csat(ticket, score: int) -> None:
    invitation = factories.sent_survey(ticket=services.ticket_change_status(ticket=ticket, status="solved"))
    SurveyResponse.objects.create(
        invitation=invitation,
        kind="csat",
        score=score,
        source=SurveyResponse.Source.WEB,
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )


# --- the profile -----------------------------------------------------------------------------------


def test_the_profile_lists_the_tickets_the_agent_may_see_on_every_channel(agent_user, noah):
    customer, email, phone, secret = noah
    profile = customer_profile(user=agent_user, customer=customer)
    assert [t.pk for t in profile.tickets] == [phone.pk, email.pk]
    assert profile.ticket_count == 2
    assert profile.emails == ["noah@example.com"] and profile.phones == ["+4532123456"]
    assert [h.handle for h in profile.handles] == ["noahw"]
    kinds = [(c.kind, c.ticket.pk) for c in profile.contacts]
    assert ("call", phone.pk) in kinds and ("message", email.pk) in kinds
    assert all(c.ticket.pk != secret.pk for c in profile.contacts)


def test_an_admin_sees_every_ticket_of_the_customer(admin_user, noah):
    customer, *_ = noah
    assert customer_profile(user=admin_user, customer=customer).ticket_count == 3


def test_recent_contacts_are_newest_first_and_limited(agent_user, noah):
    customer, email, phone, _ = noah
    services.message_add(ticket=email, author_role=Message.AuthorRole.CUSTOMER, body_text="Any   news?")
    contacts = customer_recent_contacts(user=agent_user, customer_id=customer.pk, limit=3)
    assert [(c.kind, c.ticket, c.summary) for c in contacts] == [
        ("message", email, "Any news?"),
        ("message", phone, "Help, my printer is on fire."),
        ("call", phone, "Inbound call, answered, 2 min 5 s"),
    ]


def test_the_desk_profile_shows_details_tickets_on_two_channels_and_csat(desk_client, agent_user, noah):
    customer, email, phone, secret = noah
    _answer_csat(email, 5)
    response = desk_client(agent_user).get(reverse("workspace:customer", args=[customer.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("Noah Wagner", "VIP", "noah@example.com", "+4532123456", "noahw", "Prefers mornings."):
        assert text in html
    assert email.reference in html and phone.reference in html
    assert "Phone" in html and "Email" in html
    assert "5 <span" in html  # the CSAT column
    assert secret.reference not in html and "Secret other-team" not in html
    assert "Merge another customer" not in html  # agents do not merge


def test_a_customer_known_only_to_another_team_is_a_404(desk_client, as_user, agent_user, other_team):
    stranger = factories.ticket(team=other_team).customer
    assert desk_client(agent_user).get(reverse("workspace:customer", args=[stranger.pk])).status_code == 404
    assert as_user(agent_user).get(f"/api/v1/customers/{stranger.pk}/profile/").status_code == 404


def test_the_ticket_page_links_the_customer_and_shows_their_last_contacts(desk_client, agent_user, noah):
    customer, email, _, secret = noah
    html = desk_client(agent_user).get(reverse("workspace:ticket", args=[email.pk])).content.decode()
    assert reverse("workspace:customer", args=[customer.pk]) in html
    assert "Recent contacts" in html and "Inbound call, answered" in html
    assert secret.reference not in html


def test_the_api_profile_has_contacts_tickets_with_csat_and_is_in_the_schema(
    as_user, agent_user, noah, django_assert_max_num_queries
):
    customer, email, phone, _ = noah
    _answer_csat(email, 4)
    client = as_user(agent_user)
    with django_assert_max_num_queries(12):
        response = client.get(f"/api/v1/customers/{customer.pk}/profile/")
    assert response.status_code == 200
    data = response.json()
    assert data["customer"]["is_vip"] is True
    assert data["handles"] == [{"channel": "social", "platform": "x", "handle": "noahw"}]
    assert data["ticket_count"] == 2
    by_ref = {t["reference"]: t for t in data["tickets"]}
    assert set(by_ref) == {email.reference, phone.reference}
    assert by_ref[email.reference]["csat"] == {"score": 4, "scale_min": 1, "scale_max": 5}
    assert by_ref[phone.reference]["channel"] == "phone" and by_ref[phone.reference]["csat"] is None
    assert {c["kind"] for c in data["recent_contacts"]} == {"call", "message"}
    schema = client.get("/api/v1/schema/?format=json").json()
    assert "/api/v1/customers/{id}/profile/" in schema["paths"]
    for bad in ("abc", "-1", "99999999999999999999"):
        assert client.get(f"/api/v1/customers/{bad}/profile/").status_code == 404


# --- merging ---------------------------------------------------------------------------------------


def test_a_merge_moves_tickets_calls_surveys_and_identities_and_is_recorded(lead, team):
    source = factories.CustomerFactory(email="noah@home.test", phone="+4532123456")
    target = factories.CustomerFactory(email="noah@work.test", phone=None)
    CustomerHandle.objects.create(customer=source, channel=Channel.CHAT, handle="visitor-9")
    earlier = factories.CustomerFactory(email=None, phone=None, merged_into=source)
    ticket = factories.ticket(customer=source, team=team, channel=Channel.PHONE)
    call = factories.phone_call(ticket=ticket, started_at=timezone.now())
    invitation = factories.sent_survey(ticket=services.ticket_change_status(ticket=ticket, status="solved"))

    customer_merge(source=source, target=target, actor=lead)

    call.refresh_from_db()
    assert call.ticket.customer == target
    assert SurveyInvitation.objects.get(pk=invitation.pk).ticket.customer == target
    assert target.handles.filter(handle="visitor-9").exists()
    assert Customer.objects.get(pk=earlier.pk).merged_into == target
    record = CustomerMerge.objects.get(source=source)
    assert (record.target, record.actor, record.ticket_ids) == (target, lead, [ticket.pk])
    assert record.details["phone_calls"] == 1 and record.details["handles"] == 1
    # Both addresses now reach the target; the profile lists the merged record's address too.
    assert customer_get_or_create(email="noah@home.test") == target
    assert customer_profile(user=lead, customer=target).emails == ["noah@work.test", "noah@home.test"]


def test_merging_again_changes_nothing(lead, team):
    source, target = factories.CustomerFactory(), factories.CustomerFactory()
    factories.ticket(customer=source, team=team)
    customer_merge(source=source, target=target, actor=lead)
    assert customer_merge(source=source, target=target, actor=lead) == target
    assert CustomerMerge.objects.count() == 1
    assert target.tickets.get().audit_entries.filter(field="customer").count() == 1


def test_a_lead_cannot_merge_customers_with_tickets_of_another_team(lead, team, other_team):
    mine = factories.ticket(team=team).customer
    theirs = factories.ticket(team=other_team).customer
    for source, target in ((theirs, mine), (mine, theirs)):
        with pytest.raises(CustomerMergeRefused, match="outside yours"):
            customer_merge(source=source, target=target, actor=lead)
    assert not Customer.objects.filter(merged_into__isnull=False).exists()
    assert not CustomerMerge.objects.exists()


def test_an_agent_who_leads_no_team_cannot_merge(agent_user, team):
    source, target = factories.ticket(team=team).customer, factories.ticket(team=team).customer
    with pytest.raises(CustomerMergeRefused, match="team leads and admins"):
        customer_merge(source=source, target=target, actor=agent_user)


def test_an_admin_merges_across_teams(admin_user, team, other_team):
    source, target = factories.ticket(team=team).customer, factories.ticket(team=other_team).customer
    customer_merge(source=source, target=target, actor=admin_user)
    assert Customer.objects.get(pk=source.pk).merged_into == target


def test_merging_into_a_merged_customer_is_refused(lead):
    a, b, c = factories.CustomerFactory.create_batch(3)
    customer_merge(source=b, target=c, actor=lead)
    with pytest.raises(CustomerIdentityError, match="merge into that one"):
        customer_merge(source=a, target=b, actor=lead)


def test_customer_find_reads_numbers_addresses_and_phones_within_scope(lead, team, other_team):
    mine = factories.ticket(team=team, customer=factories.CustomerFactory(phone="+4532123456")).customer
    theirs = factories.ticket(team=other_team).customer
    assert customer_find(user=lead, text=str(mine.pk)) == mine
    assert customer_find(user=lead, text=mine.email.upper()) == mine
    assert customer_find(user=lead, text="+45 32 12 34 56") == mine
    assert customer_find(user=lead, text=theirs.email) is None
    assert customer_find(user=lead, text="9" * 40) is None
    assert customer_find(user=lead, text="not a thing") is None


def test_the_desk_merge_asks_for_confirmation_then_merges(desk_client, lead, team):
    target = factories.ticket(team=team, customer=factories.CustomerFactory(name="Noah Wagner")).customer
    source = factories.ticket(team=team, customer=factories.CustomerFactory(name="N. Wagner")).customer
    client = desk_client(lead)
    url = reverse("workspace:customer_merge", args=[target.pk])
    assert (
        "Merge another customer"
        in client.get(reverse("workspace:customer", args=[target.pk])).content.decode()
    )
    confirm = client.post(url, {"source": source.email})
    assert confirm.status_code == 200
    assert "Merge N. Wagner" in confirm.content.decode()
    assert Customer.objects.get(pk=source.pk).merged_into is None  # not before the confirmation
    done = client.post(url, {"source": str(source.pk), "confirm": "on"})
    assert done.status_code == 302 and done["Location"] == reverse("workspace:customer", args=[target.pk])
    assert Customer.objects.get(pk=source.pk).merged_into == target


@pytest.mark.parametrize("source", ["", "nobody@example.com", "x" * 300, "-1"])
def test_the_desk_merge_answers_400_to_unknown_or_hostile_input(desk_client, lead, team, source):
    target = factories.ticket(team=team).customer
    response = desk_client(lead).post(
        reverse("workspace:customer_merge", args=[target.pk]), {"source": source, "confirm": "on"}
    )
    assert response.status_code == 400
    assert not Customer.objects.filter(merged_into__isnull=False).exists()


def test_the_desk_merge_is_for_leads_and_refuses_other_teams_customers(
    desk_client, agent_user, lead, team, other_team
):
    target = factories.ticket(team=team).customer
    url = reverse("workspace:customer_merge", args=[target.pk])
    assert desk_client(agent_user).get(url).status_code == 403
    shared = factories.ticket(team=team).customer
    factories.ticket(team=other_team, customer=shared)
    response = desk_client(lead).post(url, {"source": str(shared.pk), "confirm": "on"})
    assert response.status_code == 400
    assert "outside yours" in response.content.decode()
    assert Customer.objects.get(pk=shared.pk).merged_into is None
