"""Getting the database ready for a command that runs on its own (``manage.py analyze``).

On a fresh checkout nothing is migrated: the embedded database is ours, so it is migrated on the
spot. An external database (``DATABASE_URL``) is shared with a server and is only checked: its
migrations are the operator's call (``manage.py migrate``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from videoanalyzer.errors import DomainError


class DatabaseNotReady(DomainError):
    """The database lacks migrations and is not ours to migrate (HTTP 503 if it ever gets there)."""

    status = 503


def pending_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """``app.migration`` names not applied to the database yet."""
    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def database_prepare() -> list[str]:
    """Make sure the database has every migration; the ones applied now.

    Raises:
        DatabaseNotReady: an external database has unapplied migrations.
    """
    pending = pending_migrations()
    if not pending:
        return []
    if not settings.EMBEDDED_DB:
        raise DatabaseNotReady(
            f"The database lacks {len(pending)} migration(s) (first: {pending[0]}); "
            "run `python manage.py migrate`."
        )
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    return pending
