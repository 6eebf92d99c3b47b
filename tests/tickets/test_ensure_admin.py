from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_ensure_admin_creates_one_admin_and_prints_its_password_only_then(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    first, second = StringIO(), StringIO()
    call_command("ensure_admin", stdout=first)
    call_command("ensure_admin", stdout=second)
    password = (tmp_path / "admin-password.txt").read_text().strip()
    assert f"username 'admin', password '{password}'" in first.getvalue()
    assert password not in second.getvalue()
    assert "admin-password.txt" in second.getvalue()
