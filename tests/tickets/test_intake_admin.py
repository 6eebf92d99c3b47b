import pytest

from tests import factories
from tickets.models import Channel, RoutingRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(
        django_user_model.objects.create_superuser("lead", "lead@helpdesk.test", "pass-word-123")
    )
    return client


@pytest.mark.parametrize("model", ["routingrule", "integrationkey", "phonecall", "externalmessage"])
def test_intake_models_have_working_admin_lists(admin_client, model):
    factories.RoutingRuleFactory(keywords=["refund"], set_team=factories.TeamFactory())
    factories.integration_key(channel=Channel.PHONE)
    response = admin_client.get(f"/admin/tickets/{model}/")
    assert response.status_code == 200


def test_routing_rules_are_listed_in_position_order_and_reorderable(admin_client):
    late = factories.RoutingRuleFactory(name="late", position=20)
    early = factories.RoutingRuleFactory(name="early", position=10)
    listed = admin_client.get("/admin/tickets/routingrule/").context["cl"].result_list
    assert [rule.name for rule in listed] == ["early", "late"]
    response = admin_client.post(
        "/admin/tickets/routingrule/",
        {
            "form-TOTAL_FORMS": "2",
            "form-INITIAL_FORMS": "2",
            "form-0-id": early.pk,
            "form-0-position": "30",
            "form-0-is_active": "on",
            "form-1-id": late.pk,
            "form-1-position": "20",
            "form-1-is_active": "on",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    assert list(RoutingRule.objects.values_list("name", flat=True)) == ["late", "early"]


def test_a_routing_rule_can_be_added_in_the_admin(admin_client):
    team = factories.TeamFactory()
    response = admin_client.post(
        "/admin/tickets/routingrule/add/",
        {
            "name": "Refunds",
            "position": "5",
            "is_active": "on",
            "channels": '["web", "chat"]',
            "received_at_addresses": "[]",
            "keywords": '["refund"]',
            "vip": "any",
            "set_team": team.pk,
            "set_priority": "high",
            "add_tags": '["refund"]',
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = RoutingRule.objects.get()
    assert (rule.keywords, rule.set_team, rule.set_priority) == (["refund"], team, "high")
