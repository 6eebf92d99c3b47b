import threading

import pytest
from django.db import connection

from tests import factories
from tickets.customers import (
    HandleInput,
    customer_get_or_create,
    customer_merge,
    normalize_email,
    normalize_phone,
)
from tickets.exceptions import CustomerIdentityError
from tickets.models import AuditEntry, Channel, Customer, CustomerHandle, CustomerMerge, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_lead(team, agent_user):
    """Customer merges are for team leads and admins: the agent leads the team."""
    team.lead = agent_user
    team.save(update_fields=["lead"])
    return agent_user


def test_email_match_ignores_case_and_surrounding_space():
    first = customer_get_or_create(email="Ada.Lovelace@Example.COM", name="Ada")
    again = customer_get_or_create(email="  ada.lovelace@example.com ")
    assert again.pk == first.pk
    assert Customer.objects.count() == 1
    assert first.email == "Ada.Lovelace@example.com"


def test_invalid_email_is_refused_with_a_clear_message():
    with pytest.raises(CustomerIdentityError, match="not a valid email address"):
        customer_get_or_create(email="not-an-address")
    assert not Customer.objects.exists()


@pytest.mark.parametrize("written", ["+1 415-555-0123", "(415) 555-0123", "415.555.0123", "+14155550123"])
def test_phone_numbers_in_any_format_are_stored_in_e164(settings, written):
    settings.HELPDESK_DEFAULT_PHONE_REGION = "US"
    assert normalize_phone(written) == "+14155550123"


def test_phone_formats_match_the_same_customer(settings):
    settings.HELPDESK_DEFAULT_PHONE_REGION = "US"
    first = customer_get_or_create(phone="(415) 555-0123")
    again = customer_get_or_create(phone="+1 415 555 0123")
    assert again.pk == first.pk
    assert first.phone == "+14155550123"


def test_the_default_region_decides_national_numbers(settings):
    settings.HELPDESK_DEFAULT_PHONE_REGION = "DK"
    assert normalize_phone("32 12 34 56") == "+4532123456"


@pytest.mark.parametrize("written", ["12", "not a phone", "+1 555 0000 0000 0000", ""])
def test_invalid_phone_numbers_are_refused(settings, written):
    settings.HELPDESK_DEFAULT_PHONE_REGION = "US"
    with pytest.raises(CustomerIdentityError, match="international form"):
        normalize_phone(written)


def test_a_national_number_without_a_default_region_explains_the_setting(settings):
    settings.HELPDESK_DEFAULT_PHONE_REGION = ""
    with pytest.raises(CustomerIdentityError, match="HELPDESK_DEFAULT_PHONE_REGION"):
        normalize_phone("415 555 0123")


def test_handle_identifies_a_customer_and_social_handles_ignore_case_and_at_sign():
    first = customer_get_or_create(
        handle=HandleInput(channel=Channel.SOCIAL, platform="Twitter", handle="@Ada")
    )
    again = customer_get_or_create(
        handle=HandleInput(channel=Channel.SOCIAL, platform="twitter", handle="ada")
    )
    assert again.pk == first.pk
    handle = first.handles.get()
    assert (handle.platform, handle.handle) == ("twitter", "ada")


def test_a_known_email_gains_a_new_handle_and_a_missing_phone_and_name(settings):
    settings.HELPDESK_DEFAULT_PHONE_REGION = "US"
    customer = factories.CustomerFactory(email="bob@example.com", name="")
    found = customer_get_or_create(
        email="BOB@example.com",
        phone="415 555 0123",
        handle=HandleInput(channel=Channel.CHAT, handle="visitor-9"),
        name="Bob Builder",
    )
    assert found.pk == customer.pk
    customer.refresh_from_db()
    assert customer.phone == "+14155550123"
    assert customer.name == "Bob Builder"
    assert customer.handles.filter(channel=Channel.CHAT, handle="visitor-9").exists()


def test_a_customer_known_by_phone_gains_the_email(settings):
    settings.HELPDESK_DEFAULT_PHONE_REGION = "US"
    owner = factories.CustomerFactory(phone="+14155550123", email=None)
    found = customer_get_or_create(email="new@example.com", phone="415 555 0123")
    assert found.pk == owner.pk
    owner.refresh_from_db()
    assert owner.email == "new@example.com"


def test_email_wins_and_a_phone_owned_by_another_customer_is_not_taken():
    by_email = factories.CustomerFactory(email="a@example.com", phone=None)
    by_phone = factories.CustomerFactory(email=None, phone="+4532123456")
    found = customer_get_or_create(email="a@example.com", phone="+45 32 12 34 56")
    assert found.pk == by_email.pk
    by_email.refresh_from_db()
    assert by_email.phone is None
    assert Customer.objects.get(phone="+4532123456").pk == by_phone.pk


def test_no_identifier_is_refused():
    with pytest.raises(CustomerIdentityError, match="email address, a phone number or a channel handle"):
        customer_get_or_create(name="Nobody")


def test_new_customer_joins_the_organization_of_their_email_domain():
    organization = factories.OrganizationFactory(email_domains=["acme.test", "@Acme.example"])
    assert customer_get_or_create(email="wile@ACME.test").organization == organization
    assert customer_get_or_create(email="road@acme.example").organization == organization
    assert customer_get_or_create(email="x@other.test").organization is None
    assert customer_get_or_create(email="y@subacme.test").organization is None


def test_an_existing_customer_without_organization_gets_it_by_domain():
    customer = factories.CustomerFactory(email="wile@acme.test")
    organization = factories.OrganizationFactory(email_domains=["acme.test"])
    customer_get_or_create(email="wile@acme.test")
    customer.refresh_from_db()
    assert customer.organization == organization


def test_a_merged_customer_resolves_to_the_customer_it_was_merged_into(team_lead):
    source = factories.CustomerFactory(email="old@example.com")
    target = factories.CustomerFactory(email="new@example.com")
    customer_merge(source=source, target=target, actor=team_lead)
    assert customer_get_or_create(email="old@example.com").pk == target.pk


def test_merge_moves_tickets_handles_and_authorship_and_fills_missing_contact(team_lead, team):
    source = factories.CustomerFactory(email="ada@home.test", phone="+4532123456", name="Ada", is_vip=True)
    target = factories.CustomerFactory(email="ada@work.test", phone=None, name="Ada L")
    CustomerHandle.objects.create(customer=source, channel=Channel.CHAT, handle="v-1")
    ticket = factories.ticket(customer=source, team=team)
    merged = customer_merge(source=source, target=target, actor=team_lead)

    source.refresh_from_db()
    ticket.refresh_from_db()
    assert merged.pk == target.pk
    assert ticket.customer == target
    assert Message.objects.get(ticket=ticket).author_customer == target
    assert target.handles.filter(handle="v-1").exists()
    assert source.merged_into == target
    target.refresh_from_db()
    assert target.email == "ada@work.test"  # the target keeps its own address
    assert target.phone == "+4532123456"  # and takes the phone it lacked
    assert target.is_vip
    assert source.phone is None and source.email == "ada@home.test"
    entry = ticket.audit_entries.get(field="customer")
    assert entry.actor == team_lead
    assert entry.action == AuditEntry.Action.FIELD_CHANGED
    assert entry.details["source_customer"] == source.pk


def test_merge_moves_the_email_when_the_target_has_none(team_lead):
    source = factories.CustomerFactory(email="Only@Example.com")
    target = factories.CustomerFactory(email=None, phone="+4532123456")
    customer_merge(source=source, target=target, actor=team_lead)
    target.refresh_from_db()
    assert target.email == "Only@Example.com"
    assert customer_get_or_create(email="only@example.com").pk == target.pk


@pytest.mark.parametrize("case", ["self", "source already merged", "target merged"])
def test_merge_refuses_impossible_merges(team_lead, case):
    a, b, c = factories.CustomerFactory.create_batch(3)
    if case == "self":
        source, target = a, a
    elif case == "source already merged":
        customer_merge(source=a, target=c, actor=team_lead)
        source, target = a, b
    else:
        customer_merge(source=b, target=c, actor=team_lead)
        source, target = a, b
    with pytest.raises(CustomerIdentityError):
        customer_merge(source=source, target=target, actor=team_lead)


def test_admin_merges_two_selected_customers_into_the_older(client, django_user_model, team):
    admin_user = django_user_model.objects.create_superuser("lead", "lead@helpdesk.test", "pass-word-123")
    client.force_login(admin_user)
    older = factories.CustomerFactory()
    newer = factories.CustomerFactory()
    ticket = factories.ticket(customer=newer, team=team)
    response = client.post(
        "/admin/tickets/customer/",
        {"action": "action_merge_customers", "_selected_action": [older.pk, newer.pk]},
        follow=True,
    )
    assert response.status_code == 200
    ticket.refresh_from_db()
    newer.refresh_from_db()
    assert ticket.customer == older
    assert newer.merged_into == older
    record = CustomerMerge.objects.get(source=newer)
    assert record.actor == admin_user
    listing = client.get("/admin/tickets/customermerge/")
    assert listing.status_code == 200 and newer.name in listing.content.decode()


def test_admin_merge_needs_exactly_two_customers(client, django_user_model):
    admin_user = django_user_model.objects.create_superuser("lead", "lead@helpdesk.test", "pass-word-123")
    client.force_login(admin_user)
    customers = factories.CustomerFactory.create_batch(3)
    response = client.post(
        "/admin/tickets/customer/",
        {"action": "action_merge_customers", "_selected_action": [c.pk for c in customers]},
        follow=True,
    )
    assert "Select exactly two customers" in response.content.decode()
    assert not Customer.objects.filter(merged_into__isnull=False).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("identity", ["email", "phone", "handle"])
def test_concurrent_first_contacts_create_one_customer(identity):
    kwargs = {
        "email": {"email": "Race@Example.com"},
        "phone": {"phone": "+14155550123"},
        "handle": {"handle": HandleInput(channel=Channel.CHAT, handle="visitor-race")},
    }[identity]
    barrier = threading.Barrier(4)
    results, errors = [], []

    def contact(index: int) -> None:
        try:
            barrier.wait()
            variant = dict(kwargs)
            if identity == "email":
                variant["email"] = "race@example.com" if index % 2 else "RACE@EXAMPLE.COM"
            results.append(customer_get_or_create(**variant).pk)
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=contact, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(results)) == 1
    assert Customer.objects.count() == 1


def test_normalize_email_lowercases_only_the_domain():
    assert normalize_email("John.Doe@EXAMPLE.org") == "John.Doe@example.org"
