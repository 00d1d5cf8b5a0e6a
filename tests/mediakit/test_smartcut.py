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


def test_a_span_with_a_short_copyable_middle_can_be_encoded_whole() -> None:
    keys = list(range(0, 1000, 50))  # a keyframe every 2 s at 25 fps
    # By default every whole GOP in a span is copied: 1 s head, one 2 s GOP, 1 s tail.
    assert span_pieces(25, 125, keys, 1000) == [
        Piece(False, 25, 25),
        Piece(True, 50, 50),
        Piece(False, 100, 25),
    ]
    # Asked for middles of 4 s or more, the same span is one encoded piece.
    assert span_pieces(25, 125, keys, 1000, min_copy=100) == [Piece(False, 25, 100)]
    # A keyframe inside but no whole GOP: one piece, not a head and a tail.
    assert span_pieces(40, 80, keys, 1000) == [Piece(False, 40, 40)]


def test_plan_copies_every_whole_gop_of_a_short_gop_clip(tmp_path: Path) -> None:
    source = short_gop_clip(tmp_path)
    packets, stream = video_packets(source), video_stream(source)
    plan = plan_smart_cut([Span(0.5, 3.3), Span(4.2, 9.7)], packets, stream)
    assert plan.pieces == [
        Piece(False, 13, 12),  # 0.5 s to 1 s
        Piece(True, 25, 50),  # the GOPs from 1 s to 3 s, copied
        Piece(False, 75, 8),  # 3 s to 3.3 s
        Piece(False, 105, 20),  # 4.2 s to 5 s
        Piece(True, 125, 100),  # the GOPs from 5 s to 9 s, copied
        Piece(False, 225, 18),  # 9 s to 9.7 s
    ]
    whole = plan_smart_cut([Span(0.5, 3.3)], packets, stream, min_copy_seconds=4.0)
    assert whole.pieces == [Piece(False, 13, 70)]


def short_gop_clip(tmp_path: Path) -> Path:
    source = tmp_path / "short_gop.mp4"
    encode = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "25"]
    encode += ["-keyint_min", "25", "-sc_threshold", "0"]
    subprocess.run([*LAVFI, "testsrc=s=160x120:r=25:d=12", *encode, str(source)], check=True)
    return source


def test_a_cut_of_many_pieces_is_a_few_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = short_gop_clip(tmp_path)
    started: list[str] = []
    real_popen = subprocess.Popen

    class Spy(real_popen):  # type: ignore[misc, valid-type]
        def __init__(self, args: list[str], *rest: object, **options: object) -> None:
            started.append(Path(args[0]).name)
            super().__init__(args, *rest, **options)

    monkeypatch.setattr(subprocess, "Popen", Spy)
    spans = [Span(0.5 + 2.7 * i, 2.7 + 2.7 * i) for i in range(4)]  # 2.2 s, keyframes each 1 s
    out = tmp_path / "cut.mp4"
    plan = smart_cut(source, spans, out, tmp_path, lambda f, m: None, has_audio=False)
    # Reading the source once, one encoding run, one copying run, the probe of the encoded
    # run, the join and its check: the same for 4 spans as for 1.
    assert sorted(started) == ["ffmpeg"] * 3 + ["ffprobe"] * 3
    assert len(plan.pieces) == 3 * len(spans)  # a head, copied GOPs and a tail each
    assert frame_count(out) == sum(round(s.duration * FPS) for s in spans)


def frame_count(path: Path) -> int:
    count = ["-select_streams", "v:0", "-count_packets", "-show_entries", "stream=nb_read_packets"]
    out = subprocess.run(
        ["ffprobe", "-v", "error", *count, "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out)
