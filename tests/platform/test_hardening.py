"""Clear answers and no leftovers: JSON errors on the whole API, the policy header on pages,
the development key refused by the embedded mode too, and no empty folders after deletion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from analysis import services
from analysis.models import ApiToken, Video
from tests.fixtures_processes import ROOT
from tests.fixtures_robustness import make_owned

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_client(user: Any) -> Client:
    token = ApiToken.objects.issue(user=user)[1]
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_json_detail(response: Any, status: int, fragment: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    assert fragment in response.json()["detail"], response.json()


def test_api_errors_django_answers_itself_are_json(token_client: Client) -> None:
    assert_json_detail(token_client.get("/api/analyze"), 405, "use POST")
    no_boundary = token_client.generic(
        "POST", "/api/videos", b"--x\r\n\r\nabc", content_type="multipart/form-data"
    )
    assert_json_detail(no_boundary, 400, "multipart")
    assert_json_detail(token_client.get("/api/no-such-endpoint"), 404, "Not found")
    missing = token_client.post("/api/videos", {"other": "field"})
    assert_json_detail(missing, 422, "no video file")


def test_pages_carry_a_strict_content_security_policy(alice: Client) -> None:
    policy = alice.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "ws://testserver" in policy  # the progress socket of the page's own host
    assert "Content-Security-Policy" not in Client().get("/api/health").headers


def test_the_embedded_mode_refuses_the_development_key_for_public_names(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(ALLOWED_HOSTS="videos.example.com", VAR_DIR=str(tmp_path / "var"))
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert not (tmp_path / "var" / "pgdata").exists()  # refused before the database started


def test_deleting_a_video_leaves_no_empty_folder(
    user: Any, three_shot_clip: Path, django_capture_on_commit_callbacks: Any
) -> None:
    owned = make_owned(user)  # a video with an analysis, a keyframe and an export file
    uploaded = services.video_create_from_path(owner=user, path=three_shot_clip)
    media = Path(settings.MEDIA_ROOT)
    assert any(p.is_file() for p in media.rglob("*"))
    with django_capture_on_commit_callbacks(execute=True):
        services.video_delete(video=Video.objects.get(pk=owned.ids["video_id"]))
        services.video_delete(video=uploaded)
    assert [p for p in media.rglob("*")] == []
