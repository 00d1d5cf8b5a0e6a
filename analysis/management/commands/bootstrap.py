"""Make a fresh install usable: a first account to log in with, and the sample clip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from analysis.conf import setting
from analysis.samples import seed


class Command(BaseCommand):
    help = "Create the first user (ADMIN_USERNAME/ADMIN_PASSWORD) if none exists; seed samples."

    def handle(self, *args: Any, **options: Any) -> None:
        seed(Path(settings.SAMPLES_DIR))
        users = get_user_model().objects
        if users.exists():
            return
        username = setting("ADMIN_USERNAME")
        password = setting("ADMIN_PASSWORD")
        if not password:
            if not settings.EMBEDDED_DB:
                self.stderr.write("No users yet: set ADMIN_PASSWORD or run createsuperuser.")
                return
            password = "editor"  # the embedded default listens on loopback only
        users.create_superuser(username=username, email="", password=password)
        self.stdout.write(
            f"Created user '{username}' with password '{password}'. Change it in /admin/."
        )
