"""Create the demo administrator once; print its password only then (it stays in var/admin-password.txt)."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an 'admin' superuser with a random password (in var/admin-password.txt); print the login."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options) -> None:
        password_file = settings.VAR_DIR / "admin-password.txt"
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None or not password_file.exists():
            password = secrets.token_urlsafe(12)
            if user is None:
                user = user_model.objects.create_superuser(
                    username=username, email=f"{username}@helpdesk.localhost", password=password
                )
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
            # Printed once: start-up logs are kept and shared; a password in them on every start leaks.
            self.stdout.write(
                self.style.SUCCESS(f"Admin login: username {username!r}, password {password!r}")
            )
            return
        self.stdout.write(f"Admin login: username {username!r}, password in {password_file}")
