"""The API tokens page (every user) and the description clients page (staff only)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from django.test import Client

from analysis.models import ApiToken
from describe.models import DescribeClient
from describe.selectors import client_for_token

pytestmark = pytest.mark.django_db


def bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def shown_key(html: str, testid: str) -> str:
    found = re.search(rf'value="([^"]+)" data-testid="{testid}"', html)
    assert found, f"no {testid} on the page"
    return found.group(1)


def test_a_token_is_shown_once_listed_by_name_and_works(alice: Client, user: Any) -> None:
    response = alice.post("/settings/tokens/", {"name": "nightly export"})
    assert response.status_code == 302 and response["Location"] == "/settings/tokens/"
    page = alice.get("/settings/tokens/").content.decode()
    key = shown_key(page, "new-token-key")
    # Stored: the key's SHA-256 and its first characters, never the key itself.
    stored = ApiToken.objects.get(user=user, name="nightly export")
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith("va_") and stored.prefix == key[:8]
    assert key not in str(ApiToken.objects.filter(pk=stored.pk).values().get())
    assert Client().get("/api/videos", **bearer(key)).status_code == 200
    # Shown once: the next load lists it by name and the key's first characters only.
    again = alice.get("/settings/tokens/").content.decode()
    assert key not in again and 'data-testid="new-token-key"' not in again
    assert "nightly export" in again and f"{key[:8]}…" in again


def test_bad_names_are_refused_with_a_message(alice: Client, user: Any) -> None:
    empty = alice.post("/settings/tokens/", {"name": "   "})
    assert empty.status_code == 422 and "Give the token a name" in empty.content.decode()
    alice.post("/settings/tokens/", {"name": "ci"})
    twice = alice.post("/settings/tokens/", {"name": "ci"})
    assert twice.status_code == 422 and "already have a token named" in twice.content.decode()
    long = alice.post("/settings/tokens/", {"name": "x" * 101})
    assert long.status_code == 422
    assert list(ApiToken.objects.filter(user=user).values_list("name", flat=True)) == ["ci"]


def test_revoke_your_own_token_but_not_someone_elses(
    alice: Client, bob: Client, user: Any, other_user: Any
) -> None:
    mine, key = ApiToken.objects.issue(user=user, name="old script")
    theirs, _ = ApiToken.objects.issue(user=other_user, name="bob's")
    assert Client().get("/api/videos", **bearer(key)).status_code == 200
    refused = alice.post(f"/settings/tokens/{theirs.pk}/revoke/")
    assert refused.status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()
    done = alice.post(f"/settings/tokens/{mine.pk}/revoke/", follow=True)
    assert "Token “old script” revoked" in done.content.decode()
    assert not ApiToken.objects.filter(pk=mine.pk).exists()
    assert Client().get("/api/videos", **bearer(key)).status_code == 401
    assert alice.get(f"/settings/tokens/{mine.pk}/revoke/").status_code == 405
    # Bob's page lists only Bob's token.
    page = bob.get("/settings/tokens/").content.decode()
    assert "bob&#x27;s" in page and "old script" not in page


def test_the_tokens_page_needs_a_login() -> None:
    response = Client().get("/settings/tokens/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


# --- Description clients ------------------------------------------------------------------------


@pytest.fixture
def staff(django_user_model: Any) -> Client:
    admin = django_user_model.objects.create_user(username="ops", password="x", is_staff=True)
    client = Client()
    client.force_login(admin)
    return client


def test_only_staff_see_the_clients_page(alice: Client, staff: Client) -> None:
    assert alice.get("/staff/describe-clients/").status_code == 403
    assert 'data-testid="nav-clients"' not in alice.get("/settings/tokens/").content.decode()
    page = staff.get("/staff/describe-clients/")
    assert page.status_code == 200 and 'data-testid="nav-clients"' in page.content.decode()


def test_staff_create_rotate_and_turn_off_a_client(staff: Client, alice: Client) -> None:
    staff.post(
        "/staff/describe-clients/",
        {"name": "broadcaster", "callback_url": "https://hooks.example.org/ad"},
    )
    page = staff.get("/staff/describe-clients/").content.decode()
    token, secret = shown_key(page, "client-token"), shown_key(page, "client-secret")
    client = DescribeClient.objects.get(name="broadcaster")
    assert client_for_token(token) == client and client.secret == secret
    assert client.callback_url == "https://hooks.example.org/ad"
    assert token not in staff.get("/staff/describe-clients/").content.decode()

    staff.post(f"/staff/describe-clients/{client.pk}/rotate-token/")
    new_token = shown_key(staff.get("/staff/describe-clients/").content.decode(), "client-token")
    assert client_for_token(token) is None and client_for_token(new_token) == client
    staff.post(f"/staff/describe-clients/{client.pk}/rotate-secret/")
    new_secret = shown_key(staff.get("/staff/describe-clients/").content.decode(), "client-secret")
    client.refresh_from_db()
    assert new_secret != secret and client.secret == new_secret

    staff.post(f"/staff/describe-clients/{client.pk}/deactivate/")
    assert client_for_token(new_token) is None
    staff.post(f"/staff/describe-clients/{client.pk}/activate/")
    assert client_for_token(new_token) == client
    assert alice.post(f"/staff/describe-clients/{client.pk}/deactivate/").status_code == 403
    assert staff.post(f"/staff/describe-clients/{client.pk}/explode/").status_code == 404


def test_a_client_with_a_bad_callback_is_refused(staff: Client) -> None:
    response = staff.post(
        "/staff/describe-clients/", {"name": "broken", "callback_url": "ftp://example.org/"}
    )
    assert response.status_code == 422
    assert "callback_url" in response.content.decode()
    assert not DescribeClient.objects.exists()
