"""Making a planned smart cut: few ffmpeg runs, whatever the number of pieces.

- All encoded pieces (heads, tails, short spans) are decoded here and encoded by one ffmpeg
  run (``encoding``) with an IDR frame forced at every piece's first frame. A piece is then the
  part of that file from its IDR frame to the next one.
- All copied middles are one ffmpeg run per batch: one input and one output per piece, packets
  copied with their source timestamps (``-copyts``), so the packet index read before the cut
  says where each starts and nothing is probed.
- The sound's AAC packets are copied (``sound``) where that keeps it within a frame of the
  picture; else the sound of all spans is decoded to one WAV, encoded once at the join.
- The concat demuxer joins the pieces (each from its first frame for exactly its frames'
  duration) and the sound into the MP4; the result is checked to hold the planned frames on an
  unbroken frame grid.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mediakit.cutting import (
    CutError,
    Report,
    Span,
    _concat_entry,
    _run,
)
from mediakit.smartcut.encoders import PieceEncoder
from mediakit.smartcut.encoding import PieceDecoder, feed, raw_input
from mediakit.smartcut.plan import Piece
from mediakit.smartcut.source import Source, packet_index

BATCH = 40  # copied pieces (inputs, each reading the file's index) per ffmpeg run
AUDIO_BATCH = 40  # spans per ffmpeg run when the audio is decoded
FFMPEG = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]


@dataclass(frozen=True)
class Entry:
    """One piece in the join's listing: a file's frames from ``inpoint`` for ``duration``,
    up to (not including) the packet decoded at ``outpoint`` when the file holds more."""

    path: Path
    inpoint: float
    duration: float
    outpoint: float | None = None

    def listing(self) -> str:
        lines = f"{_concat_entry(self.path)}inpoint {self.inpoint:.6f}\n"
        if self.outpoint is not None:
            lines += f"outpoint {self.outpoint:.6f}\n"
        return lines + f"duration {self.duration:.6f}\n"


@dataclass
class Job:
    """One smart cut being made: the source, what it must match, and the scratch folder."""

    path: Path
    source: Source
    delay: int  # the source's B-frame reorder delay, matched by the encoded pieces
    workdir: Path
    encoder: PieceEncoder  # what encodes the pieces (it can match the source)

    @property
    def frame(self) -> float:
        return self.source.stream.frame

    @property
    def times(self) -> list[float]:
        return self.source.packets.frame_times  # as stored, display order

    def timescale(self) -> list[str]:
        return ["-video_track_timescale", str(self.source.stream.time_base.denominator)]


def _offsets(pieces: Sequence[Piece]) -> list[int]:
    """Where each piece starts in the encoded batch, in frames."""
    return [0, *itertools.accumulate(p.count for p in pieces)][:-1]


def encode_pieces(job: Job, pieces: Sequence[Piece], out: Path, report: Report) -> list[Entry]:
    """Encode ``pieces`` into ``out`` in one ffmpeg run; their entries in the join's listing."""
    decoder = PieceDecoder(job.path, job.times)
    try:
        rate = job.source.stream.frame_rate
        command = [*FFMPEG, *raw_input(decoder, f"{rate.numerator}/{rate.denominator}")]
        command += ["-i", "-", "-vf", f"setsar={job.source.stream.sar.replace(':', '/')}"]
        # An IDR frame (closed GOP) at each piece's first frame: each piece decodes on its own.
        keys = "+".join(f"eq(n,{at})" for at in _offsets(pieces))
        command += [*job.encoder.args(job.source.stream, job.delay), "-forced-idr", "1"]
        command += ["-force_key_frames", f"expr:{keys}"]
        feed(decoder, pieces, [*command, *job.timescale(), str(out)], report)
    finally:
        decoder.close()
    return _encoded_entries(out, pieces, job.frame)


def _encoded_entries(path: Path, pieces: Sequence[Piece], frame: float) -> list[Entry]:
    """Each piece of an encoded batch as the span from its IDR frame to the next one's.

    The piece ends before the next IDR frame in decode order: its ``outpoint`` is halfway
    between the decode times of the two packets either side of that frame.
    """
    packets = packet_index(path)
    times = packets.frame_times
    if len(times) != sum(p.count for p in pieces):
        raise CutError(f"Encoding around the cuts made {len(times)} frames instead of the plan's.")
    decode_order = {t: i for i, t in enumerate(packets.pts)}
    entries = []
    for piece, at in zip(pieces, _offsets(pieces), strict=True):
        first = decode_order[times[at]]
        if not packets.key[first]:
            raise CutError("Encoding around the cuts did not start a piece on a keyframe.")
        end = at + piece.count
        outpoint = None
        if end < len(times):
            after = decode_order[times[end]]
            outpoint = (packets.dts[after - 1] + packets.dts[after]) / 2
        entries.append(Entry(path, times[at], piece.count * frame, outpoint))
    return entries


def copy_batch(job: Job, pieces: Sequence[Piece], folder: Path) -> list[Entry]:
    """Copy each piece's GOPs packet for packet into its own file, all in one ffmpeg run."""
    command = [*FFMPEG, "-copyts"]  # the copies keep the source's timestamps
    outputs: list[str] = []
    entries = []
    for i, piece in enumerate(pieces):
        # Closed GOPs: the packets from the keyframe on, in decode order, are exactly the
        # frames. Seeking lands on the keyframe at or before the time: aim a microsecond after.
        at = math.ceil((job.times[piece.first] - job.source.start) * 1e6 + 1) / 1e6
        command += ["-ss", f"{at:.6f}", "-i", str(job.path)]
        out = folder / f"copy{i:05d}.mp4"
        outputs += ["-map", f"{i}:v:0", "-c", "copy", "-frames:v", str(piece.count)]
        outputs += [*job.timescale(), str(out)]
        entries.append(Entry(out, job.times[piece.first], piece.count * job.frame))
    _run(command + outputs, "Copying the scenes")
    return entries


def cut_audio(job: Job, spans: Sequence[Span], out: Path) -> None:
    """The spans' audio, sample-exact, as one WAV (decoded in batches of spans)."""
    origin = min(job.times) - job.source.start
    parts = []
    for b in range(0, len(spans), AUDIO_BATCH):
        batch = spans[b : b + AUDIO_BATCH]
        part = job.workdir / f"audio{b:05d}.wav"
        command = list(FFMPEG)
        for span in batch:
            at = f"{max(0.0, span.start + origin):.6f}"
            command += ["-ss", at, "-t", f"{span.duration:.6f}", "-i", str(job.path)]
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
    command = [*FFMPEG, "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out)]
    _run(command, "Joining sound")


@dataclass(frozen=True)
class Sound:
    """The cut's sound for the join: copied AAC packets (``lead`` seconds of priming to skip)
    or decoded samples to encode."""

    path: Path
    copied: bool
    lead: float = 0.0


def join_command(job: Job, entries: Sequence[Entry], sound: Sound | None) -> list[str]:
    """The ffmpeg command that joins the pieces (and the sound) into MP4, output last."""
    # Each piece from its own first frame, for exactly its frames' duration: the concat
    # demuxer then lays the pieces end to end with no frame overlapping or missing.
    listing = job.workdir / "pieces.txt"
    listing.write_text("".join(e.listing() for e in entries), encoding="utf-8")
    command = [*FFMPEG, "-f", "concat", "-safe", "0", "-i", str(listing)]
    if sound is None:
        command += ["-map", "0:v:0"]
    elif sound.copied:
        # The priming packet before 0 s: the muxer writes the edit list that skips it.
        command += ["-itsoffset", f"{-sound.lead:.6f}", "-i", str(sound.path)]
        command += ["-map", "0:v:0", "-map", "1:a:0", "-c:a", "copy"]
    else:
        command += ["-i", str(sound.path), "-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac"]
        command += ["-b:a", "192k"]
    return [*command, "-c:v", "copy", *job.timescale(), "-movflags", "+faststart"]


def check_frames(path: Path, expected: int, frame: float) -> None:
    """The joined file holds exactly the planned frames, one per frame time (a broken join,
    a piece placed off its time, would not)."""
    times = packet_index(path).frame_times
    if len(times) != expected:
        raise CutError(f"The joined cut holds {len(times)} frames instead of {expected}.")
    steps = [b - a for a, b in itertools.pairwise(times)]
    if any(abs(step - frame) > frame / 4 for step in steps):
        raise CutError("The joined cut does not show its frames at an even rate.")
