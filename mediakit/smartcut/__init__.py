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

The pieces are encoded with NVENC where the caller prefers it (ffmpeg has it, a GPU is visible)
and it can match the source, else with libx264 (``encoders``); the plan says which made them.
NVENC pieces that fail to encode, or encode but do not join (the joined file is checked), are
made again by libx264.

Modules: ``source`` (the probe, once per file), ``plan`` (the pieces), ``encoders`` (which
encoder can match the source), ``encoding`` (the pieces around the cuts, decoded here and
encoded by one ffmpeg), ``sound`` (the copied AAC packets), ``making`` (the ffmpeg runs: a
few per cut, not one per piece).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from mediakit.cutting import CutError, Report, Span, _run
from mediakit.smartcut.encoders import LIBX264, piece_encoder
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
    "piece_encoder",
    "plan_smart_cut",
    "read_source",
    "smart_cut",
    "span_pieces",
    "video_packets",
    "video_stream",
]
logger = logging.getLogger(__name__)
NOTE_CHARS = 240  # of ffmpeg's words when a GPU encoder failed


def smart_cut(
    source: Path,
    spans: Sequence[Span],
    out: Path,
    workdir: Path,
    report: Report,
    *,
    has_audio: bool,
    encoder: str = "libx264",
) -> SmartCutPlan:
    """Cut ``spans`` of ``source`` into ``out``, re-encoding only around the cuts.

    ``encoder`` is the preferred ffmpeg encoder (``cutting.select_video_encoder``'s choice);
    it encodes the pieces where it can match the source, else libx264 does. Returns the plan
    it followed, with the encoder that made the pieces (and why not the preferred one). When
    ``plan.fallback`` is set the source cannot be matched and nothing was written: the caller
    re-encodes the whole cut (and says why).

    Raises:
        CutError: ffmpeg failed, or the joined file does not hold the frames it should.
    """
    info = read_source(source)
    plan = plan_smart_cut(spans, info.packets, info.stream)
    if plan.fallback:
        return plan
    delay = reorder_delay(info.packets, info.stream.frame)
    choice = piece_encoder(info.stream, delay, encoder)
    plan.encoder_note = choice.note
    job = Job(source, info, delay, workdir, choice.encoder)
    entries = _make_pieces(job, plan, report)
    sound = _make_sound(job, plan.spans) if has_audio else None
    try:
        _join(job, plan, entries, sound, out, report)
    except CutError as error:
        if job.encoder is LIBX264:
            raise
        # A GPU encoder's pieces that encode but do not join (their decode times or frame grid
        # off the copied stream's): the same cut with libx264's pieces, which a plan matches.
        _hand_over(job, plan, error, "did not join")
        entries = _reencode(job, plan, entries, report)
        _join(job, plan, entries, sound, out, report)
    return plan


def _join(
    job: Job,
    plan: SmartCutPlan,
    entries: Sequence[Entry],
    sound: Sound | None,
    out: Path,
    report: Report,
) -> None:
    """Join the pieces and the sound into ``out`` and check it holds the planned frames."""
    report(0.95, "Joining the pieces")
    _run([*join_command(job, entries, sound), str(out)], "Joining the pieces")
    check_frames(out, plan.frames(copy=False) + plan.frames(copy=True), job.frame)


def _hand_over(job: Job, plan: SmartCutPlan, error: CutError, what: str) -> None:
    """The pieces go to libx264 from now on; the plan says why the job's encoder did not."""
    logger.warning("%s pieces %s, encoding with libx264: %s", job.encoder.name, what, error)
    plan.encoder_note = f"{job.encoder.name} {what}: {str(error)[:NOTE_CHARS]}"
    job.encoder = LIBX264
    plan.encoder = LIBX264.name


def _reencode(
    job: Job, plan: SmartCutPlan, entries: Sequence[Entry], report: Report
) -> list[Entry]:
    """``entries`` with the encoded pieces made again by the job's (now libx264) encoder; the
    copied middles are kept."""
    encoded = [n for n, p in enumerate(plan.pieces) if not p.copy]
    out = job.workdir / f"encoded-{job.encoder.name}.mp4"
    made = encode_pieces(job, [plan.pieces[n] for n in encoded], out, report)
    again = list(entries)
    for n, entry in zip(encoded, made, strict=True):
        again[n] = entry
    return again


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


def _make_pieces(job: Job, plan: SmartCutPlan, report: Report) -> list[Entry]:
    """The pieces' entries in the join's listing, in cut order: encoded ones, then copies."""
    pieces = plan.pieces
    made: dict[int, Entry] = {}
    encoded = [n for n, p in enumerate(pieces) if not p.copy]
    if encoded:

        def sub(fraction: float, message: str) -> None:
            report(0.9 * fraction, message)

        entries = _encode(job, plan, [pieces[n] for n in encoded], sub)
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


def _encode(job: Job, plan: SmartCutPlan, pieces: Sequence[Piece], report: Report) -> list[Entry]:
    """Encode the pieces with the job's encoder; a GPU encoder that fails (no free session, a
    driver it cannot load) hands over to libx264, which matches any source a plan accepts."""
    out = job.workdir / "encoded.mp4"
    try:
        entries = encode_pieces(job, pieces, out, report)
    except CutError as error:
        if job.encoder is LIBX264:
            raise
        _hand_over(job, plan, error, "failed")
        entries = encode_pieces(job, pieces, out, report)
    plan.encoder = job.encoder.name
    return entries
