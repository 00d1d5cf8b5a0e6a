"""The sound of a smart cut, copied packet for packet where that keeps it in sync.

An AAC packet holds 1024 samples (21 ms at 48 kHz, 64 ms at 16 kHz). A cut of copied packets
starts each span's sound on the packet nearest to where that span's picture starts in the cut,
so the sound is never more than half a packet off its picture at any join. That is within one
frame whenever half a packet is shorter than a frame; otherwise (or for other codecs, or a track
with gaps) the sound is decoded and encoded again (``making.cut_audio``).

Each span's run of packets is as long as its picture, give or take half a packet, so the runs
do not drift apart over many joins: the choice at each join is made against where the sound
really is in the cut. The packet before the first run is copied too and marked as the
encoder's priming (an MP4 edit list skips it), so the first sound decodes as in the source;
at the other joins the decoder blends one packet of the two sides, a 20-60 ms crossfade.

The packets are read straight from the file (offsets from ffprobe's packet index) and written
as ADTS, the muxer turns them back into MP4 samples.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediakit.cutting import Span
from mediakit.smartcut.source import _ffprobe

FRAME_SAMPLES = 1024  # AAC-LC samples per packet
# ADTS sampling-frequency index (ISO/IEC 14496-3, 1.6.3.4).
RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
OBJECT_TYPES = {"LC": 2}  # ffprobe's profile name -> MPEG-4 audio object type


@dataclass(frozen=True)
class AudioTrack:
    """A source's first audio stream and its packets (decode order, sample timestamps)."""

    codec: str
    profile: str
    sample_rate: int
    channels: int
    pts: list[int]  # in samples (the stream's time base is 1 / sample rate for AAC in MP4)
    pos: list[int]  # byte offsets in the file
    size: list[int]

    @property
    def packet_seconds(self) -> float:
        return FRAME_SAMPLES / self.sample_rate

    def seconds(self, index: int) -> float:
        return self.pts[index] / self.sample_rate


@dataclass(frozen=True)
class SoundPlan:
    """Runs of packets to copy, ``[first, end)`` each, and whether the first is priming."""

    runs: list[tuple[int, int]]
    primed: bool
    worst_offset: float  # seconds: the largest sound-to-picture offset at any join


def read_audio(path: Path) -> AudioTrack | None:
    """The first audio stream of ``path`` and its packet index; None without sound."""
    stat = path.stat()
    return _read_audio(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _read_audio(path: str, size: int, mtime_ns: int) -> AudioTrack | None:
    entries = "stream=codec_name,profile,sample_rate,channels,time_base:packet=pts,pos,size"
    entries += ":format=format_name"
    out = _ffprobe(Path(path), "-select_streams", "a:0", "-show_entries", entries, "-of", "json")
    data = json.loads(out)
    streams = data.get("streams") or []
    if not streams:
        return None
    mp4 = "mp4" in str(data.get("format", {}).get("format_name", ""))
    return _track(streams[0], data.get("packets") or [] if mp4 else [])


def _track(stream: dict[str, Any], rows: list[dict[str, Any]]) -> AudioTrack:
    """The track; without packets (so not copied) unless each packet is a raw AAC frame at a
    known place in an MP4 file with timestamps in samples."""
    rate = int(stream.get("sample_rate") or 0)
    pts, pos, size = [], [], []
    if stream.get("time_base") == f"1/{rate}":
        for row in rows:
            try:
                pts.append(int(row["pts"]))
                pos.append(int(row["pos"]))
                size.append(int(row["size"]))
            except (KeyError, ValueError):  # a packet that cannot be placed: none copied
                pts, pos, size = [], [], []
                break
    return AudioTrack(
        codec=str(stream.get("codec_name", "")),
        profile=str(stream.get("profile", "")),
        sample_rate=rate,
        channels=int(stream.get("channels") or 0),
        pts=pts,
        pos=pos,
        size=size,
    )


def copy_problem(track: AudioTrack, frame: float) -> str:
    """Why the track's packets cannot be copied in sync; empty when they can."""
    if track.codec != "aac" or track.profile not in OBJECT_TYPES:
        return f"the sound is {track.codec} {track.profile}, only AAC-LC is copied"
    if track.sample_rate not in RATES or not 1 <= track.channels <= 6 or not track.pts:
        return "the sound's sample rate, channels or packets cannot be copied"
    if track.packet_seconds / 2 >= frame:
        return "half a sound packet is longer than a frame"
    steps = {b - a for a, b in zip(track.pts, track.pts[1:], strict=False)}
    if steps - {FRAME_SAMPLES}:
        return "the sound has gaps"
    return ""


def plan_sound(track: AudioTrack, spans: Sequence[Span], origin: float) -> SoundPlan:
    """The runs of packets for ``spans`` (seconds from the first frame, which is at ``origin``
    in the source's time)."""
    step = track.packet_seconds
    first = track.seconds(0)
    runs, picture, sound, worst = [], 0.0, 0.0, 0.0
    for span in spans:
        # Where this span's sound must start in the source for it to play at ``sound``.
        target = origin + span.start + (sound - picture)
        start = min(max(round((target - first) / step), 0), len(track.pts) - 1)
        worst = max(worst, abs(track.seconds(start) - target))
        picture += span.duration
        count = max(1, round((picture - sound) / step))
        end = min(start + count, len(track.pts))
        runs.append((start, end))
        sound += (end - start) * step
    primed = runs[0][0] > 0
    if primed:
        runs[0] = (runs[0][0] - 1, runs[0][1])
    return SoundPlan(runs, primed, worst)


def adts_header(track: AudioTrack, size: int) -> bytes:
    """The 7-byte ADTS header of a raw AAC packet of ``size`` bytes."""
    length = size + 7
    profile = OBJECT_TYPES[track.profile] - 1
    rate = RATES.index(track.sample_rate)
    channels = track.channels  # 1-6: the channel configuration is the count
    return bytes(
        [
            0xFF,
            0xF1,  # MPEG-4, layer 0, no CRC
            (profile << 6) | (rate << 2) | (channels >> 2),
            ((channels & 3) << 6) | (length >> 11),
            (length >> 3) & 0xFF,
            ((length & 7) << 5) | 0x1F,  # buffer fullness 0x7FF: variable bit rate
            0xFC,
        ]
    )


def write_sound(source: Path, track: AudioTrack, plan: SoundPlan, out: Path) -> None:
    """The planned runs of packets of ``source`` as one ADTS file."""
    with source.open("rb") as src, out.open("wb") as dst:
        for start, end in plan.runs:
            for n in range(start, end):
                src.seek(track.pos[n])
                data = src.read(track.size[n])
                dst.write(adts_header(track, len(data)) + data)
