"""The embedded Postgres used when no ``DATABASE_URL`` is configured.

pgserver runs a real Postgres 16 from a wheel, with its data in a local folder, so the embedded
default exercises the same database features (full-text search, JSONB, pgvector) as production.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DATABASE_NAME = "videoanalyzer"
_server: Any = None  # kept for the life of the process: the server stops with its last handle


def embedded_database_url(pgdata: Path) -> str:
    """Start (or join) the embedded server for ``pgdata`` and return a URL to our database."""
    global _server
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # pgserver keeps its lock file in the user runtime dir, which containers often lack.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    import pgserver

    _server = pgserver.get_server(pgdata, cleanup_mode="stop")
    exists = _server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        _server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return str(_server.get_uri(database=DATABASE_NAME))
