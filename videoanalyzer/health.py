"""Health of the parts the app needs: the database and the job broker."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _broker_ok() -> bool:
    if not settings.REDIS_URL:
        return True  # the embedded stub broker lives in this process
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1
        )
        return bool(client.ping())
    except redis.RedisError:
        return False


def health_report() -> dict[str, Any]:
    database, broker = _database_ok(), _broker_ok()
    return {
        "status": "ok" if database and broker else "degraded",
        "database": "ok" if database else "unavailable",
        "broker": ("ok" if broker else "unavailable") if settings.REDIS_URL else "embedded",
        "worker": "embedded" if settings.EMBEDDED_WORKER else "external",
    }
