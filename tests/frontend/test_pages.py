"""The server-rendered pages: login, the library, the analysis page and the video redirect."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client

from analysis.models import Analysis, AnalysisStatus, Video

pytestmark = pytest.mark.django_db


def make_video(owner: Any, name: str = "interview.mp4") -> Video:
    video_id = uuid.uuid4()
    return Video.objects.create(
        id=video_id,
        owner=owner,
        file=f"videos/{owner.pk}/{video_id}/source.mp4",
        original_name=name,
        sha256=uuid.uuid4().hex * 2,
        size_bytes=3 * 1024 * 1024,
        duration=125.4,
        fps=25.0,
        frame_count=3135,
        width=1920,
        height=1080,
        has_audio=True,
    )


def make_analysis(video: Video, **fields: Any) -> Analysis:
    return Analysis.objects.create(video=video, parameters={"num_storylines": None}, **fields)


# --- Login ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", f"/analyses/{uuid.uuid4()}/", f"/videos/{uuid.uuid4()}/"])
def test_pages_redirect_anonymous_users_to_login(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_login_page_renders_the_form(client: Client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="login-username"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_login_with_a_wrong_password_shows_an_error(client: Client, user: Any) -> None:
    response = client.post("/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert 'data-testid="login-error"' in response.content.decode()


def test_login_then_logout(client: Client, user: Any) -> None:
    response = client.post("/login/", {"username": "alice", "password": "alice-password"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/logout/").status_code == 405  # a link cannot log anyone out
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_logged_in_user_skips_the_login_page(alice: Client) -> None:
    response = alice.get("/login/")
    assert response.status_code == 302
    assert response["Location"] == "/"


# --- Library -------------------------------------------------------------------------------------


def test_library_lists_only_the_users_videos(alice: Client, user: Any, other_user: Any) -> None:
    mine = make_video(user, "my-interview.mp4")
    make_analysis(mine, status=AnalysisStatus.RUNNING, progress=0.42)
    theirs = make_video(other_user, "their-secret.mp4")
    response = alice.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "my-interview.mp4" in html
    assert str(mine.pk) in html
    assert "their-secret.mp4" not in html
    assert str(theirs.pk) not in html
    assert "Running · 42 %" in html
    assert "2:05" in html  # duration 125.4 s
    assert "3.0\xa0MB" in html
    assert [row.video for row in response.context["rows"]] == [mine]


def test_library_shows_the_empty_state_and_the_upload_controls(alice: Client) -> None:
    html = alice.get("/").content.decode()
    assert 'data-testid="upload-input"' in html
    assert 'data-testid="library-empty"' in html
    assert 'id="library-data"' in html
    data = _json_script(html, "library-data")
    assert data["urls"]["analysis_page"] == "/analyses/{id}/"
    assert data["max_upload_bytes"] > 0


# --- Analysis page ------------------------------------------------------------------------------


def test_analysis_page_renders_player_progress_and_page_data(alice: Client, user: Any) -> None:
    video = make_video(user)
    analysis = make_analysis(
        video, status=AnalysisStatus.RUNNING, progress=0.5, current_stage="shots"
    )
    response = alice.get(f"/analyses/{analysis.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="progress-bar"' in html
    assert f'src="/media/videos/{user.pk}/{video.pk}/source.mp4"' in html
    data = _json_script(html, "analysis-data")
    assert data["analysis_id"] == str(analysis.pk)
    assert data["state"]["status"] == "running"
    assert data["state"]["progress"] == 0.5
    assert data["urls"]["socket"] == f"/ws/analyses/{analysis.pk}/"
    assert data["stage_labels"]  # the polling fallback names stages with these


def test_analysis_page_is_404_for_another_users_analysis(bob: Client, user: Any) -> None:
    analysis = make_analysis(make_video(user))
    assert bob.get(f"/analyses/{analysis.pk}/").status_code == 404


def test_analysis_page_is_404_for_an_unknown_id(alice: Client) -> None:
    assert alice.get(f"/analyses/{uuid.uuid4()}/").status_code == 404


# --- Video redirect -----------------------------------------------------------------------------


def test_video_page_redirects_to_the_latest_analysis(alice: Client, user: Any) -> None:
    video = make_video(user)
    make_analysis(video, status=AnalysisStatus.FAILED)
    latest = make_analysis(video)
    response = alice.get(f"/videos/{video.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/analyses/{latest.pk}/"


def test_video_page_without_analysis_redirects_to_the_library(alice: Client, user: Any) -> None:
    response = alice.get(f"/videos/{make_video(user).pk}/")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_video_page_is_404_for_another_users_video(bob: Client, user: Any) -> None:
    assert bob.get(f"/videos/{make_video(user).pk}/").status_code == 404


def _json_script(html: str, element_id: str) -> Any:
    start = html.index(f'<script id="{element_id}" type="application/json">')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


def test_the_favicon_is_linked_and_answers_at_the_usual_address(client: Client) -> None:
    page = client.get("/login/").content.decode()
    assert 'rel="icon" href="/static/img/favicon.svg" type="image/svg+xml"' in page
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/img/favicon.svg"
