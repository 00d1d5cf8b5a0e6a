"""The default storyline cut holds the storyline's frames and nothing else (issue 16).

The source is a long-GOP clip (a keyframe every 10 s, B-frames) with each frame's number burnt
in, so the cut is checked frame by frame against the source frames of the storyline's scenes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from exports import services
from mediakit import cutting
from story.models import Storyline
from tests.fixtures_exports import ASSIGNMENT, FPS, NAMES, LongGopClip, frame_numbers

pytestmark = pytest.mark.django_db
MPEG4 = ["-c:v", "mpeg4", "-q:v", "2", "-c:a", "copy"]


def storyline(analysis: Any, number: int) -> Storyline:
    return Storyline.objects.get(analysis=analysis, order=number - 1)


def export(analysis: Any, number: int, mode: str | None = None) -> Any:
    job, _ = services.export_request(
        analysis=analysis,
        kind="mp4",
        storyline_id=storyline(analysis, number).pk,
        mode=mode,
        enqueue=False,
    )
    services.export_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "completed", job.error
    return job


@pytest.mark.parametrize("number", [1, 2])
def test_the_default_cut_is_exactly_the_storylines_frames(
    long_gop_analysis: Any, long_gop_clip: LongGopClip, number: int
) -> None:
    job = export(long_gop_analysis, number)
    assert job.mode == "smart" and job.metadata["encoder"] == "libx264 (smart)"
    assert frame_numbers(Path(job.file.path)) == long_gop_clip.storyline_frames(number)


def test_with_a_gpu_the_job_says_why_its_pieces_are_not_nvencs(
    long_gop_analysis: Any, long_gop_clip: LongGopClip, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ffmpeg with NVENC and a visible GPU (the edge, faked): the clip's B-frame pyramid (a
    # reorder delay of 2 frames) is one NVENC cannot be trusted to match, so libx264 cuts it.
    monkeypatch.setattr(cutting, "available_encoders", lambda: frozenset({"h264_nvenc", "libx264"}))
    monkeypatch.setattr(cutting, "cuda_device_present", lambda: True)
    job = export(long_gop_analysis, 1)
    assert job.metadata["encoder"] == "libx264 (smart)"
    assert job.metadata["encoder_note"] == (
        "h264_nvenc cannot match the source's B-frame delay (2 frames)"
    )
    assert frame_numbers(Path(job.file.path)) == long_gop_clip.storyline_frames(1)


def test_a_source_smart_cut_cannot_match_is_re_encoded_and_the_job_says_so(
    user: Any, long_gop_clip: LongGopClip, tmp_path: Path
) -> None:
    from frontend.seeding import seed_analysis

    source = tmp_path / "Numbered film mpeg4.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(long_gop_clip.path), *MPEG4, str(source)],
        check=True,
    )
    analysis = seed_analysis(
        owner=user,
        video_path=source,
        cuts=long_gop_clip.cuts,
        storylines=2,
        assignment=ASSIGNMENT,
        names=NAMES,
    )
    job = export(analysis, 2)
    assert job.mode == "smart" and job.metadata["encoder"] == "libx264"
    assert "Re-encoded in full" in job.metadata["fallback"] and "mpeg4" in job.message
    assert frame_numbers(Path(job.file.path)) == long_gop_clip.storyline_frames(2)


def test_keyframes_only_says_how_much_other_footage_it_includes(
    alice: Client, long_gop_analysis: Any, long_gop_clip: LongGopClip
) -> None:
    url = f"/api/analyses/{long_gop_analysis.pk}/exports/keyframe-cut"
    previews = {p["storyline_id"]: p for p in alice.get(url).json()}
    line = storyline(long_gop_analysis, 1)
    preview = previews[line.pk]
    own = len(long_gop_clip.storyline_frames(1)) / FPS
    assert preview["seconds"] == pytest.approx(own, abs=0.01)
    # Keyframes at 0 and 10 s only: storyline 1's scenes widen to the whole film.
    total = long_gop_clip.frames / FPS
    assert preview["extra_seconds"] == pytest.approx(total - own, abs=0.05)
    assert f"{preview['extra_seconds']:.1f} s" in preview["summary"]
    job = export(long_gop_analysis, 1, "copy")
    assert job.metadata["extra_seconds"] == pytest.approx(preview["extra_seconds"], abs=0.01)
    shown = set(frame_numbers(Path(job.file.path)))
    assert shown - set(long_gop_clip.storyline_frames(1))  # it does show other footage
    assert "(keyframes)" in job.filename


def test_keyframe_preview_of_an_unfinished_analysis_is_409(
    alice: Client, long_gop_analysis: Any
) -> None:
    long_gop_analysis.status = "running"
    long_gop_analysis.save()
    url = f"/api/analyses/{long_gop_analysis.pk}/exports/keyframe-cut"
    response = alice.get(url)
    assert response.status_code == 409
    assert "not complete" in response.json()["detail"]
