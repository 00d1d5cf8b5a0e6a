"""API tokens remembered per process (``analysis.tokens``): fewer queries, no stale access."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from analysis.models import ApiToken
from analysis.tokens import user_for_token

pytestmark = pytest.mark.django_db


@dataclass
class Issued:
    token: Issued
    key: str

    @property
    def user_id(self) -> int:
        return int(self.token.user_id)


@pytest.fixture
def token() -> Issued:
    user = get_user_model().objects.create_user("tok", password="token-password-42")
    return Issued(*ApiToken.objects.issue(user=user))


def test_a_checked_token_is_answered_without_a_query(
    token: Issued, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        first = user_for_token(token.key)
    with django_assert_num_queries(0):
        second = user_for_token(token.key)
    assert first.pk == second.pk == token.user_id and second.username == "tok"
    assert second is not first  # each request its own instance
    second.username = "changed"
    assert user_for_token(token.key).username == "tok"


def test_unknown_tokens_are_looked_up_every_time(django_assert_num_queries: Any) -> None:
    for _ in range(2):
        with django_assert_num_queries(1):
            assert user_for_token("no-such-token") is None


def test_a_deleted_token_stops_working_at_once(token: Issued) -> None:
    assert user_for_token(token.key) is not None
    token.token.delete()
    assert user_for_token(token.key) is None


def test_a_deactivated_user_stops_working_at_once(token: Issued) -> None:
    assert user_for_token(token.key) is not None
    token.token.user.is_active = False
    token.token.user.save()
    assert user_for_token(token.key) is None


def test_entries_expire_and_the_cache_can_be_off(
    token: Issued, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.TOKEN_CACHE_SECONDS = 0.05
    user_for_token(token.key)
    time.sleep(0.1)
    with django_assert_num_queries(1):
        user_for_token(token.key)
    settings.TOKEN_CACHE_SECONDS = 0
    for _ in range(2):
        with django_assert_num_queries(1):
            assert user_for_token(token.key).pk == token.user_id


def test_the_api_accepts_a_remembered_token(client: Any, token: Issued) -> None:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token.key}", "HTTP_HOST": "127.0.0.1"}
    for _ in range(2):
        assert client.get("/api/videos", **headers).status_code == 200
    ApiToken.objects.filter(pk=token.token.pk).delete()  # a queryset delete sends post_delete too
    assert client.get("/api/videos", **headers).status_code == 401


def test_only_the_keys_digest_is_stored_and_a_near_key_is_refused(token: Issued) -> None:
    row = ApiToken.objects.filter(pk=token.token.pk).values().get()
    assert token.key not in repr(row)
    assert row["key_hash"] == hashlib.sha256(token.key.encode()).hexdigest()
    assert row["prefix"] == token.key[:8] and token.key.startswith("va_")
    assert len(token.key) == 3 + 43  # 256 random bits, URL-safe
    flipped = token.key[:-1] + ("A" if token.key[-1] != "A" else "B")
    assert user_for_token(flipped) is None
    assert user_for_token(row["key_hash"]) is None  # the digest itself is no key
    assert user_for_token(token.key) is not None
