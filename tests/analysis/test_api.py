"""The REST API: the original service's shapes, our own endpoints, errors and ownership."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from analysis.models import Analysis, ApiToken, Scene, TranscriptSegment, Video
from story.models import Storyline, StorylineScene

pytestmark = pytest.mark.django_db


def upload(client: Client, path: Path, name: str | None = None) -> Any:
    with path.open("rb") as handle:
        return client.post("/api/videos", {"file": _named(handle, name or path.name)})


def _named(handle: Any, name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, handle.read(), content_type="video/mp4")


def test_health_needs_no_login() -> None:
    body = Client().get("/api/health").json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["broker"] in {"ok", "embedded"}


def test_api_requires_authentication() -> None:
    assert Client().get("/api/videos").status_code == 401


def test_upload_probes_and_stores_the_video(
    alice: Client, three_shot_clip: Path, settings: Any
) -> None:
    response = upload(alice, three_shot_clip)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["original_name"] == "three_shots.mp4"
    assert body["width"] == 320 and body["height"] == 240
    assert body["fps"] == pytest.approx(25)
    assert body["duration"] == pytest.approx(3.6, abs=0.1)
    assert body["has_audio"] is True
    video = Video.objects.get(pk=body["id"])
    assert Path(video.file.path).is_file()
    assert Path(video.file.path).is_relative_to(Path(settings.MEDIA_ROOT))


def test_same_upload_twice_returns_the_first_video(alice: Client, three_shot_clip: Path) -> None:
    first = upload(alice, three_shot_clip).json()
    second = upload(alice, three_shot_clip).json()
    assert first["id"] == second["id"]
    assert Video.objects.count() == 1


@pytest.mark.parametrize(
    ("content", "name", "status", "fragment"),
    [
        (b"", "empty.mp4", 400, "empty"),
        (b"hello, I am text" * 100, "text.mp4", 400, "not a video"),
        (b"\x00" * 100, "notes.txt", 400, "Unsupported file type"),
    ],
)
def test_bad_uploads_get_clear_errors_and_leave_nothing(
    alice: Client, settings: Any, content: bytes, name: str, status: int, fragment: str
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = alice.post("/api/videos", {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == status
    assert fragment.lower() in response.json()["detail"].lower()
    assert Video.objects.count() == 0
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_audio_only_file_is_refused(alice: Client, clip_dir: Path) -> None:
    import subprocess

    path = clip_dir / "tone.m4a.mp4"
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=1", str(path)],
        check=True,
    )
    response = upload(alice, path)
    assert response.status_code == 400
    assert "no video stream" in response.json()["detail"]


def test_upload_over_the_limit_is_refused_before_reading(alice: Client, settings: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MAX_UPLOAD_BYTES = 1000
    big = SimpleUploadedFile("big.mp4", b"\x00" * 200_000)
    response = alice.post("/api/videos", {"file": big})
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_path_traversal_name_is_reduced_to_a_plain_name(
    alice: Client, three_shot_clip: Path
) -> None:
    response = upload(alice, three_shot_clip, name="../../etc/passwd.mp4")
    assert response.status_code == 201
    video = Video.objects.get(pk=response.json()["id"])
    assert video.original_name == "passwd.mp4"
    assert "etc" not in video.file.name


def test_another_user_gets_404_everywhere(
    alice: Client, bob: Client, three_shot_clip: Path
) -> None:
    video_id = upload(alice, three_shot_clip).json()["id"]
    analysis = alice.post(f"/api/videos/{video_id}/analyses", {}, content_type="application/json")
    analysis_id = analysis.json()["id"]
    video = Video.objects.get(pk=video_id)
    for url in (
        f"/api/videos/{video_id}",
        f"/api/analyses/{analysis_id}",
        f"/api/analysis/{analysis_id}",
        f"/api/analyses/{analysis_id}/scenes",
        f"/media/{video.file.name}",
    ):
        assert bob.get(url).status_code == 404, url
        assert alice.get(url).status_code == 200, url
    assert bob.delete(f"/api/videos/{video_id}").status_code == 404
    assert bob.get("/api/videos").json() == []


def test_media_supports_byte_ranges_for_seeking(alice: Client, three_shot_clip: Path) -> None:
    video = Video.objects.get(pk=upload(alice, three_shot_clip).json()["id"])
    response = alice.get(f"/media/{video.file.name}", HTTP_RANGE="bytes=10-19")
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == three_shot_clip.read_bytes()[10:20]
    assert response["Content-Range"] == f"bytes 10-19/{three_shot_clip.stat().st_size}"


@pytest.mark.parametrize(
    ("value", "status"), [(0, 422), (-1, 422), (10_000, 422), ("many", 422), (None, 201), (3, 201)]
)
def test_num_storylines_is_validated(
    alice: Client, three_shot_clip: Path, value: Any, status: int
) -> None:
    video_id = upload(alice, three_shot_clip).json()["id"]
    response = alice.post(
        f"/api/videos/{video_id}/analyses",
        {"num_storylines": value},
        content_type="application/json",
    )
    assert response.status_code == status, response.content
    if status == 422:
        assert Analysis.objects.count() == 0


def test_unknown_ids_and_malformed_json(alice: Client) -> None:
    assert alice.get("/api/analyses/00000000-0000-0000-0000-000000000000").status_code == 404
    assert alice.get("/api/analyses/not-a-uuid").status_code == 422
    response = alice.post("/api/analyze", "{not json", content_type="application/json")
    assert 400 <= response.status_code < 500


def test_token_auth(user: Any, three_shot_clip: Path) -> None:
    _token, key = ApiToken.objects.issue(user=user)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/videos").status_code == 200
    assert Client(HTTP_AUTHORIZATION="Bearer wrong").get("/api/videos").status_code == 401


def test_original_sample_videos_and_analyze(
    alice: Client, three_shot_clip: Path, settings: Any
) -> None:
    shutil.copy(three_shot_clip, Path(settings.SAMPLES_DIR) / "clip.mp4")
    assert alice.get("/api/sample-videos").json() == {"videos": ["clip.mp4"]}
    response = alice.post(
        "/api/analyze", {"filename": "clip.mp4", "num_storylines": 2}, "application/json"
    )
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "processing" and body["message"]
    status = alice.get(f"/api/analysis/{body['task_id']}").json()
    assert set(status) == {"status", "message", "progress", "last_updated"}
    assert status["status"] == "processing"
    bad = alice.post(
        "/api/analyze", {"filename": "../clip.mp4", "num_storylines": 2}, "application/json"
    )
    assert bad.status_code == 404


def _completed_analysis(video: Video) -> Analysis:
    analysis = Analysis.objects.create(video=video, status="completed", progress=1.0, parameters={})
    scenes = [
        Scene.objects.create(
            analysis=analysis,
            index=i,
            start_time=i * 1.2,
            end_time=(i + 1) * 1.2,
            start_frame=i * 30,
            end_frame=(i + 1) * 30,
        )
        for i in range(3)
    ]
    story = Storyline.objects.create(analysis=analysis, name="Storyline 1", order=0)
    for scene in scenes:
        StorylineScene.objects.create(storyline=story, scene=scene)
    TranscriptSegment.objects.create(
        analysis=analysis,
        scene=scenes[1],
        start_time=1.5,
        end_time=2.0,
        text=" Hello there",
        language="en",
    )
    return analysis


def test_original_result_shape(alice: Client, three_shot_clip: Path) -> None:
    video = Video.objects.get(pk=upload(alice, three_shot_clip).json()["id"])
    analysis = _completed_analysis(video)
    body = alice.get(f"/api/analysis/{analysis.id}").json()
    assert body["status"] == "completed" and body["task_id"] == str(analysis.id)
    result = body["result"]
    assert result["video_filename"] == "three_shots.mp4"
    assert result["total_scenes"] == 3
    storyline = result["storylines"][0]
    assert storyline["id"] == "storyline_1"
    assert [s["id"] for s in storyline["scenes"]] == ["scene_1", "scene_2", "scene_3"]
    scene = storyline["scenes"][1]
    assert set(scene) >= {  # other apps add their keys beside these
        "id",
        "start_time",
        "end_time",
        "duration",
        "start_frame",
        "end_frame",
        "audio_analysis",
    }
    assert scene["audio_analysis"]["transcript"] == "Hello there"
    assert set(scene["audio_analysis"]) == {
        "transcript",
        "language",
        "languages",  # ours (issue 17): every language spoken in the scene, the most first
        "audio_features",
        "speakers",
        "emotions",
    }
    assert scene["audio_analysis"]["languages"] == ["en"]
    assert result["segments"] == [
        {
            "scene_id": "scene_2",
            "start_time": 1.5,
            "end_time": 2.0,
            "text": "Hello there",
            "start_in_scene": 0.3,
            "end_in_scene": 0.8,
        }
    ]
    assert result["metadata"]["size"] == [320, 240]
    json.dumps(body)


def test_delete_video_removes_rows_and_files(
    alice: Client, three_shot_clip: Path, django_capture_on_commit_callbacks: Any
) -> None:
    video_id = upload(alice, three_shot_clip).json()["id"]
    path = Path(Video.objects.get(pk=video_id).file.path)
    with django_capture_on_commit_callbacks(execute=True):
        assert alice.delete(f"/api/videos/{video_id}").status_code == 204
    assert not Video.objects.filter(pk=video_id).exists()
    assert not path.exists()


def test_openapi_docs_are_served(alice: Client) -> None:
    schema = Client().get("/api/openapi.json").json()
    assert "/api/videos" in schema["paths"]
    assert Client().get("/api/docs").status_code == 200


def test_site_root_gives_health_to_api_clients_and_the_library_to_browsers(alice: Client) -> None:
    body = Client().get("/", HTTP_ACCEPT="*/*").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert Client().get("/", HTTP_ACCEPT="text/html").status_code == 302  # to the login page
    page = alice.get("/", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert page.status_code == 200 and b"<html" in page.content.lower()


def test_parameters_of_other_apps_pass_through_and_are_validated(
    alice: Client, three_shot_clip: Path
) -> None:
    video_id = upload(alice, three_shot_clip).json()["id"]
    url = f"/api/videos/{video_id}/analyses"
    good = {"num_storylines": 2, "caption_language": "ru", "vision_stages": ["ocr"], "faces": False}
    response = alice.post(url, good, content_type="application/json")
    assert response.status_code == 201, response.content
    params = response.json()["parameters"]
    assert params["caption_language"] == "ru" and params["vision_stages"] == ["ocr"]
    assert params["faces"] is False
    for bad in ({"caption_language": "fr"}, {"vision_stages": ["teleport"]}, {"faces": "maybe"}):
        response = alice.post(url, bad, content_type="application/json")
        assert response.status_code == 422, bad
        assert response.json()["detail"]
