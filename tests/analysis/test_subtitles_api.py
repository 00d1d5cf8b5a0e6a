"""The user's own subtitles: attached through the API, used by the transcript stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from analysis.models import Analysis, TranscriptSegment, Video
from analysis.pipeline.runner import analysis_execute

pytestmark = pytest.mark.django_db

SRT = """1
00:00:00,200 --> 00:00:01,000
Hello from the subtitles

2
00:00:01,500 --> 00:00:02,600
Вторая реплика здесь
"""
BROKEN = """1
00:00:02,000 --> 00:00:01,000
Backwards
"""


def _video(alice: Client, clip: Path) -> str:
    with clip.open("rb") as handle:
        response = alice.post("/api/videos", {"file": SimpleUploadedFile("c.mp4", handle.read())})
    return str(response.json()["id"])


def _attach(client: Client, video_id: str, name: str, text: str) -> Any:
    upload = SimpleUploadedFile(name, text.encode("utf-8"))
    return client.post(f"/api/videos/{video_id}/subtitles", {"file": upload})


def test_attached_subtitles_replace_recognition(
    alice: Client, three_shot_clip: Path, django_capture_on_commit_callbacks: Any
) -> None:
    video_id = _video(alice, three_shot_clip)
    response = _attach(alice, video_id, "film.srt", SRT)
    assert response.status_code == 200 and response.json()["has_subtitles"] is True
    created = alice.post(
        f"/api/videos/{video_id}/analyses", {"num_storylines": 1}, "application/json"
    )
    analysis = Analysis.objects.get(pk=created.json()["id"])
    assert analysis.parameters["subtitles_mode"] == "replace"
    done = analysis_execute(analysis_id=analysis.pk)
    assert done is not None and done.status == "completed", done and done.error
    texts = list(
        TranscriptSegment.objects.filter(analysis=done)
        .order_by("start_time")
        .values_list("text", flat=True)
    )
    expected = "Hello from the subtitles Вторая реплика здесь"
    assert " ".join(texts).split() == expected.split()
    segment = TranscriptSegment.objects.filter(analysis=done).order_by("start_time").first()
    assert segment is not None and segment.start_time == pytest.approx(0.2, abs=0.01)
    srt = alice.get(f"/api/analyses/{done.pk}/transcript.srt")
    assert srt.status_code == 200 and "Вторая реплика" in srt.content.decode()


def test_use_subtitles_false_keeps_recognition(alice: Client, three_shot_clip: Path) -> None:
    video_id = _video(alice, three_shot_clip)
    _attach(alice, video_id, "film.vtt", "WEBVTT\n\n00:00.200 --> 00:01.000\nHi\n")
    body = {"num_storylines": 1, "use_subtitles": False}
    created = alice.post(f"/api/videos/{video_id}/analyses", body, "application/json").json()
    assert "subtitles_path" not in created["parameters"]
    assert created["parameters"]["use_subtitles"] is False


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("film.srt", BROKEN, "ends before it starts"),
        ("film.txt", SRT, ".srt or .vtt"),
        ("film.srt", "just some words", "subtitles"),
    ],
)
def test_bad_subtitles_are_refused_clearly(
    alice: Client, three_shot_clip: Path, name: str, text: str, fragment: str
) -> None:
    video_id = _video(alice, three_shot_clip)
    response = _attach(alice, video_id, name, text)
    assert response.status_code == 400
    assert fragment in response.json()["detail"]
    assert not Video.objects.get(pk=video_id).subtitles


def test_subtitles_belong_to_the_owner(
    alice: Client, bob: Client, three_shot_clip: Path, django_capture_on_commit_callbacks: Any
) -> None:
    video_id = _video(alice, three_shot_clip)
    assert _attach(bob, video_id, "film.srt", SRT).status_code == 404
    assert _attach(alice, video_id, "film.srt", SRT).status_code == 200
    path = Path(Video.objects.get(pk=video_id).subtitles.path)
    assert path.is_file()
    assert bob.delete(f"/api/videos/{video_id}/subtitles").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert alice.delete(f"/api/videos/{video_id}").status_code == 204
    assert not path.exists()
