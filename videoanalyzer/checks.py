"""System checks of our own: production must not run on the development secret key."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def secret_key_from_environment(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """``check --deploy`` fails while SECRET_KEY is the development key shipped in settings."""
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        return [
            checks.Error(
                "SECRET_KEY is the development key written in settings.py.",
                hint="Set the SECRET_KEY environment variable to a long random string, e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(50))'.",
                id="videoanalyzer.E001",
            )
        ]
    return []
