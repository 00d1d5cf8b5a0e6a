"""Health checks of pooled database connections, skipped for connections just returned.

psycopg's pool checks a connection with a round trip to Postgres every time it lends one
(Django's ``CONN_HEALTH_CHECKS``): 12% of a web process's time while pages and status polls
ran (py-spy). A connection that came back from a request a moment ago has just worked; only
connections idle for longer than ``DB_POOL_CHECK_AFTER`` seconds are checked before they are
lent, which still catches those a Postgres restart or an idle timeout broke. A connection
broken in between fails its one request and is then discarded by the pool.

Django passes the pool's ``check`` itself (on or off), so the check is installed on the pool
when its first connection is made (``connection_created``); ``reset`` is a pool option.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from django.conf import settings

_returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


def pool_options(max_size: int) -> dict[str, Any]:
    """Options for Django's ``OPTIONS["pool"]`` (psycopg_pool.ConnectionPool)."""
    return {"min_size": 2, "max_size": max_size, "timeout": 10, "reset": connection_returned}


def connection_returned(connection: Any) -> None:
    _returned[connection] = time.monotonic()


def check_unless_fresh(connection: Any) -> None:
    """psycopg_pool's check, for connections idle longer than ``DB_POOL_CHECK_AFTER``."""
    fresh_for = float(getattr(settings, "DB_POOL_CHECK_AFTER", 1.0))
    if time.monotonic() - _returned.get(connection, float("-inf")) < fresh_for:
        return
    from psycopg_pool import ConnectionPool

    ConnectionPool.check_connection(connection)


def install_check(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: give the alias's pool ``check_unless_fresh``."""
    pool = getattr(connection, "_connection_pools", {}).get(connection.alias)
    if pool is not None and getattr(pool, "_check", None) is not check_unless_fresh:
        pool._check = check_unless_fresh  # psycopg_pool reads it on every lend
