"""Django database backend ``videoanalyzer.embedded``: Postgres, started on first connection.

Everything is Django's PostgreSQL backend; only the connection parameters wait until a
connection is really needed, which starts (or joins) the embedded server of ``PGDATA``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.db.backends.postgresql import base, client

from videoanalyzer.embedded import start


class DatabaseClient(client.DatabaseClient):
    """``manage.py dbshell``: the server is started first, and its own psql is used."""

    @classmethod
    def settings_to_cmd_args_env(
        cls, settings_dict: dict[str, Any], parameters: Iterable[str]
    ) -> tuple[list[str], dict[str, str] | None]:
        started = {**settings_dict, **start(Path(settings_dict["PGDATA"]))}
        from pgserver._commands import POSTGRES_BIN_PATH  # after start(): it sets up pgserver

        args, env = super().settings_to_cmd_args_env(started, parameters)
        return [str(POSTGRES_BIN_PATH / "psql"), *args[1:]], env


class DatabaseWrapper(base.DatabaseWrapper):
    client_class = DatabaseClient

    def get_connection_params(self) -> dict[str, Any]:
        self.settings_dict.update(start(Path(self.settings_dict["PGDATA"])))
        return super().get_connection_params()
