"""What a smart cut needs to know about its source: the video stream and its packet index.

One ffprobe run reads both (the packet index only, nothing is decoded), and the answer is kept
for the file as it is on disk, so cutting several storylines of one video probes it once.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from mediakit.cutting import CutError, _run

STREAM_ENTRIES = (
    "codec_name,profile,level,pix_fmt,sample_aspect_ratio,time_base,r_frame_rate,"
    "color_range,color_space,color_transfer,color_primaries"
)


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

    @property
    def frame(self) -> float:
        """Seconds per frame."""
        return float(1 / self.frame_rate) if self.frame_rate else 0.04


@dataclass(frozen=True)
class Packets:
    """The video packets' timestamps (seconds), in decode order, and which are keyframes."""

    pts: list[float]
    dts: list[float]
    key: list[bool]

    @functools.cached_property
    def frame_times(self) -> list[float]:
        """Presentation times in display order (sorted once: every piece looks them up)."""
        return sorted(self.pts)


@dataclass(frozen=True)
class Source:
    """A source video as the smart cut sees it."""

    stream: VideoStream
    packets: Packets
    start: float  # the container's start time: ffmpeg's ``-ss`` counts from it


def _ffprobe(path: Path, *args: str) -> str:
    return _run(["ffprobe", "-v", "error", *args, str(path)], "Reading the video").stdout


def read_source(path: Path) -> Source:
    """The video stream, packet index and start time of ``path`` (one ffprobe per file version).

    Raises:
        CutError: the file is gone, unreadable, or has no video.
    """
    try:
        stat = path.stat()
    except OSError as error:
        raise CutError(f"The video file cannot be read ({error.strerror}).") from error
    return _read_source(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _read_source(path: str, size: int, mtime_ns: int) -> Source:
    # Size and modification time are in the key: a file replaced on disk is read again.
    entries = f"stream={STREAM_ENTRIES}:packet=pts_time,dts_time,flags:format=start_time"
    out = _ffprobe(Path(path), "-select_streams", "v:0", "-show_entries", entries, "-of", "json")
    data = json.loads(out)
    return Source(_stream(data), _packets(data.get("packets") or []), _start(data))


def video_stream(path: Path) -> VideoStream:
    """The first video stream of ``path`` as ffprobe reports it."""
    return read_source(path).stream


def video_packets(path: Path) -> Packets:
    """Timestamps and key flags of every video packet of ``path`` (nothing decoded)."""
    return read_source(path).packets


def packet_index(path: Path) -> Packets:
    """The packet index of a file being made (not cached: it is read once, when complete)."""
    entries = "packet=pts_time,dts_time,flags"
    out = _ffprobe(path, "-select_streams", "v:0", "-show_entries", entries, "-of", "json")
    return _packets(json.loads(out).get("packets") or [])


def _stream(data: dict[str, Any]) -> VideoStream:
    streams = data.get("streams") or []
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


def _packets(rows: list[dict[str, Any]]) -> Packets:
    pts, dts, key = [], [], []
    for row in rows:
        try:
            at, decoded = float(row["pts_time"]), float(row["dts_time"])
        except (KeyError, ValueError):
            continue  # a packet without timestamps cannot be placed
        pts.append(at)
        dts.append(decoded)
        key.append("K" in str(row.get("flags", "")))
    if not pts:
        raise CutError("The video has no picture to cut.")
    return Packets(pts, dts, key)


def _start(data: dict[str, Any]) -> float:
    try:
        return float(data.get("format", {}).get("start_time", 0.0))
    except (TypeError, ValueError):
        return 0.0
