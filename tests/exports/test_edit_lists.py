"""Edit lists with sound, read back with OpenTimelineIO's adapters, checked to the frame.

Every EDL, OTIO and FCP XML (per storyline and for the whole analysis) must carry the audio
with the picture, name the media by an absolute ``file://`` URL, and start its record time at
01:00:00:00; every clip's source range must be its scene's frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import opentimelineio as otio
import pytest
from django.test import override_settings

from exports import services
from exports.models import ExportJob
from story.models import Storyline
from tests.fixtures_timeline import ASSIGNMENT, FPS, NAMES, ColourClip

pytestmark = pytest.mark.django_db
ADAPTERS = {"edl": "cmx_3600", "otio": "otio_json", "fcpxml": "fcp_xml"}
HOUR = 3600 * FPS  # 01:00:00:00 in frames


def run(analysis: Any, kind: str, storyline_id: int | None = None) -> ExportJob:
    job, _ = services.export_request(
        analysis=analysis, kind=kind, storyline_id=storyline_id, enqueue=False
    )
    services.export_execute(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "completed", job.error
    return job


def read(job: ExportJob) -> Any:
    text = Path(job.file.path).read_text(encoding="utf-8")
    extra = {"rate": FPS} if job.kind == "edl" else {}
    return otio.adapters.read_from_string(text, ADAPTERS[job.kind], **extra)


def scene_frames(clip: ColourClip, index: int) -> tuple[int, int]:
    """(first frame, frame count) of scene ``index`` in the source."""
    bounds = [0.0, *clip.cuts, sum(clip.seconds)]
    start, end = round(bounds[index] * FPS), round(bounds[index + 1] * FPS)
    return start, end - start


def members(number: int) -> list[int]:
    return [i for i, where in enumerate(ASSIGNMENT) if where == number - 1]


def check_clips(clips: list[Any], scenes: list[int], colour_clip: ColourClip) -> None:
    assert len(clips) == len(scenes)
    for clip, index in zip(clips, scenes, strict=True):
        start, count = scene_frames(colour_clip, index)
        assert clip.source_range.start_time.to_frames() == start
        assert clip.source_range.duration.to_frames() == count


def media_path(clip: Any) -> Path:
    url = clip.media_reference.target_url
    assert url.startswith("file:///"), url
    return Path(unquote(urlparse(url).path))


@pytest.mark.parametrize("kind", ["edl", "otio", "fcpxml"])
def test_a_storylines_edit_list_has_picture_and_sound_frame_for_frame(
    seeded_analysis: Any, colour_clip: ColourClip, kind: str
) -> None:
    line = Storyline.objects.get(analysis=seeded_analysis, order=0)
    timeline = read(run(seeded_analysis, kind, line.pk))
    video, audio = timeline.video_tracks(), timeline.audio_tracks()
    assert len(video) == 1 and len(audio) >= 1  # the EDL's AA/V reads back as A1 and A2
    for track in video + audio:
        clips = list(track.find_clips())
        check_clips(clips, members(1), colour_clip)
        record = 0
        for clip in clips:  # back to back from the record start
            assert clip.range_in_parent().start_time.to_frames() == record
            record += clip.source_range.duration.to_frames()
        assert media_path(clips[0]) == Path(seeded_analysis.video.file.path).resolve()
    if kind == "edl":
        text = Path(ExportJob.objects.get(kind="edl").file.path).read_text(encoding="utf-8")
        first = text.splitlines()[3].split()
        assert first[2] == "AA/V" and first[-2] == "01:00:00:00"
        assert "* SOURCE FILE: Фильм цвета.mp4" in text
        assert first[1] == "AX"  # a Cyrillic name has no letters a reel can hold
    else:
        assert timeline.global_start_time.to_frames() == HOUR


@pytest.mark.parametrize("kind", ["otio", "fcpxml"])
def test_the_whole_analysis_has_a_picture_and_a_sound_track_per_storyline(
    seeded_analysis: Any, colour_clip: ColourClip, kind: str
) -> None:
    timeline = read(run(seeded_analysis, kind))
    assert timeline.global_start_time.to_frames() == HOUR
    video, audio = timeline.video_tracks(), timeline.audio_tracks()
    assert len(video) == len(audio) == len(NAMES)
    for number in range(1, len(NAMES) + 1):
        for track in (video[number - 1], audio[number - 1]):
            clips = list(track.find_clips())
            check_clips(clips, members(number), colour_clip)
            for clip, index in zip(clips, members(number), strict=True):
                # On a storyline's tracks each scene sits where it is in the film.
                start, _ = scene_frames(colour_clip, index)
                assert clip.range_in_parent().start_time.to_frames() == start


def test_the_whole_analysis_edl_lists_every_scene_with_sound(
    seeded_analysis: Any, colour_clip: ColourClip
) -> None:
    timeline = read(run(seeded_analysis, "edl"))
    clips = list(timeline.video_tracks()[0].find_clips())
    check_clips(clips, list(range(len(ASSIGNMENT))), colour_clip)
    assert [c.name.split(" \u00b7 ")[0] for c in clips] == [NAMES[a] for a in ASSIGNMENT]
    assert len(list(timeline.audio_tracks()[0].find_clips())) == len(ASSIGNMENT)


@pytest.mark.parametrize(
    ("kind", "root"),
    [
        ("fcpxml", "/Volumes/Edit/media"),
        ("fcpxml", "file:///Volumes/Edit/media"),
        ("otio", "/Volumes/Edit/media"),
    ],
)
def test_export_media_root_maps_the_media_onto_the_editors_path(
    seeded_analysis: Any, kind: str, root: str
) -> None:
    line = Storyline.objects.get(analysis=seeded_analysis, order=0)
    with override_settings(EXPORT_MEDIA_ROOT=root, EXPORT_RECORD_START="10:00:00:00"):
        timeline = read(run(seeded_analysis, kind, line.pk))
    clip = next(iter(timeline.find_clips()))
    name = seeded_analysis.video.file.name
    assert unquote(clip.media_reference.target_url) == f"file:///Volumes/Edit/media/{name}"
    assert timeline.global_start_time.to_frames() == 10 * HOUR


def test_the_edls_record_start_is_configurable(
    seeded_analysis: Any, colour_clip: ColourClip
) -> None:
    line = Storyline.objects.get(analysis=seeded_analysis, order=0)
    with override_settings(EXPORT_RECORD_START="10:00:00:00"):
        job = run(seeded_analysis, "edl", line.pk)
    events = [row.split() for row in Path(job.file.path).read_text(encoding="utf-8").splitlines()]
    first = next(e for e in events if e and e[0] == "001")
    assert first[-2] == "10:00:00:00"  # record in
    timeline = read(job)
    clips = list(timeline.video_tracks()[0].find_clips())
    check_clips(clips, members(1), colour_clip)  # the source ranges do not move with it


def test_reel_names_fit_cmx() -> None:
    from exports.timelines import reel_name

    assert reel_name("story_dev_01.mp4") == "STORYDEV"
    assert reel_name("A.mov") == "A"
    assert reel_name("Фильм.mp4") == "AX"
