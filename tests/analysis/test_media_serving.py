"""Media files: streamed, every byte-range form capped, private, reachable with an API token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from analysis.models import ApiToken, Video
from tests.analysis.test_api import upload

pytestmark = pytest.mark.django_db
CAP = 1000


@pytest.fixture
def stored(alice: Client, three_shot_clip: Path, monkeypatch: Any) -> tuple[str, bytes]:
    monkeypatch.setattr("analysis.views.MAX_CHUNK", CAP)
    video = Video.objects.get(pk=upload(alice, three_shot_clip).json()["id"])
    return f"/media/{video.file.name}", three_shot_clip.read_bytes()


@pytest.mark.parametrize(
    ("header", "first"),
    [
        ("bytes=0-", 0),
        ("bytes=10-", 10),
        ("bytes=10-999999999999", 10),
        ("bytes=-999999999999", 0),  # a suffix larger than the file: was the whole file
        ("bytes=-5000", None),  # the last 5000 bytes: the first CAP of them
    ],
)
def test_every_range_form_is_capped(
    alice: Client, stored: tuple[str, bytes], header: str, first: int | None
) -> None:
    url, data = stored
    start = len(data) - 5000 if first is None else first
    response = alice.get(url, HTTP_RANGE=header)
    assert response.status_code == 206
    body = b"".join(response.streaming_content)
    assert body == data[start : start + CAP]
    assert response["Content-Range"] == f"bytes {start}-{start + CAP - 1}/{len(data)}"
    assert response["Content-Length"] == str(CAP)


def test_a_range_past_the_end_is_416(alice: Client, stored: tuple[str, bytes]) -> None:
    url, data = stored
    for header in (f"bytes={len(data)}-", "bytes=-0", "bytes=20-10"):
        response = alice.get(url, HTTP_RANGE=header)
        assert response.status_code == 416, header
        assert response["Content-Range"] == f"bytes */{len(data)}"


def test_the_whole_file_is_streamed_and_private(alice: Client, stored: tuple[str, bytes]) -> None:
    url, data = stored
    for header in ("", "bytes=1-2,5-6", "bytes=" + "9" * 40 + "-"):  # none, several, absurd
        response = alice.get(url, HTTP_RANGE=header) if header else alice.get(url)
        assert response.status_code == 200 and response.streaming
        assert b"".join(response.streaming_content) == data
        assert response["Content-Length"] == str(len(data))
        assert response["Cache-Control"].startswith("private")


def test_api_clients_reach_media_with_their_token(
    alice: Client, stored: tuple[str, bytes], user: Any, other_user: Any
) -> None:
    url, data = stored
    mine = ApiToken.objects.issue(user=user)[1]
    theirs = ApiToken.objects.issue(user=other_user)[1]
    response = Client().get(url, HTTP_AUTHORIZATION=f"Bearer {mine}")
    assert response.status_code == 200 and b"".join(response.streaming_content) == data
    assert Client().get(url, HTTP_AUTHORIZATION=f"Bearer {theirs}").status_code == 404
    assert Client().get(url, HTTP_AUTHORIZATION="Bearer forged").status_code == 404
    assert Client().get(url).status_code == 404
