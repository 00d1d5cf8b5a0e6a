"""Django database backend ``videoanalyzer.embedded``: Postgres, started on first connection.

Everything is Django's PostgreSQL backend; only the connection parameters wait until a
connection is really needed, which starts (or joins) the embedded server of ``PGDATA``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db.backends.postgresql import base

from videoanalyzer.embedded import start


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        self.settings_dict.update(start(Path(self.settings_dict["PGDATA"])))
        return super().get_connection_params()
