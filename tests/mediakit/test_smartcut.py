"""Smart cut on a long-GOP clip (keyframes every 10 s, B-frames): every frame exact, copied
GOPs in the middle, pieces that match the copied stream, and the sound in sync at every join.
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mediakit.cutting import Span
from mediakit.smartcut import (
    Piece,
    SmartCutPlan,
    copyable_prefix,
    plan_smart_cut,
    smart_cut,
    span_pieces,
    video_packets,
    video_stream,
)
from mediakit.smartcut.encoding import PieceDecoder, nal_length_size, unreferenced
from mediakit.smartcut.sound import AudioTrack, plan_sound
from tests.fixtures_exports import (
    BEEP_FRAME,
    FPS,
    LongGopClip,
    audio_samples,
    beep_onsets,
    frame_numbers,
    make_long_gop_clip,
    stripe_numbers,
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
    assert not plan.fallback
    # Copies start on keyframes (10 s, 30 s): the GOP from 10 s to 20 s, packet for packet, and
    # the tails after 20 s and 30 s up to their last I/P frame and the B-frames before it.
    copied = [p for p in plan.pieces if p.copy]
    assert [p.first for p in copied] == [250, 750] and copied[0].count > 250
    # Encoded: the heads (and spans with no keyframe), and at most a tail's last B-frames
    # (the clip has up to three in a row).
    rests = [
        b
        for a, b in itertools.pairwise(plan.pieces)
        if a.copy and not b.copy and b.first == a.first + a.count
    ]
    assert rests and all(p.count <= 3 for p in rests)
    assert sum(p.count for p in plan.pieces) == len(wanted_frames(SPANS))


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


def assert_in_sync(out: Path) -> None:
    numbers = frame_numbers(out)
    onsets = beep_onsets(audio_samples(out))
    # A beep starts with every frame numbered 12 mod 25, wherever the cut put it.
    flashes = [i / FPS for i, n in enumerate(numbers) if n % FPS == BEEP_FRAME]
    assert len(onsets) == len(flashes) >= 20
    for onset, flash in zip(onsets, flashes, strict=True):
        assert abs(onset - flash) < 1 / FPS


def test_sound_is_in_sync_within_a_frame_at_every_join(cut: tuple[Path, SmartCutPlan]) -> None:
    assert_in_sync(cut[0])


def packet_hashes(path: Path) -> list[tuple[int, str]]:
    """(size, MD5) of every audio packet of ``path``."""
    command = ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_data_hash", "md5"]
    command += ["-show_entries", "packet=size,data_hash", "-of", "json", str(path)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return [(int(p["size"]), p["data_hash"]) for p in json.loads(out)["packets"]]


def test_the_sound_is_the_sources_packets(
    long_clip: LongGopClip, cut: tuple[Path, SmartCutPlan]
) -> None:
    # Copied, not encoded again: every packet of the cut is one of the source's, byte for byte
    # (an encoder at another bit rate would not make the beeps' packets again).
    source = {digest for _, digest in packet_hashes(long_clip.path)}
    packets = packet_hashes(cut[0])
    beeps = [digest for size, digest in packets if size > 100]
    assert len(beeps) >= 20 and all(digest in source for _, digest in packets)


@pytest.mark.parametrize("rate", [16000, 8000])
def test_sound_at_low_sample_rates_stays_in_sync(tmp_path: Path, rate: int) -> None:
    # 16 kHz: a packet is 64 ms, copied packets are at most 32 ms off (under a 40 ms frame).
    # 8 kHz: 128 ms, up to 64 ms off: the sound is decoded and encoded again instead.
    clip = make_long_gop_clip(tmp_path / "clip.mp4", [6.2, 13.4, 4.8, 9.0, 2.6], sample_rate=rate)
    out = tmp_path / "cut.mp4"
    smart_cut(clip.path, SPANS, out, tmp_path, lambda f, m: None, has_audio=True)
    assert_in_sync(out)
    source = {digest for _, digest in packet_hashes(clip.path)}
    copied = [digest in source for size, digest in packet_hashes(out) if size > 30]
    assert all(copied) if rate == 16000 else not any(copied)


def test_each_join_picks_the_packet_nearest_the_picture() -> None:
    # Many short spans at 16 kHz: runs of whole 64-ms packets must not drift from the picture.
    step = 1024
    track = AudioTrack("aac", "LC", 16000, 1, [step * (n - 1) for n in range(2000)], [], [])
    rng = random.Random(5)
    spans, at = [], 0.3
    while at < 120:
        length = round(rng.uniform(0.2, 3.0) * FPS) / FPS
        spans.append(Span(at, at + length))
        at = round((at + length + rng.uniform(0.04, 2.0)) * FPS) / FPS
    plan = plan_sound(track, spans, origin=0.0)
    assert plan.primed and plan.runs[0][0] >= 0
    sound = -track.packet_seconds  # the priming packet plays before 0 s
    picture = 0.0
    for span, (first, end) in zip(spans, plan.runs, strict=True):
        # Where the span's first packet plays in the cut against where its picture does.
        offset = (track.seconds(first) - sound) - (span.start - picture)
        assert abs(offset) <= track.packet_seconds / 2 + 1e-9
        sound += (end - first) * track.packet_seconds
        picture += span.duration
    assert plan.worst_offset <= track.packet_seconds / 2 + 1e-9


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


def test_a_source_with_a_dropped_frame_falls_back(tmp_path: Path) -> None:
    # Pieces are laid end to end by frame count: a frame missing from the grid would shift them.
    source = tmp_path / "dropped.mp4"
    picture = "testsrc=s=160x120:r=25:d=4,select='not(eq(n\\,30))'"
    encode = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "25"]
    subprocess.run([*LAVFI, picture, "-vsync", "passthrough", *encode, str(source)], check=True)
    out = tmp_path / "cut.mp4"
    plan = smart_cut(source, [Span(0.5, 2.5)], out, tmp_path, lambda f, m: None, has_audio=False)
    assert plan.fallback == "the source's frame rate varies"
    assert not out.exists()


def test_pieces_of_a_span() -> None:
    keys = [0, 250, 500, 750]
    assert span_pieces(25, 125, keys, 900) == [Piece(False, 25, 100)]  # no keyframe inside
    assert span_pieces(155, 625, keys, 900) == [
        Piece(False, 155, 95),
        Piece(True, 250, 250),
        Piece(False, 500, 125),
    ]
    assert span_pieces(250, 500, keys, 900) == [Piece(True, 250, 250)]  # on keyframes: copied
    assert span_pieces(760, 900, keys, 900) == [Piece(False, 760, 140)]
    assert span_pieces(750, 900, keys, 900) == [Piece(True, 750, 150)]  # runs to the end
    # A keyframe inside but no whole GOP: a head and a tail.
    assert span_pieces(700, 800, keys, 900) == [Piece(False, 700, 50), Piece(False, 750, 50)]


def test_copyable_prefix_ends_after_an_anchor_and_its_b_frames() -> None:
    # Decode order I0 P4 B2 b1 b3 P8 B6 b5 b7 (B-pyramid): copies can end after 1, 5 or 9.
    pyramid = [0, 4, 2, 1, 3, 8, 6, 5, 7]
    assert [copyable_prefix(pyramid[:n], 0) for n in range(1, 10)] == [1, 1, 1, 1, 5, 5, 5, 5, 9]
    assert copyable_prefix([100, 101, 102], 100) == 3  # no B-frames: every frame
    assert copyable_prefix([10, 8, 9, 11], 10) == 1  # an open GOP's leading B-frames: stop
    assert copyable_prefix([], 0) == 0


def test_plan_follows_the_frames(long_clip: LongGopClip) -> None:
    packets = video_packets(long_clip.path)
    plan = plan_smart_cut([Span(9.99, 10.5)], packets, video_stream(long_clip.path))
    # 9.99 s is a quarter frame off 10.0 s: float noise, the span starts on frame 250.
    assert plan.spans == [Span(10.0, 10.52)]
    assert plan.pieces[0].first == 250 and sum(p.count for p in plan.pieces) == 13


def test_plan_copies_whole_gops_and_most_of_each_tail(tmp_path: Path) -> None:
    source = short_gop_clip(tmp_path)
    packets, stream = video_packets(source), video_stream(source)
    spans = [Span(0.5, 3.3), Span(4.2, 9.7)]
    plan = plan_smart_cut(spans, packets, stream)
    keyframes = {round(t * FPS) for t, key in zip(packets.pts, packets.key, strict=True) if key}
    frames = [f for p in plan.pieces for f in range(p.first, p.first + p.count)]
    assert frames == [*range(13, 83), *range(105, 243)]  # every frame once, in order
    assert all(p.first in keyframes for p in plan.pieces if p.copy)
    # Encoded: the heads up to the first keyframe (1 s, 5 s), and each tail's last B-frames.
    encoded = [p for p in plan.pieces if not p.copy]
    assert encoded[0] == Piece(False, 13, 12) and Piece(False, 105, 20) in encoded
    assert sum(p.count for p in encoded) <= 12 + 20 + 2 * 3
    assert sum(p.count for p in plan.pieces if p.copy) >= 50 + 100  # 1-3 s, 5-9 s at least


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
    assert sum(p.copy for p in plan.pieces) == len(spans)  # the GOPs and most of the tail
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


def test_unreferenced_pictures_are_told_by_their_nal_header() -> None:
    avcc = bytes([1, 100, 0, 31, 0xFF])  # version 1, High, level 3.1, 4-byte lengths
    assert nal_length_size(avcc) == 4 and nal_length_size(b"\x00\x00\x00\x01") == 0
    sei = (3).to_bytes(4, "big") + bytes([0x06, 5, 1])  # an SEI first, then the picture
    assert unreferenced(sei + (2).to_bytes(4, "big") + bytes([0x01, 0x9A]), 4)  # B, ref_idc 0
    assert not unreferenced(sei + (2).to_bytes(4, "big") + bytes([0x21, 0x9A]), 4)  # ref_idc 1
    assert not unreferenced((2).to_bytes(4, "big") + bytes([0x65, 0x88]), 4)  # IDR
    assert not unreferenced(bytes([0x01, 0x9A]), 0)  # length size unknown: never skipped


def test_pieces_decode_exactly_without_the_pictures_nothing_needs(long_clip: LongGopClip) -> None:
    # The last 20 frames before the keyframe at 10 s, and 7 frames from 31 s: decoding starts
    # at the keyframes at 0 s and 30 s, and skips the B-frames before the pieces no frame needs.
    decoder = PieceDecoder(long_clip.path, video_packets(long_clip.path).frame_times)
    checked: list[bool] = []
    real = decoder._skippable

    def counted(packet: object) -> bool:
        checked.append(real(packet))
        return checked[-1]

    decoder._skippable = counted  # type: ignore[method-assign]
    try:
        pieces = [Piece(False, 230, 20), Piece(False, 775, 7)]
        frames = [f.to_ndarray(format="rgb24") for p in pieces for f in decoder.frames(p)]
    finally:
        decoder.close()
    assert stripe_numbers(np.stack(frames)) == [*range(230, 250), *range(775, 782)]
    assert sum(checked) >= 100  # of the ~250 pictures before them, the unreferenced B-frames
