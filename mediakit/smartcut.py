"""Smart cut: frame-accurate cuts that re-encode only around the cuts and copy everything else.

As Premiere's smart rendering and LosslessCut's smart cut do: each span's frames from its first
frame up to the next keyframe are re-encoded (the "head"), the whole GOPs after it are copied
packet for packet (the "middle"), and from the last keyframe before the span's end to that end
is re-encoded again (the "tail") unless the end falls on a keyframe. The pieces are joined by
ffmpeg's concat demuxer into one MP4.

For the joined file to play everywhere and seek cleanly, the re-encoded pieces match the copied
stream: codec, profile, level, pixel format, time base, sample aspect ratio, colour tags and the
B-frame reorder delay (so decode timestamps stay monotonic across every join). Where that is not
possible here (not H.264, a profile or pixel format libx264 cannot make, a reorder delay beyond
two frames, open GOPs), ``plan_smart_cut`` says why and the caller re-encodes the whole cut.

The audio is decoded span by span to the exact video times and encoded once (AAC; the encoder's
priming is written as an MP4 edit list), so it is in sync at every join by construction.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from mediakit.cutting import (
    CutError,
    Report,
    Span,
    _concat_entry,
    _run,
    _run_with_progress,
    merge_spans,
)

# libx264 can make these profiles (8-bit 4:2:0) and so match a copied stream made with them.
PROFILES = {
    "Constrained Baseline": "baseline",
    "Baseline": "baseline",
    "Main": "main",
    "High": "high",
}
PIXEL_FORMATS = ("yuv420p", "yuvj420p")
AUDIO_BATCH = 40  # spans per ffmpeg run when the audio is decoded
QUALITY = ["-preset", "veryfast", "-crf", "16"]  # the heads and tails are short: spend bits
# A copied middle splits its span into three pieces, each an ffmpeg and an ffprobe process that
# seeks and decodes from a keyframe. Below about two 2-second GOPs that overhead costs more than
# encoding the middle, so such a span is re-encoded whole, as one piece.
MIN_COPY_SECONDS = 4.0


@dataclass(frozen=True)
class VideoStream:
    """What the re-encoded pieces must match, as ffprobe reports the source's video stream."""

    codec: str
    profile: str
    level: int
    pix_fmt: str
    sar: str
    time_base: Fraction
    frame_rate: Fraction
    color_range: str | None
    color_space: str | None
    color_transfer: str | None
    color_primaries: str | None


@dataclass(frozen=True)
class Piece:
    """Frames ``first`` to ``first + count - 1`` (display order) of the source, encoded or
    copied."""

    copy: bool
    first: int
    count: int


@dataclass
class SmartCutPlan:
    """The pieces of a smart cut, or why the source cannot be smart-cut (``fallback``)."""

    spans: list[Span]  # the spans snapped to frame times
    pieces: list[Piece] = field(default_factory=list)
    fallback: str = ""


@dataclass(frozen=True)
class Packets:
    """The video packets' timestamps (seconds), in decode order, and which are keyframes."""

    pts: list[float]
    dts: list[float]
    key: list[bool]

    @property
    def frame_times(self) -> list[float]:
        return sorted(self.pts)


# --- Reading the source -----------------------------------------------------------------------


def _ffprobe(path: Path, *args: str) -> str:
    return _run(["ffprobe", "-v", "error", *args, str(path)], "Reading the video").stdout


def video_stream(path: Path) -> VideoStream:
    """The first video stream of ``path`` as ffprobe reports it."""
    entries = (
        "stream=codec_name,profile,level,pix_fmt,sample_aspect_ratio,time_base,r_frame_rate,"
        "color_range,color_space,color_transfer,color_primaries"
    )
    out = _ffprobe(path, "-select_streams", "v:0", "-show_entries", entries, "-of", "json")
    streams = json.loads(out).get("streams") or []
    if not streams:
        raise CutError("The video has no picture to cut.")
    s = streams[0]

    def tag(name: str) -> str | None:
        value = s.get(name)
        return None if value in (None, "", "unknown") else str(value)

    return VideoStream(
        codec=str(s.get("codec_name", "")),
        profile=str(s.get("profile", "")),
        level=int(s.get("level") or 0),
        pix_fmt=str(s.get("pix_fmt", "")),
        sar=str(s.get("sample_aspect_ratio") or "1:1"),
        time_base=Fraction(str(s.get("time_base", "1/90000"))),
        frame_rate=Fraction(str(s.get("r_frame_rate", "25/1"))),
        color_range=tag("color_range"),
        color_space=tag("color_space"),
        color_transfer=tag("color_transfer"),
        color_primaries=tag("color_primaries"),
    )


def video_packets(path: Path) -> Packets:
    """Timestamps and key flags of every video packet (the packet index; nothing decoded)."""
    entries = "packet=pts_time,dts_time,flags"
    out = _ffprobe(path, "-select_streams", "v:0", "-show_entries", entries, "-of", "csv=p=0")
    pts, dts, key = [], [], []
    for line in out.splitlines():
        parts = line.split(",")
        if len(parts) < 3 or "N/A" in parts[:2]:
            continue
        pts.append(float(parts[0]))
        dts.append(float(parts[1]))
        key.append("K" in parts[2])
    if not pts:
        raise CutError("The video has no picture to cut.")
    return Packets(pts, dts, key)


def format_start(path: Path) -> float:
    """The container's start time: ffmpeg's ``-ss`` counts from it."""
    out = _ffprobe(path, "-show_entries", "format=start_time", "-of", "csv=p=0").strip()
    try:
        return float(out)
    except ValueError:
        return 0.0


# --- Planning -----------------------------------------------------------------------------------


def reorder_delay(packets: Packets, frame: float) -> int:
    """Frames between a packet's decode and presentation time (0 without B-frames)."""
    return max(0, round((packets.pts[0] - packets.dts[0]) / frame))


def closed_keyframes(packets: Packets) -> set[float]:
    """Times of keyframes that start a closed GOP: no packet decoded after one shows earlier.

    Only those can start a copied piece (an open GOP's leading B-frames need the frames of the
    GOP before it).
    """
    result = set()
    for i, is_key in enumerate(packets.key):
        if not is_key:
            continue
        later = packets.pts[i + 1 : i + 8]  # leading pictures follow within a few packets
        if all(t > packets.pts[i] for t in later):
            result.add(packets.pts[i])
    return result


def match_problem(stream: VideoStream, delay: int) -> str:
    """Why re-encoded pieces cannot match the stream here; empty when they can."""
    if stream.codec != "h264":
        return f"the source is {stream.codec or 'an unknown codec'}, smart cut matches only H.264"
    if stream.profile not in PROFILES:
        return f"libx264 here cannot make the source's H.264 profile ({stream.profile})"
    if stream.pix_fmt not in PIXEL_FORMATS:
        return f"libx264 here cannot make the source's pixel format ({stream.pix_fmt})"
    if delay > 2 or (PROFILES[stream.profile] == "baseline" and delay):
        return f"the source's B-frame delay ({delay} frames) cannot be matched"
    return ""


def frames_of(span: Span, times: Sequence[float], frame: float) -> tuple[int, int]:
    """``(first, end)`` indices of the frames shown in ``span`` (times from the first frame)."""
    slack = frame / 4  # scene times are frame times give or take float noise
    first = bisect.bisect_left(times, span.start - slack)
    end = bisect.bisect_left(times, span.end - slack)
    return first, end


def span_pieces(
    first: int, end: int, keys: Sequence[int], total: int, min_copy: int = 1
) -> list[Piece]:
    """Head (encoded), middle (copied GOPs) and tail (encoded) of frames ``first:end``.

    ``keys`` are the indices of closed-GOP keyframes, sorted. A copied middle runs from the
    first keyframe in the span to the last GOP boundary at or before its end (a keyframe, or
    the end of the video). A middle shorter than ``min_copy`` frames is not worth its extra
    pieces: the span is then one encoded piece.
    """
    at = bisect.bisect_left(keys, first)
    if at == len(keys) or keys[at] >= end:
        return [Piece(False, first, end - first)]
    start = keys[at]
    bounds = [k for k in keys[at + 1 :] if k <= end] + ([total] if end == total else [])
    stop = bounds[-1] if bounds else start
    if stop - start < min_copy:
        return [Piece(False, first, end - first)]
    pieces = [Piece(False, first, start - first)] if start > first else []
    if stop > start:
        pieces.append(Piece(True, start, stop - start))
    if end > stop:
        pieces.append(Piece(False, stop, end - stop))
    return pieces


def plan_smart_cut(
    spans: Sequence[Span], packets: Packets, stream: VideoStream, *, allow_copy: bool = True
) -> SmartCutPlan:
    """The pieces of a smart cut of ``spans`` (seconds from the first frame)."""
    frame = float(1 / stream.frame_rate) if stream.frame_rate else 0.04
    origin = min(packets.pts)
    times = [t - origin for t in packets.frame_times]
    closed = closed_keyframes(packets)
    keys = [i for i, t in enumerate(packets.frame_times) if t in closed]
    plan = SmartCutPlan(spans=[])
    problem = match_problem(stream, reorder_delay(packets, frame))
    min_copy = max(1, round(MIN_COPY_SECONDS / frame))
    for span in merge_spans(spans):
        first, end = frames_of(span, times, frame)
        if end <= first:
            continue
        last = times[end] if end < len(times) else times[-1] + frame
        plan.spans.append(Span(times[first], last))
        if problem or not allow_copy:
            plan.pieces.append(Piece(False, first, end - first))
        else:
            plan.pieces += span_pieces(first, end, keys, len(times), min_copy)
    plan.fallback = problem
    if not plan.spans:
        raise CutError("The spans hold no frame of the video.")
    return plan


# --- Making the pieces ----------------------------------------------------------------------


def match_args(stream: VideoStream, delay: int) -> list[str]:
    """libx264 options that make pieces joinable with the copied stream."""
    args = ["-c:v", "libx264", *QUALITY, "-profile:v", PROFILES[stream.profile]]
    if stream.level:
        args += ["-level", f"{stream.level / 10:.1f}"]
    args += ["-pix_fmt", stream.pix_fmt]
    bframes = {0: ["-bf", "0"], 1: ["-bf", "2", "-x264-params", "b-pyramid=none"]}
    args += bframes.get(delay, ["-bf", "3", "-x264-params", "b-pyramid=normal"])
    for option, value in (
        ("-color_range", stream.color_range),
        ("-colorspace", stream.color_space),
        ("-color_trc", stream.color_transfer),
        ("-color_primaries", stream.color_primaries),
    ):
        if value:
            args += [option, value]
    return args


def _seek(times: Sequence[float], index: int, start: float, frame: float) -> str:
    """``-ss`` for frame ``index``: a quarter frame early, so accurate seeking keeps it."""
    return f"{max(0.0, times[index] - start - frame / 4):.6f}"


@dataclass
class _Job:
    source: Path
    stream: VideoStream
    times: list[float]  # frame times as stored (display order)
    start: float  # the container's start time
    frame: float
    delay: int
    workdir: Path

    def timescale(self) -> list[str]:
        return ["-video_track_timescale", str(self.stream.time_base.denominator)]

    def encode(self, piece: Piece, out: Path, report: Report) -> None:
        sar = self.stream.sar.replace(":", "/")
        command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
        command += ["-ss", _seek(self.times, piece.first, self.start, self.frame)]
        command += ["-i", str(self.source), "-map", "0:v:0", "-an", "-sn", "-dn"]
        command += ["-frames:v", str(piece.count), "-vf", f"setsar={sar}"]
        command += [*match_args(self.stream, self.delay), *self.timescale(), str(out)]
        _run_with_progress(command, piece.count * self.frame, report, "Encoding around a cut")

    def copy(self, piece: Piece, out: Path) -> None:
        # Closed GOPs: the packets from the keyframe on, in decode order, are exactly the frames.
        # Seeking lands on the keyframe at or before the time: aim a microsecond after it.
        at = f"{math.ceil((self.times[piece.first] - self.start) * 1e6 + 1) / 1e6:.6f}"
        command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-ss", at]
        command += ["-i", str(self.source), "-map", "0:v:0", "-c", "copy"]
        command += ["-frames:v", str(piece.count), *self.timescale(), str(out)]
        _run(command, "Copying the scenes")


def first_frame_time(path: Path) -> float:
    """Presentation time of a piece's first frame (muxers may start it a little off zero)."""
    head = ["-select_streams", "v:0", "-read_intervals", "%+#16"]
    out = _ffprobe(path, *head, "-show_entries", "packet=pts_time", "-of", "csv=p=0")
    times = [float(t) for t in out.split() if t not in ("", "N/A")]
    return min(times) if times else 0.0


def _make_pieces(job: _Job, pieces: Sequence[Piece], report: Report) -> list[Path]:
    weights = [p.count * (0.05 if p.copy else 1.0) for p in pieces]  # encoding costs the time
    total, done, paths = sum(weights) or 1.0, 0.0, []
    for n, (piece, weight) in enumerate(zip(pieces, weights, strict=True)):
        out = job.workdir / f"piece{n:05d}.mp4"

        def sub(fraction: float, message: str, done: float = done, weight: float = weight) -> None:
            report(0.9 * (done + fraction * weight) / total, message)

        if piece.copy:
            job.copy(piece, out)
        else:
            job.encode(piece, out, sub)
        done += weight
        report(0.9 * done / total, f"Cut piece {n + 1} of {len(pieces)}")
        paths.append(out)
    return paths


def _audio(job: _Job, spans: Sequence[Span], out: Path) -> None:
    """The spans' audio, sample-exact, as one WAV (decoded in batches of spans)."""
    parts = []
    for b in range(0, len(spans), AUDIO_BATCH):
        batch = spans[b : b + AUDIO_BATCH]
        part = job.workdir / f"audio{b:05d}.wav"
        command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
        for span in batch:
            at = f"{max(0.0, span.start + min(job.times) - job.start):.6f}"
            command += ["-ss", at, "-t", f"{span.duration:.6f}", "-i", str(job.source)]
        pads = "".join(f"[{i}:a:0]" for i in range(len(batch)))
        graph = f"{pads}concat=n={len(batch)}:v=0:a=1[a]"
        command += ["-filter_complex", graph, "-map", "[a]", "-c:a", "pcm_s16le", str(part)]
        _run(command, "Cutting the sound")
        parts.append(part)
    if len(parts) == 1:
        parts[0].rename(out)
        return
    listing = job.workdir / "audio.txt"
    listing.write_text("".join(_concat_entry(p) for p in parts), encoding="utf-8")
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat"]
    _run([*command, "-safe", "0", "-i", str(listing), "-c", "copy", str(out)], "Joining sound")


def _join(
    job: _Job, pieces: Sequence[Piece], paths: Sequence[Path], audio: Path | None
) -> list[str]:
    """The concat demuxer's listing and the ffmpeg command that joins the pieces into MP4."""
    # Each piece from its own first frame, for exactly its frames' duration: the concat
    # demuxer then lays the pieces end to end with no frame overlapping or missing.
    listing = job.workdir / "pieces.txt"
    listing.write_text(
        "".join(
            f"{_concat_entry(path)}inpoint {first_frame_time(path):.6f}\n"
            f"duration {piece.count * job.frame:.6f}\n"
            for piece, path in zip(pieces, paths, strict=True)
        ),
        encoding="utf-8",
    )
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0"]
    command += ["-i", str(listing)]
    if audio is not None:
        command += ["-i", str(audio), "-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac"]
        command += ["-b:a", "192k"]
    else:
        command += ["-map", "0:v:0"]
    return [*command, "-c:v", "copy", *job.timescale(), "-movflags", "+faststart"]


def smart_cut(
    source: Path,
    spans: Sequence[Span],
    out: Path,
    workdir: Path,
    report: Report,
    *,
    has_audio: bool,
) -> SmartCutPlan:
    """Cut ``spans`` of ``source`` into ``out``, re-encoding only around the cuts.

    Returns the plan it followed. When ``plan.fallback`` is set the source cannot be matched
    and nothing was written: the caller re-encodes the whole cut (and says why).

    Raises:
        CutError: ffmpeg failed, or the joined file does not hold the frames it should.
    """
    stream, packets = video_stream(source), video_packets(source)
    plan = plan_smart_cut(spans, packets, stream)
    if plan.fallback:
        return plan
    frame = float(1 / stream.frame_rate)
    job = _Job(
        source,
        stream,
        packets.frame_times,
        format_start(source),
        frame,
        reorder_delay(packets, frame),
        workdir,
    )
    paths = _make_pieces(job, plan.pieces, report)
    audio = None
    if has_audio:
        audio = workdir / "audio.wav"
        _audio(job, plan.spans, audio)
    report(0.95, "Joining the pieces")
    _run([*_join(job, plan.pieces, paths, audio), str(out)], "Joining the pieces")
    _check_frames(out, sum(p.count for p in plan.pieces))
    return plan


def _check_frames(path: Path, expected: int) -> None:
    """The joined file holds exactly the planned frames (a broken join would not)."""
    count = ["-select_streams", "v:0", "-count_packets", "-show_entries", "stream=nb_read_packets"]
    out = _ffprobe(path, *count, "-of", "csv=p=0").strip()
    if not out.isdigit() or int(out) != expected:
        raise CutError(f"The joined cut holds {out or 'no'} frames instead of {expected}.")
