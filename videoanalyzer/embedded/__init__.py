"""The embedded Postgres used when no ``DATABASE_URL`` is configured.

pgserver runs a real Postgres 16 from a wheel, with its data in a local folder, so the embedded
default exercises the same database features (full-text search, JSONB, pgvector) as production.

Importing the settings starts nothing: the settings name this package as the database ENGINE
(``videoanalyzer.embedded.base``), which starts the server on the first connection a process
makes. Long-running processes (``manage.py serve``, the ASGI app) call :func:`start_configured`
up front, so a broken data folder fails at boot and the first request does not wait for it.
A server is shared by every process of the same data folder and stops with the last of them.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

ENGINE = "videoanalyzer.embedded"
DATABASE_NAME = "videoanalyzer"
_server: Any = None  # kept for the life of the process: the server stops with its last handle
_lock = threading.Lock()  # Daphne's threads may all open their first connection at once


def database_settings(pgdata: Path) -> dict[str, Any]:
    """``DATABASES["default"]`` for the embedded server with its data in ``pgdata``."""
    return {"ENGINE": ENGINE, "NAME": DATABASE_NAME, "PGDATA": str(pgdata), "USER": "postgres"}


def start(pgdata: Path) -> dict[str, str]:
    """Start (or join) the server for ``pgdata``; the HOST/PORT/USER to connect with.

    Creates the data folder (``initdb``) and our database the first time.
    """
    global _server
    with _lock:
        if _server is None:
            _server = _boot(pgdata)
    info = _server.get_postmaster_info()
    host = str(info.socket_dir) if info.socket_dir is not None else "127.0.0.1"
    return {"HOST": host, "PORT": str(info.port or ""), "USER": "postgres", "PASSWORD": ""}


def _boot(pgdata: Path) -> Any:
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # pgserver keeps its lock file in the user runtime dir, which containers often lack.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(pgdata.parent / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    import pgserver

    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return server


def running() -> bool:
    """Whether this process has started (or joined) the embedded server."""
    return _server is not None


def start_configured() -> None:
    """Start the embedded server now if the settings use it (else do nothing)."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == ENGINE:
        database.update(start(Path(database["PGDATA"])))
