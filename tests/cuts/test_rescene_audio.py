"""A partial re-run measures the touched scenes' sound from their own stretch of the track, as
the whole track would measure them.

The clip is real media made with ffmpeg: a picture of one colour and, on two channels at
44.1 kHz (so the track is resampled to the pipeline's 16 kHz), a rising tone whose loudness
swells and fades: the measures change along the track, so a stretch read from the wrong place
would measure differently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from analysis.models import Analysis
from analysis.pipeline.base import StageContext
from analysis.pipeline.stages.audio import SPEECH_KEY, AudioFeatures, AudioResult, AudioStage
from analysis.pipeline.stages.common import RESCENE_KEY
from mediakit.audio import SAMPLE_RATE, Track, decode_audio, decode_audio_ranges
from tests.decode_spy import spy_on_av_open
from tests.fixtures_media import ffmpeg

pytestmark = pytest.mark.django_db

CUTS = [2.0, 4.4, 5.6, 8.1, 10.3, 13.0, 16.2]
SECONDS = 20.0


def make_swelling_tone(path: Path, rate: int, channels: int) -> Path:
    tone = "0.5*sin(2*PI*(200+60*t)*t)*(0.55+0.45*sin(2*PI*0.3*t))"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"color=c=0x336699:size=64x48:rate=25:duration={SECONDS}",
        "-f",
        "lavfi",
        "-i",
        f"aevalsrc={tone}:s={rate}:d={SECONDS}",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-c:a",
        "aac",
        "-ac",
        str(channels),
        "-shortest",
        str(path),
        timeout=60,
    )
    return path


@pytest.fixture(scope="module")
def tone_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_swelling_tone(tmp_path_factory.mktemp("tone") / "tone.mp4", 44_100, 2)


@pytest.mark.parametrize(("rate", "channels"), [(44_100, 2), (16_000, 1)])
def test_ranges_decode_to_the_samples_of_a_whole_decode(
    tmp_path: Path, rate: int, channels: int
) -> None:
    clip = make_swelling_tone(tmp_path / "tone.mp4", rate, channels)
    whole = decode_audio(clip)
    assert whole is not None
    ranges = [(0.4, 2.9), (7.3, 9.95), (13.0, 16.2)]
    track = Track(decode_audio_ranges(clip, ranges) or [])
    for start, end in ranges:
        ours = track.excerpt(start, end)
        theirs = whole[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        assert ours.size == theirs.size
        # Bit for bit at 16 kHz; resampled, within float rounding.
        assert abs(ours - theirs).max() < 1e-4, (start, end)


def context(analysis: Analysis, clip: Path, workdir: Path) -> StageContext:
    workdir.mkdir()
    return StageContext(analysis, clip, workdir, lambda fraction, message="": None)


def measures(item: AudioFeatures) -> list[Any]:
    loudness = item.loudness
    return [
        pytest.approx(item.rms_energy, rel=1e-3),
        pytest.approx(item.spectral_centroid_mean, rel=1e-3),
        pytest.approx(item.zero_crossing_rate, rel=1e-3),
        pytest.approx(item.tempo, abs=0.5),
        pytest.approx(item.loudness_db, abs=0.01),
        item.speech_ratio,
        pytest.approx(loudness.integrated, abs=0.02),
        pytest.approx(loudness.momentary_max, abs=0.02),
        pytest.approx(loudness.range, abs=0.05),
    ]


def values(item: AudioFeatures) -> list[Any]:
    loudness = item.loudness
    return [
        item.rms_energy,
        item.spectral_centroid_mean,
        item.zero_crossing_rate,
        item.tempo,
        item.loudness_db,
        item.speech_ratio,
        loudness.integrated,
        loudness.momentary_max,
        loudness.range,
    ]


def test_a_rerun_decodes_the_touched_scenes_only_and_measures_them_as_the_whole_track(
    user: Any, tone_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from frontend.seeding import seed_analysis

    analysis = seed_analysis(owner=user, video_path=tone_clip, cuts=CUTS, storylines=2)
    stage = AudioStage()
    whole_ctx = context(analysis, tone_clip, tmp_path / "whole")
    opened = spy_on_av_open(monkeypatch)
    whole: AudioResult = stage.compute(whole_ctx)
    track_frames = sum(c.audio_frames for c in opened)
    with transaction.atomic():
        stage.persist(whole_ctx, whole)  # as a full run does: it keeps the track's speech
    analysis.refresh_from_db()
    assert analysis.metadata[SPEECH_KEY] == [list(pair) for pair in whole.speech or []]

    touched = list(analysis.scenes.filter(index__in=[3, 6]).values_list("pk", flat=True))
    analysis.metadata[RESCENE_KEY] = {"scene_ids": touched, "edit_id": None}
    analysis.save(update_fields=["metadata"])
    opened.clear()
    partial = stage.compute(context(analysis, tone_clip, tmp_path / "partial"))

    assert [item.scene_index for item in partial.scenes] == [3, 6]
    by_index = {item.scene_index: item for item in whole.scenes}
    for item in partial.scenes:
        assert values(item) == measures(by_index[item.scene_index]), item.scene_index
    # Scenes 4 and 7 are 2.5 s and 3.2 s of 20 s, each decoded with a second before it.
    decoded = sum(c.audio_frames for c in opened)
    assert 0 < decoded < track_frames / 2, (decoded, track_frames)
