"""Each pipeline stage on real generated media, through the real code and a real database."""

from __future__ import annotations

import itertools
import re
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.db import transaction

from analysis.media import probe
from analysis.models import (
    Analysis,
    Scene,
    SceneAudioFeatures,
    Storyline,
    StorylineScene,
    TranscriptSegment,
    Video,
)
from analysis.pipeline import build_pipeline, load_stages
from analysis.pipeline.base import STAGES, Cancelled, StageContext, StageError
from analysis.pipeline.stages.common import SceneSpan
from analysis.pipeline.stages.shots import shots_from_cuts
from analysis.pipeline.stages.transcript import Word, split_at_scenes
from tests.fixtures_media import FPS, Clip

pytestmark = pytest.mark.django_db


def make_analysis(owner: Any, path: Path, **parameters: Any) -> Analysis:
    info = probe(path)
    video = Video.objects.create(
        owner=owner,
        file=f"videos/{owner.pk}/{uuid.uuid4()}/source.mp4",
        original_name=path.name,
        sha256=uuid.uuid4().hex * 2,
        duration=info.duration,
        fps=info.fps,
        frame_count=info.frame_count,
        width=info.width,
        height=info.height,
        has_audio=info.has_audio,
    )
    return Analysis.objects.create(video=video, parameters=parameters)


class Runner:
    """Runs stages like the real runner: compute, then persist inside a transaction."""

    def __init__(self, analysis: Analysis, path: Path, workdir: Path) -> None:
        self.reports: list[tuple[float, str]] = []
        load_stages()
        self.ctx = StageContext(
            analysis=analysis,
            video_path=path,
            workdir=workdir,
            report=lambda fraction, message: self.reports.append((fraction, message)),
            parameters=analysis.parameters,
        )

    def run(self, *names: str) -> Any:
        result = None
        for name in names:
            stage = STAGES[name]()
            result = stage.compute(self.ctx)
            with transaction.atomic():
                stage.persist(self.ctx, result)
        return result


@pytest.fixture
def run(user: Any, tmp_path: Path) -> Any:
    def start(clip: Clip | Path, **parameters: Any) -> Runner:
        path = clip.path if isinstance(clip, Clip) else clip
        analysis = make_analysis(user, path, **parameters)
        return Runner(analysis, path, tmp_path / f"work-{analysis.pk}")

    return start


def scenes_of(runner: Runner) -> list[Scene]:
    return list(Scene.objects.filter(analysis=runner.ctx.analysis).order_by("index"))


def test_default_pipeline_is_registered() -> None:
    names = [stage.name for stage in build_pipeline()]
    assert names == ["probe", "shots", "keyframes", "audio", "transcript", "storylines"]


def test_probe_merges_metadata(run: Any, shots_clip: Clip) -> None:
    runner = run(shots_clip)
    Analysis.objects.filter(pk=runner.ctx.analysis.pk).update(metadata={"kept": 1})
    runner.run("probe")
    metadata = Analysis.objects.get(pk=runner.ctx.analysis.pk).metadata
    assert metadata["kept"] == 1
    assert metadata["fps"] == FPS and metadata["size"] == [320, 240]
    assert metadata["duration"] == pytest.approx(6.0, abs=0.05)
    assert metadata["has_audio"] is True


def test_probe_rejects_a_broken_file(run: Any, shots_clip: Clip, tmp_path: Path) -> None:
    runner = run(shots_clip)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    runner.ctx.video_path = broken
    with pytest.raises(StageError):
        runner.run("probe")


@pytest.mark.parametrize("detector", ["content", "adaptive"])
def test_shots_finds_the_cuts_within_one_frame(run: Any, shots_clip: Clip, detector: str) -> None:
    runner = run(shots_clip, scene_detector=detector)
    runner.run("shots")
    scenes = scenes_of(runner)
    assert len(scenes) == 3
    for scene, cut in zip(scenes[1:], shots_clip.cuts, strict=True):
        assert abs(scene.start_frame - cut) <= 1
        assert scene.start_time == pytest.approx(scene.start_frame / FPS, abs=1e-3)
    # Contiguous and covering the whole video.
    assert scenes[0].start_frame == 0 and scenes[0].start_time == 0.0
    assert scenes[-1].end_frame == shots_clip.frames
    assert scenes[-1].end_time == pytest.approx(shots_clip.duration, abs=1e-3)
    for left, right in itertools.pairwise(scenes):
        assert left.end_frame == right.start_frame and left.end_time == right.start_time
    assert runner.reports and all(0.0 <= f <= 1.0 for f, _ in runner.reports)


def test_times_start_at_zero_when_the_streams_do_not(run: Any, late_start_clip: Clip) -> None:
    assert probe(late_start_clip.path).start_time > 1.0
    runner = run(late_start_clip)
    runner.run("shots", "audio")
    scenes = scenes_of(runner)
    assert [s.start_frame for s in scenes] == [0, *late_start_clip.cuts]
    assert [s.start_time for s in scenes] == [0.0, 2.0, 4.0]
    assert scenes[-1].end_time == pytest.approx(6.0, abs=1e-3)
    audio = np.load(runner.ctx.workdir / "audio16k.npy")
    assert abs(audio.size / 16_000 - 6.0) < 0.1  # aligned: no 1.4 s of leading silence
    assert np.abs(audio[:1600]).max() > 0.01


def test_shots_without_a_cut_is_one_scene(run: Any, shots_clip: Clip) -> None:
    # No fades to black in this clip: the fade detector finds nothing.
    runner = run(shots_clip, scene_detector="threshold")
    runner.run("shots")
    scenes = scenes_of(runner)
    assert [(s.start_frame, s.end_frame) for s in scenes] == [(0, shots_clip.frames)]


def test_a_short_last_shot_joins_the_previous_one() -> None:
    times = [i / 25 for i in range(110)]
    shots = shots_from_cuts([50, 100], times, 25.0, min_seconds=0.6)
    assert [(s.start_frame, s.end_frame) for s in shots] == [(0, 50), (50, 110)]
    assert shots[-1].end_time == 4.4
    assert len(shots_from_cuts([50, 100], times, 25.0, min_seconds=0.4)) == 3


def test_shots_rerun_replaces_scenes(run: Any, no_audio_clip: Clip) -> None:
    runner = run(no_audio_clip)
    runner.run("shots", "shots")
    assert [s.index for s in scenes_of(runner)] == [0, 1]
    assert abs(scenes_of(runner)[1].start_frame - no_audio_clip.cuts[0]) <= 1


def test_shots_rejects_an_unknown_detector(run: Any, shots_clip: Clip) -> None:
    with pytest.raises(StageError, match="Unknown scene detector"):
        run(shots_clip, scene_detector="magic").run("shots")


def test_shots_stops_when_cancelled(run: Any, shots_clip: Clip) -> None:
    runner = run(shots_clip)

    def cancel(fraction: float, message: str) -> None:
        raise Cancelled()

    runner.ctx.report = cancel
    with pytest.raises(Cancelled):
        runner.run("shots")
    assert not scenes_of(runner)


def test_shots_on_real_footage(run: Any, bikes_clip: Path) -> None:
    runner = run(bikes_clip)
    runner.run("shots", "keyframes")
    scenes = scenes_of(runner)
    assert scenes and scenes[0].start_frame == 0
    assert scenes[-1].end_frame == runner.ctx.analysis.video.frame_count
    assert all(scene.keyframe and scene.thumbnail for scene in scenes)


def _decode(field: Any) -> Any:
    import cv2
    import numpy as np

    with field.open("rb") as handle:
        data = handle.read()
    assert data[:2] == b"\xff\xd8"  # JPEG start-of-image marker
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def test_keyframes_are_saved_as_jpeg(run: Any, shots_clip: Clip) -> None:
    runner = run(shots_clip)
    runner.run("shots", "keyframes")
    scenes = scenes_of(runner)
    storage = Scene._meta.get_field("keyframe").storage
    folder = f"analyses/{runner.ctx.analysis.pk}"
    for scene in scenes:
        assert scene.keyframe.name == f"{folder}/scene_{scene.index + 1:04d}.jpg"
        assert _decode(scene.keyframe).shape == (240, 320, 3)
        assert _decode(scene.thumbnail).shape[1] == 160
        assert scene.keyframe_time is not None
        assert scene.start_time <= scene.keyframe_time < scene.end_time
        assert storage.exists(f"{folder}/scene_{scene.index + 1:04d}_after1s.jpg")
    # A rerun overwrites: same names, no duplicates with random suffixes.
    before = sorted(storage.listdir(folder)[1])
    runner.run("keyframes")
    assert sorted(storage.listdir(folder)[1]) == before and len(before) == 3 * len(scenes)


def test_keyframes_rerun_after_fewer_scenes_leaves_no_orphans(run: Any, shots_clip: Clip) -> None:
    runner = run(shots_clip)
    runner.run("shots", "keyframes")
    runner.ctx.parameters["scene_detector"] = "threshold"  # now one scene only
    runner.run("shots", "keyframes")
    storage = Scene._meta.get_field("keyframe").storage
    files = storage.listdir(f"analyses/{runner.ctx.analysis.pk}")[1]
    assert sorted(files) == ["scene_0001.jpg", "scene_0001_after1s.jpg", "scene_0001_thumb.jpg"]


def test_audio_features_of_a_tone(run: Any, shots_clip: Clip) -> None:
    runner = run(shots_clip)
    runner.run("shots", "audio")
    features = list(SceneAudioFeatures.objects.filter(scene__analysis=runner.ctx.analysis))
    assert len(features) == 3
    for item in features:
        assert item.rms_energy > 0.01  # ffmpeg sine is 1/8 full scale, halved here
        assert 300 < item.spectral_centroid_mean < 700  # a 440 Hz sine
        assert item.zero_crossing_rate > 0
        assert item.loudness_db is not None and -40 < item.loudness_db < -20
        assert item.tempo >= 0
        assert item.speech_ratio is not None and item.speech_ratio < 0.5
    assert (runner.ctx.workdir / "audio16k.npy").exists()


def test_audio_of_a_silent_video_is_zero(run: Any, no_audio_clip: Clip) -> None:
    runner = run(no_audio_clip)
    runner.run("shots", "audio")
    features = list(SceneAudioFeatures.objects.filter(scene__analysis=runner.ctx.analysis))
    assert len(features) == 2
    for item in features:
        assert item.rms_energy == 0 and item.tempo == 0 and item.speech_ratio == 0
        assert item.loudness_db == -100


def test_split_at_scenes_cuts_a_segment_across_a_cut() -> None:
    scenes = [SceneSpan(1, 0, 0.0, 2.0, 0, 50), SceneSpan(2, 1, 2.0, 4.0, 50, 100)]
    words = [
        Word(" Hello", 1.0, 1.4, 0.9),
        Word(" there", 1.5, 1.9, 0.9),
        Word(" general", 2.1, 2.6, 0.8),
        Word(" Kenobi", 2.7, 3.2, 0.7),
    ]
    pieces = split_at_scenes(0.9, 3.3, " Hello there general Kenobi", words, scenes)
    assert [(p.scene_index, p.text) for p in pieces] == [(0, "Hello there"), (1, "general Kenobi")]
    assert (pieces[0].start_time, pieces[0].end_time) == (1.0, 1.9)
    assert (pieces[1].start_time, pieces[1].end_time) == (2.1, 3.2)
    inside = split_at_scenes(0.9, 1.95, " Hello there", words[:2], scenes)
    assert [(p.scene_index, p.start_time, p.end_time) for p in inside] == [(0, 0.9, 1.95)]


def test_transcript_of_a_silent_video_is_empty(run: Any, no_audio_clip: Clip) -> None:
    runner = run(no_audio_clip)
    runner.run("shots", "transcript")
    assert not TranscriptSegment.objects.filter(analysis=runner.ctx.analysis).exists()


@pytest.mark.slow
def test_transcript_english_segments_land_in_their_scenes(run: Any, speech_clip: Clip) -> None:
    runner = run(speech_clip)
    runner.run("shots", "audio", "transcript")
    scenes = scenes_of(runner)
    assert len(scenes) == 2
    texts = {
        scene.index: " ".join(s.text for s in scene.segments.all()).lower() for scene in scenes
    }
    assert {"quick", "brown", "fox"} <= set(re.findall(r"\w+", texts[0]))
    assert {"please", "ask", "bring"} <= set(re.findall(r"\w+", texts[1])), texts
    for segment in TranscriptSegment.objects.filter(analysis=runner.ctx.analysis):
        assert segment.language == "en" and segment.words
        assert segment.scene.start_time <= segment.start_time <= segment.end_time
        assert segment.end_time <= segment.scene.end_time
    assert Analysis.objects.get(pk=runner.ctx.analysis.pk).metadata["language"] == "en"
    speech = SceneAudioFeatures.objects.filter(scene__analysis=runner.ctx.analysis)
    assert all((item.speech_ratio or 0) > 0.2 for item in speech)


@pytest.mark.slow
@pytest.mark.parametrize("language", [None, "ru"])
def test_transcript_russian_is_cyrillic(run: Any, russian_clip: Clip, language: str | None) -> None:
    runner = run(russian_clip, language=language)  # None: detected from the audio
    runner.run("shots", "transcript")
    segments = list(TranscriptSegment.objects.filter(analysis=runner.ctx.analysis))
    text = " ".join(s.text for s in segments)
    assert segments and all(s.language == "ru" for s in segments)
    assert len(re.findall(r"[\u0430-\u044f\u0451]+", text.lower())) >= 3, text  # Cyrillic


@pytest.mark.slow
def test_transcript_with_the_tiny_en_pack(run: Any, speech_clip: Clip) -> None:
    runner = run(speech_clip, whisper_model="tiny.en")
    result = runner.run("shots", "transcript")
    assert result.language == "en" and result.model == "tiny.en"
    assert "fox" in " ".join(p.text for p in result.pieces).lower()


def _memberships(runner: Runner) -> list[int]:
    return list(
        StorylineScene.objects.filter(scene__analysis=runner.ctx.analysis).values_list(
            "scene__index", flat=True
        )
    )


@pytest.mark.parametrize("wanted", [1, 2, 3, 100])
def test_storylines_cover_every_scene_once(run: Any, many_shots_clip: Clip, wanted: int) -> None:
    runner = run(many_shots_clip, num_storylines=wanted)
    runner.run("shots", "keyframes", "audio", "storylines")
    scenes = scenes_of(runner)
    assert len(scenes) == 6
    storylines = list(Storyline.objects.filter(analysis=runner.ctx.analysis))
    assert len(storylines) == min(wanted, len(scenes))
    assert sorted(_memberships(runner)) == [s.index for s in scenes]
    # Ordered by first appearance, so scene 0 is always in the first storyline.
    first = storylines[0].memberships.values_list("scene__index", flat=True)
    assert 0 in first
    assert [s.name for s in storylines] == [f"Storyline {i + 1}" for i in range(len(storylines))]
    assert all(re.match(r"#[0-9a-f]{6}$", s.color) and "scene" in s.description for s in storylines)


def test_storylines_choose_their_number(run: Any, many_shots_clip: Clip) -> None:
    runner = run(many_shots_clip)
    runner.run("shots", "keyframes", "audio", "storylines")
    count = Storyline.objects.filter(analysis=runner.ctx.analysis).count()
    assert 2 <= count <= 5
    assert sorted(_memberships(runner)) == list(range(6))
    # Rerun replaces rather than adds.
    runner.run("storylines")
    assert Storyline.objects.filter(analysis=runner.ctx.analysis).count() == count
    assert len(_memberships(runner)) == 6


@pytest.mark.slow
def test_storyline_description_uses_the_transcript(run: Any, speech_clip: Clip) -> None:
    runner = run(speech_clip, num_storylines=1)
    runner.run("shots", "transcript", "storylines")
    storyline = Storyline.objects.get(analysis=runner.ctx.analysis)
    assert storyline.description.startswith("2 scenes, 10.0 s, 00:00\u201300:10")
    assert "words:" in storyline.description
