"""Migration 0007 hashes the API tokens already issued: their holders keep access, nothing
readable is left, and going back deletes them (a digest cannot give the key back)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from analysis.tokens import forget_all

BEFORE = [("analysis", "0006_storylines_moved_to_story")]
AFTER = [("analysis", "0007_api_token_hashed")]


def migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate to ``targets``; the historical apps of that state."""
    MigrationExecutor(connection).migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def back_to_latest(transactional_db: None) -> Iterator[None]:
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_existing_tokens_are_hashed_and_keep_working(back_to_latest: None) -> None:
    old = migrate(BEFORE)
    users = old.get_model("auth", "User").objects
    alice = users.create(username="alice-m", is_active=True)
    bob = users.create(username="bob-m", is_active=True)
    tokens = old.get_model("analysis", "ApiToken").objects
    keys = {
        "alice": tokens.create(user=alice, name="nightly").key,
        "bob": tokens.create(user=bob, name="").key,
    }
    assert keys["alice"] != keys["bob"]

    new = migrate(AFTER)
    rows = list(new.get_model("analysis", "ApiToken").objects.values().order_by("user_id"))
    assert [r["name"] for r in rows] == ["nightly", ""]
    for row, key in zip(rows, keys.values(), strict=True):
        assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
        assert row["prefix"] == key[:6]
        assert "key" not in row and key not in repr(row)

    # Back on the latest schema, the old keys still open the API, as their owners.
    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    forget_all()
    for name, key in keys.items():
        response = Client().get("/api/videos", HTTP_AUTHORIZATION=f"Bearer {key}")
        assert response.status_code == 200, name
    wrong = Client().get("/api/videos", HTTP_AUTHORIZATION=f"Bearer x{keys['bob']}")
    assert wrong.status_code == 401


def test_going_back_deletes_the_tokens(back_to_latest: None) -> None:
    old = migrate(BEFORE)
    user = old.get_model("auth", "User").objects.create(username="carol-m")
    old.get_model("analysis", "ApiToken").objects.create(user=user, name="a")
    old.get_model("analysis", "ApiToken").objects.create(user=user, name="b")
    migrate(AFTER)
    again = migrate(BEFORE)
    assert again.get_model("analysis", "ApiToken").objects.count() == 0
