from io import StringIO

import pytest
from django.core.management import call_command

from tickets.models import Agent, Channel, Customer, Message, Status, Team, Ticket

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_teams_agents_customers_and_tickets_on_every_channel():
    out = StringIO()
    call_command("seed_demo", tickets=150, customers=40, stdout=out)
    assert Team.objects.count() == 4
    assert Team.objects.filter(lead__isnull=False).count() == 4
    assert Agent.objects.count() >= 12
    assert Customer.objects.count() == 40
    assert Ticket.objects.count() == 150
    assert set(Ticket.objects.values_list("channel", flat=True)) == set(Channel.values)
    statuses = set(Ticket.objects.values_list("status", flat=True))
    assert {Status.NEW, Status.SOLVED} <= statuses
    assert Message.objects.filter(author_role=Message.AuthorRole.AGENT, visibility="public").exists()
    assert "tickets: 150/150 (100%)" in out.getvalue()
    # Demo history is not mailed to the (fictional) customers when the worker starts.
    assert not Message.objects.exclude(delivery_status="").exists()
    first_names = {customer.name.split()[0] for customer in Customer.objects.all()}
    assert all(len(name) > 1 for name in first_names), "names must be whole words, not letters"


def test_seed_demo_refuses_clearly_when_data_exists():
    call_command("seed_demo", tickets=10, customers=5, stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert Ticket.objects.count() == 10
    assert "already present (10 tickets); nothing was changed" in out.getvalue()


def test_ensure_admin_creates_one_admin_and_prints_its_password_only_then(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first, second = StringIO(), StringIO()
    call_command("ensure_admin", stdout=first)
    call_command("ensure_admin", stdout=second)
    password = (tmp_path / "admin-password.txt").read_text().strip()
    assert f"username 'admin', password '{password}'" in first.getvalue()
    assert password not in second.getvalue()
    assert "admin-password.txt" in second.getvalue()
