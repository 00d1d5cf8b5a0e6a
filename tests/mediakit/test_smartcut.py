"""Smart cut on a long-GOP clip (keyframes every 10 s, B-frames): every frame exact, copied
GOPs in the middle, pieces that match the copied stream, and the sound in sync at every join.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

import pytest

from mediakit.cutting import Span
from mediakit.smartcut import (
    Piece,
    SmartCutPlan,
    plan_smart_cut,
    smart_cut,
    span_pieces,
    video_packets,
    video_stream,
)
from tests.fixtures_exports import (
    BEEP_FRAME,
    FPS,
    LongGopClip,
    audio_samples,
    beep_onsets,
    frame_numbers,
    make_long_gop_clip,
)

# Spans that start and end between keyframes (0, 10, 20, 30 s), one running over two of them
# (so whole GOPs are copied) and one ending on the video's end.
LAVFI = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i"]
SPANS = [Span(1.0, 5.0), Span(6.2, 25.0), Span(26.4, 33.4), Span(34.0, 36.0)]


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> LongGopClip:
    return make_long_gop_clip(
        tmp_path_factory.mktemp("smart") / "long.mp4", [6.2, 13.4, 4.8, 9.0, 2.6]
    )


@pytest.fixture(scope="module")
def cut(
    long_clip: LongGopClip, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, SmartCutPlan]:
    workdir = tmp_path_factory.mktemp("smart-work")
    out = workdir / "cut.mp4"
    plan = smart_cut(long_clip.path, SPANS, out, workdir, lambda f, m: None, has_audio=True)
    return out, plan


def wanted_frames(spans: list[Span]) -> list[int]:
    return [f for s in spans for f in range(round(s.start * FPS), round(s.end * FPS))]


def test_every_frame_is_the_right_source_frame(cut: tuple[Path, SmartCutPlan]) -> None:
    out, plan = cut
    assert frame_numbers(out) == wanted_frames(SPANS)
    copied = [p for p in plan.pieces if p.copy]
    assert copied == [Piece(True, 250, 250)]  # the GOP from 10 s to 20 s, packet for packet
    assert not plan.fallback


def probe(path: Path) -> dict[str, str]:
    entries = "stream=codec_name,profile,level,pix_fmt,sample_aspect_ratio,time_base,has_b_frames"
    command = ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", entries]
    out = subprocess.run(
        [*command, "-of", "json", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return dict(json.loads(out)["streams"][0])


def test_the_joined_file_is_one_clean_stream(
    long_clip: LongGopClip, cut: tuple[Path, SmartCutPlan]
) -> None:
    out, _ = cut
    assert probe(out) == probe(long_clip.path)  # codec, profile, level, pix_fmt, SAR, time base
    packets = video_packets(out)
    assert all(b > a for a, b in itertools.pairwise(packets.dts))
    times = packets.frame_times
    steps = {round(b - a, 6) for a, b in itertools.pairwise(times)}
    assert steps == {1 / FPS}  # no frame twice, none missing
    decode = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(out), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert decode.stderr == ""


def test_sound_is_in_sync_within_a_frame_at_every_join(cut: tuple[Path, SmartCutPlan]) -> None:
    out, _ = cut
    numbers = frame_numbers(out)
    onsets = beep_onsets(audio_samples(out))
    # A beep starts with every frame numbered 12 mod 25, wherever the cut put it.
    flashes = [i / FPS for i, n in enumerate(numbers) if n % FPS == BEEP_FRAME]
    assert len(onsets) == len(flashes) >= 20
    for onset, flash in zip(onsets, flashes, strict=True):
        assert abs(onset - flash) < 1 / FPS


def test_a_source_it_cannot_match_falls_back_and_says_why(tmp_path: Path) -> None:
    source = tmp_path / "mpeg4.mp4"
    subprocess.run(
        [*LAVFI, "testsrc=s=160x120:r=25:d=3", "-c:v", "mpeg4", "-g", "50", str(source)],
        check=True,
    )
    out = tmp_path / "cut.mp4"
    plan = smart_cut(source, [Span(0.5, 1.5)], out, tmp_path, lambda f, m: None, has_audio=False)
    assert "mpeg4" in plan.fallback and "H.264" in plan.fallback
    assert not out.exists()


def test_pieces_of_a_span() -> None:
    keys = [0, 250, 500, 750]
    assert span_pieces(25, 125, keys, 900) == [Piece(False, 25, 100)]
    assert span_pieces(155, 625, keys, 900) == [
        Piece(False, 155, 95),
        Piece(True, 250, 250),
        Piece(False, 500, 125),
    ]
    assert span_pieces(250, 500, keys, 900) == [Piece(True, 250, 250)]  # on keyframes: copied
    assert span_pieces(760, 900, keys, 900) == [Piece(False, 760, 140)]
    assert span_pieces(750, 900, keys, 900) == [Piece(True, 750, 150)]  # runs to the end


def test_plan_follows_the_frames(long_clip: LongGopClip) -> None:
    packets = video_packets(long_clip.path)
    plan = plan_smart_cut([Span(9.99, 10.5)], packets, video_stream(long_clip.path))
    # 9.99 s is a quarter frame off 10.0 s: float noise, the span starts on frame 250.
    assert plan.spans == [Span(10.0, 10.52)] and plan.pieces == [Piece(False, 250, 13)]
