"""The web processes' connection pool checks connections only when they sat idle a while."""

from __future__ import annotations

import os
import time
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from videoanalyzer.dbpool import check_unless_fresh, pool_options

pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    """The test database (the one the test run made), as a URL."""
    from django.db import connection

    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgresql://{db['USER']}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    seen: list[Any] = []
    original = ConnectionPool.check_connection

    def counted(connection: Any) -> None:
        seen.append(connection)
        original(connection)

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(counted))
    return seen


def make_pool(check_after: float, settings: Any) -> ConnectionPool:
    settings.DB_POOL_CHECK_AFTER = check_after
    options = {**pool_options(1), "min_size": 1}  # one connection, lent in turn
    return ConnectionPool(
        database_url(),
        kwargs={"autocommit": True},
        open=True,
        check=check_unless_fresh,
        **options,
    )


def test_a_connection_just_returned_is_lent_without_a_round_trip(
    checks: list[Any], settings: Any
) -> None:
    with make_pool(60.0, settings) as pool:
        with pool.connection() as first:
            first.execute("SELECT 1")
        lent_before = len(checks)  # a connection new to the pool is checked once
        for _ in range(3):
            with pool.connection() as again:
                assert again.execute("SELECT 2").fetchone() == (2,)
        assert len(checks) == lent_before


def test_an_idle_connection_is_checked_and_a_broken_one_replaced(
    checks: list[Any], settings: Any
) -> None:
    with make_pool(0.05, settings) as pool:
        with pool.connection() as first:
            pid = first.info.backend_pid
        checked_before = len(checks)
        with psycopg.connect(database_url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        time.sleep(0.2)
        with pool.connection() as again:
            assert again.execute("SELECT 3").fetchone() == (3,)
            assert again.info.backend_pid != pid
        assert len(checks) > checked_before  # checked, found broken, replaced


def test_django_runs_queries_through_the_pool_settings() -> None:
    """``DB_POOL=true`` as the web processes run it: Django accepts the options, lends
    connections from the pool, and the check skips a connection returned a moment ago."""
    import subprocess
    import sys
    from pathlib import Path

    # Which connections each round lent and which the pool checked, by identity: the pool
    # may still be opening connections in the background during the first round (min_size),
    # and a connection new to the pool is rightly checked whenever it first comes out.
    script = (
        "from unittest import mock\n"
        "from psycopg_pool import ConnectionPool\n"
        "from django.db import connection\n"
        "calls = []\n"
        "real = ConnectionPool.check_connection\n"
        "with mock.patch.object(ConnectionPool, 'check_connection',\n"
        "                       side_effect=lambda c: (calls.append(id(c)), real(c))):\n"
        "    rounds = []\n"
        "    for _ in range(2):\n"
        "        lent, before = set(), len(calls)\n"
        "        for _ in range(4):\n"
        "            with connection.cursor() as cursor:\n"
        "                cursor.execute('SELECT 1')\n"
        "                lent.add(id(connection.connection))\n"
        "            connection.close()  # what request_finished does: back to the pool\n"
        "        rounds.append((lent, set(calls[before:])))\n"
        "(lent1, checked1), (lent2, checked2) = rounds\n"
        "print('POOL', connection.pool._check.__name__, len(checked1), len(lent2 & lent1),\n"
        "      len(checked2 & lent1))\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DB_POOL": "true",
        "DB_POOL_CHECK_AFTER": "30",
    }
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("POOL"))
    _, installed, checked_new, reused, rechecked = line.split()
    assert installed == "check_unless_fresh"
    assert int(checked_new) >= 1  # a connection new to the pool is checked
    assert int(reused) >= 1 and rechecked == "0"  # one returned a moment ago is not
