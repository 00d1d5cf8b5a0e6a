"""The site itself as an app: its system checks, and the cache table created on migrate."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps


class SiteConfig(AppConfig):
    name = "videoanalyzer"
    verbose_name = "videoanalyzer site"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from videoanalyzer import checks  # noqa: F401  (registers the checks)
        from videoanalyzer.dbpool import install_check

        connection_created.connect(install_check, dispatch_uid="videoanalyzer-pool-check")

        # Sent once per migrated app; "sessions" is always installed and always migrated.
        post_migrate.connect(
            create_cache_table,
            sender=apps.get_app_config("sessions"),
            dispatch_uid="videoanalyzer-cache-table",
        )


def create_cache_table(using: str = "default", **kwargs: Any) -> None:
    """The database cache (rate-limit counters without Redis) needs its table: make it."""
    from django.conf import settings
    from django.core.management import call_command

    backends = {c["BACKEND"] for c in settings.CACHES.values()}
    if "django.core.cache.backends.db.DatabaseCache" in backends:
        call_command("createcachetable", database=using, verbosity=0)
