"""Smart cut: frame-accurate cuts that re-encode only around the cuts and copy everything else.

As Premiere's smart rendering and LosslessCut's smart cut do: each span's frames from its first
frame up to the next keyframe are re-encoded (the "head"), the whole GOPs after it are copied
packet for packet (the "middle"), and from the last keyframe before the span's end to that end
is the "tail": its packets are copied in decode order up to its last I/P frame and the B-frames
shown before it (they need nothing later), and only the few B-frames after that are re-encoded.
The pieces are joined by ffmpeg's concat demuxer into one MP4.

For the joined file to play everywhere and seek cleanly, the re-encoded pieces match the copied
stream: codec, profile, level, pixel format, time base, sample aspect ratio, colour tags and the
B-frame reorder delay (so decode timestamps stay monotonic across every join). Where that is not
possible here (not H.264, a profile or pixel format libx264 cannot make, a reorder delay beyond
two frames, open GOPs, a varying frame rate), ``plan_smart_cut`` says why and the caller
re-encodes the whole cut.

The sound's AAC packets are copied, each span's from the packet nearest its picture (``sound``):
within half a packet of the picture at every join. Where that would be more than a frame off
(or the sound is not AAC-LC in MP4), the sound is decoded span by span to the exact video times
and encoded once (AAC; the encoder's priming is written as an MP4 edit list).

Modules: ``source`` (the probe, once per file), ``plan`` (the pieces), ``encoding`` (the
pieces around the cuts, decoded here and encoded by one ffmpeg), ``sound`` (the copied AAC
packets), ``making`` (the ffmpeg runs: a few per cut, not one per piece).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mediakit.cutting import Report, Span, _run
from mediakit.smartcut.making import (
    BATCH,
    Entry,
    Job,
    Sound,
    check_frames,
    copy_batch,
    cut_audio,
    encode_pieces,
    join_command,
)
from mediakit.smartcut.plan import (
    Piece,
    SmartCutPlan,
    copyable_prefix,
    plan_smart_cut,
    reorder_delay,
    span_pieces,
)
from mediakit.smartcut.sound import copy_problem, plan_sound, read_audio, write_sound
from mediakit.smartcut.source import (
    Packets,
    Source,
    VideoStream,
    read_source,
    video_packets,
    video_stream,
)

__all__ = [
    "Packets",
    "Piece",
    "SmartCutPlan",
    "Source",
    "VideoStream",
    "copyable_prefix",
    "plan_smart_cut",
    "read_source",
    "smart_cut",
    "span_pieces",
    "video_packets",
    "video_stream",
]


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
    info = read_source(source)
    plan = plan_smart_cut(spans, info.packets, info.stream)
    if plan.fallback:
        return plan
    job = Job(source, info, reorder_delay(info.packets, info.stream.frame), workdir)
    entries = _make_pieces(job, plan.pieces, report)
    sound = _make_sound(job, plan.spans) if has_audio else None
    report(0.95, "Joining the pieces")
    _run([*join_command(job, entries, sound), str(out)], "Joining the pieces")
    check_frames(out, plan.frames(copy=False) + plan.frames(copy=True), job.frame)
    return plan


def _make_sound(job: Job, spans: Sequence[Span]) -> Sound | None:
    """The spans' sound: its packets copied where that stays within a frame, else decoded."""
    track = read_audio(job.path)
    if track is None:
        return None
    if not copy_problem(track, job.frame):
        plan = plan_sound(track, spans, min(job.times))
        path = job.workdir / "sound.aac"
        write_sound(job.path, track, plan, path)
        return Sound(path, copied=True, lead=track.packet_seconds if plan.primed else 0.0)
    path = job.workdir / "audio.wav"
    cut_audio(job, spans, path)
    return Sound(path, copied=False)


def _make_pieces(job: Job, pieces: Sequence[Piece], report: Report) -> list[Entry]:
    """The pieces' entries in the join's listing, in cut order: encoded ones, then copies."""
    made: dict[int, Entry] = {}
    encoded = [n for n, p in enumerate(pieces) if not p.copy]
    if encoded:

        def sub(fraction: float, message: str) -> None:
            report(0.9 * fraction, message)

        out = job.workdir / "encoded.mp4"
        entries = encode_pieces(job, [pieces[n] for n in encoded], out, sub)
        made.update(zip(encoded, entries, strict=True))
    copied = [n for n, p in enumerate(pieces) if p.copy]
    for b in range(0, len(copied), BATCH):
        numbers = copied[b : b + BATCH]
        folder = job.workdir / f"copied{b:05d}"
        folder.mkdir(exist_ok=True)
        made.update(
            zip(numbers, copy_batch(job, [pieces[n] for n in numbers], folder), strict=True)
        )
    report(0.9, f"Cut {len(pieces)} pieces")
    return [made[n] for n in range(len(pieces))]
