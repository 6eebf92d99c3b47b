from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_ensure_admin_creates_one_admin_and_prints_the_same_login_each_time(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first, second = StringIO(), StringIO()
    call_command("ensure_admin", stdout=first)
    call_command("ensure_admin", stdout=second)
    assert "username 'admin'" in first.getvalue()
    assert first.getvalue() == second.getvalue()
