"""BS.1770-4 / EBU R128 loudness on tones and speech made here with ffmpeg and espeak-ng.

Expected values come from the standard itself: the gain of its 48 kHz K-weighting table at
997 Hz (+0.691 dB, which is why a full-scale 997 Hz sine in one channel reads -3.01 LUFS) and
the level of the generated tone; the meter works at 16 kHz, so a tolerance of 0.3 LU covers the
re-designed filter (within 0.07 dB of the table) and the AAC round trip.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.test import Client

from analysis import services
from analysis.models import Analysis, SceneAudioFeatures
from analysis.pipeline.runner import analysis_execute
from mediakit.audio import SAMPLE_RATE, decode_audio
from mediakit.loudness import (
    HIGH_PASS_48K,
    SHELF_48K,
    Loudness,
    LoudnessMeter,
    k_weighting,
)
from tests.fixtures_media import EN_SENTENCES, FPS, SIZE, ffmpeg, speak

TONE_HZ = 997


def expected_lufs(amplitude: float) -> float:
    """BS.1770-4 loudness of a mono 997 Hz sine of ``amplitude`` (full scale = 1)."""
    from scipy import signal

    _f, shelf = signal.freqz(*SHELF_48K, worN=[TONE_HZ], fs=48_000)
    _f, high_pass = signal.freqz(*HIGH_PASS_48K, worN=[TONE_HZ], fs=48_000)
    weighted_power = amplitude**2 / 2 * abs(shelf[0] * high_pass[0]) ** 2
    return -0.691 + 10 * math.log10(weighted_power)


def tone_file(folder: Path, level: str, seconds: float, suffix: str = "mp4") -> Path:
    """``level`` is an ffmpeg expression of t (the amplitude); an mp4 also gets a picture."""
    name = hashlib.sha1(level.encode()).hexdigest()[:10]
    path = folder / f"tone_{name}_{seconds}.{suffix}"
    if path.exists():
        return path
    tone = f"aevalsrc=exprs='({level})*sin(2*PI*{TONE_HZ}*t)':s=48000:d={seconds}"
    if suffix == "wav":  # lossless, 16-bit: full scale survives exactly
        ffmpeg("-f", "lavfi", "-i", tone, "-c:a", "pcm_s16le", str(path))
        return path
    picture = f"testsrc2=size={SIZE}:rate={FPS}"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        tone,
        "-t",
        str(seconds),
        "-f",
        "lavfi",
        "-i",
        picture,
        "-map",
        "1:v",
        "-map",
        "0:a",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-c:a",
        "aac",
        "-b:a",
        "192k",
        str(path),
    )
    return path


def measure(path: Path, start: float = 0.0, end: float = math.inf) -> Loudness:
    samples = decode_audio(path)
    assert samples is not None
    return LoudnessMeter(samples, SAMPLE_RATE).measure(start, end)


def test_k_weighting_is_the_standard_table_at_48k_and_close_to_it_at_16k() -> None:
    from scipy import signal

    table = np.array([[*b, *a] for b, a in (SHELF_48K, HIGH_PASS_48K)])
    assert np.allclose(k_weighting(48_000), table, atol=1e-9)
    freqs = np.geomspace(20, 7500, 200)
    _f, ours = signal.sosfreqz(k_weighting(16_000), worN=freqs, fs=16_000)
    _f, reference = signal.sosfreqz(table, worN=freqs, fs=48_000)
    deviation = 20 * np.log10(np.abs(ours)) - 20 * np.log10(np.abs(reference))
    assert np.abs(deviation).max() < 0.1


@pytest.mark.parametrize(("amplitude", "suffix"), [(1.0, "wav"), (0.5, "mp4")])
def test_a_997_hz_tone_reads_the_bs1770_value(
    media_dir: Path, amplitude: float, suffix: str
) -> None:
    level = measure(tone_file(media_dir, str(amplitude), 4.0, suffix))
    expected = expected_lufs(amplitude)  # -3.01 at full scale, -9.03 at half
    assert level.integrated is not None and abs(level.integrated - expected) <= 0.3, level
    assert level.momentary_max is not None and abs(level.momentary_max - expected) <= 0.3
    assert level.range is not None and level.range < 0.5  # a steady tone has no range


def test_a_tone_6_db_quieter_reads_6_lu_lower(media_dir: Path) -> None:
    loud = measure(tone_file(media_dir, "0.5", 4.0))
    quiet = measure(tone_file(media_dir, "0.25", 4.0))
    assert loud.integrated is not None and quiet.integrated is not None
    assert abs(loud.integrated - quiet.integrated - 20 * math.log10(2)) <= 0.1


def test_silence_and_stretches_under_one_block_measure_none(media_dir: Path) -> None:
    silent = measure(tone_file(media_dir, "0", 3.0))
    assert silent == Loudness(None, None, None)
    # -80 dBFS: audible in a quiet room, but under the -70 LUFS absolute gate.
    assert measure(tone_file(media_dir, "0.0001", 3.0)).integrated is None
    tone = tone_file(media_dir, "0.5", 4.0)
    assert measure(tone, 1.0, 1.35) == Loudness(None, None, None)  # shorter than 400 ms
    short = measure(tone, 1.0, 2.0)  # a block, but not the 3 s the range needs
    assert short.integrated is not None and short.range is None
    json.dumps(vars(silent), allow_nan=False)


def test_gates_leave_out_pauses_and_quiet_passages(media_dir: Path) -> None:
    tone = measure(tone_file(media_dir, "0.5", 4.0))
    assert tone.integrated is not None
    # 2 s of tone, then 2 s of silence: the 400 ms blocks starting at 0.0..1.6 s hold the
    # tone, those at 1.7, 1.8 and 1.9 s three quarters, half and a quarter of it, the rest
    # nothing and fall under the absolute gate. An ungated mean would read 3 LU lower.
    kept = 10 * math.log10((17 + 0.75 + 0.5 + 0.25) / 20)  # -0.34 LU
    with_pause = measure(tone_file(media_dir, "0.5*lt(t,2)", 4.0))
    assert with_pause.integrated is not None
    assert abs(with_pause.integrated - (tone.integrated + kept)) <= 0.1
    # 20 dB quieter instead of silent: those blocks fall under the relative gate (10 LU under
    # the mean of all blocks), so the same blocks are kept.
    quiet_half = measure(tone_file(media_dir, "if(lt(t,2),0.5,0.05)", 4.0))
    assert quiet_half.integrated is not None
    assert abs(quiet_half.integrated - (tone.integrated + kept)) <= 0.1


def test_loudness_range_spans_a_loud_and_a_quiet_passage(media_dir: Path) -> None:
    # 4 s at half scale, 4 s 20 dB lower: of the 51 short-term (3 s) windows, 11 hold only the
    # loud tone and 11 only the quiet one, so the 10th and 95th percentiles are those two
    # levels (the quiet one is within the range's -20 LU relative gate).
    level = measure(tone_file(media_dir, "if(lt(t,4),0.5,0.05)", 8.0))
    assert level.range is not None and abs(level.range - 20.0) <= 0.3, level
    assert measure(tone_file(media_dir, "0.5", 4.0)).range == pytest.approx(0.0, abs=0.2)


def ffmpeg_integrated(path: Path) -> float:
    """Integrated loudness from ffmpeg's own EBU R128 meter (the ``ebur128`` filter)."""
    command = ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128"]
    run = subprocess.run([*command, "-f", "null", "-"], capture_output=True, text=True, check=True)
    summary = run.stderr[run.stderr.rfind("Summary:") :]
    found = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    assert found, summary
    return float(found.group(1))


def test_speech_agrees_with_ffmpegs_ebur128_meter(media_dir: Path) -> None:
    import soundfile

    first, second = (speak(media_dir / f"loud{i}.wav", t) for i, t in enumerate(EN_SENTENCES))
    speech = media_dir / "speech_with_pause.wav"
    ffmpeg(
        "-i",
        str(first),
        "-i",
        str(second),
        "-filter_complex",
        "[0:a]apad=pad_dur=1.5[a0];[a0][1:a]concat=n=2:v=0:a=1[a]",
        "-map",
        "[a]",
        str(speech),
    )
    samples = decode_audio(speech)
    assert samples is not None
    track = media_dir / "speech_16k.wav"  # the very samples our meter sees
    soundfile.write(track, samples, SAMPLE_RATE, subtype="FLOAT")
    ours = LoudnessMeter(samples, SAMPLE_RATE).measure()
    assert ours.integrated is not None
    assert abs(ours.integrated - ffmpeg_integrated(track)) <= 0.3, ours


@pytest.fixture(scope="session")
def levels_clip(media_dir: Path) -> Path:
    """6 s, three shots (cuts at frames 50 and 100): a 997 Hz tone at half scale, then 6 dB
    quieter, then silence (from 3.9 s, so a cut found a frame early still starts silent)."""
    sources = ["testsrc2", "smptebars", "mandelbrot"]
    inputs = [
        arg
        for source in sources
        for arg in ("-t", "2", "-f", "lavfi", "-i", f"{source}=size={SIZE}:rate={FPS}")
    ]
    level = "if(lt(t,2),0.5,if(lt(t,3.9),0.25,0))"
    tone = f"aevalsrc=exprs='({level})*sin(2*PI*{TONE_HZ}*t)':s=48000:d=6"
    path = media_dir / "levels.mp4"
    ffmpeg(
        *inputs,
        "-f",
        "lavfi",
        "-i",
        tone,
        "-filter_complex",
        "[0:v][1:v][2:v]concat=n=3:v=1:a=0,format=yuv420p[v]",
        "-map",
        "[v]",
        "-map",
        "3:a",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-c:a",
        "aac",
        "-b:a",
        "192k",
        str(path),
    )
    return path


def strict_json(response: Any) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in a JSON response")

    return json.loads(response.content, parse_constant=refuse)


@pytest.mark.django_db
def test_pipeline_stores_lufs_per_scene_and_the_api_shows_it(
    user: Any, alice: Client, levels_clip: Path
) -> None:
    video = services.video_create_from_path(owner=user, path=levels_clip)
    stages = ["probe", "shots", "keyframes", "audio", "storylines"]
    analysis = services.analysis_start(
        video=video, parameters={"stages": stages, "num_storylines": 1}, enqueue=False
    )
    done = analysis_execute(analysis_id=analysis.id)
    assert done is not None and done.status == "completed", done.error if done else None
    rows = list(SceneAudioFeatures.objects.filter(scene__analysis=done).order_by("scene__index"))
    lufs = [row.loudness_lufs for row in rows]
    assert len(lufs) == 3 and lufs[0] is not None and lufs[1] is not None, lufs
    assert abs(lufs[0] - expected_lufs(0.5)) <= 0.3 and abs(lufs[1] - expected_lufs(0.25)) <= 0.3
    assert lufs[2] is None and rows[2].momentary_max_lufs is None  # silence: null, not -inf
    assert rows[0].loudness_db is not None and -12 < rows[0].loudness_db < -6  # dBFS, kept
    video_level = Analysis.objects.get(pk=done.pk).metadata["loudness"]["integrated_lufs"]
    assert lufs[1] < video_level < lufs[0]

    scenes = strict_json(alice.get(f"/api/analyses/{done.id}/scenes"))
    assert [s["audio"]["loudness_lufs"] for s in scenes] == lufs
    assert scenes[0]["audio"]["loudness_db"] == rows[0].loudness_db
    body = strict_json(alice.get(f"/api/analyses/{done.id}"))
    assert body["metadata"]["loudness"]["integrated_lufs"] == video_level
    result = strict_json(alice.get(f"/api/analysis/{done.id}"))["result"]
    features = [
        scene["audio_analysis"]["audio_features"]
        for storyline in result["storylines"]
        for scene in storyline["scenes"]
    ]
    assert [f["loudness_lufs"] for f in features] == lufs
    assert {"rms_energy", "spectral_centroid_mean", "zero_crossing_rate", "tempo"} <= set(
        features[0]
    )
    assert result["metadata"]["loudness"]["integrated_lufs"] == video_level
    schema = Client().get("/api/openapi.json").json()["components"]["schemas"]["SceneAudioOut"]
    assert {"loudness_lufs", "momentary_max_lufs", "loudness_range_lu"} <= set(schema["properties"])
