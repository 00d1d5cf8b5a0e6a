"""Planning a smart cut: which frames of each span are re-encoded and which GOPs are copied."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from mediakit.cutting import CutError, Span, merge_spans
from mediakit.smartcut.encoders import LIBX264
from mediakit.smartcut.source import Packets, VideoStream


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
    encoder: str = ""  # the ffmpeg encoder that made the encoded pieces, once made
    encoder_note: str = ""  # why the preferred encoder did not make them (empty: it did)

    def frames(self, copy: bool) -> int:
        """Frames the plan copies (``copy``) or encodes."""
        return sum(p.count for p in self.pieces if p.copy == copy)


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
    """Why re-encoded pieces cannot match the stream here; empty when they can. libx264 is
    the floor: a GPU encoder makes the pieces only where it can match too (``encoders``)."""
    return LIBX264.problem(stream, delay)


def rate_problem(times: Sequence[float], frame: float) -> str:
    """Why the frames are not on one constant-rate grid (pieces are laid out by frame count)."""
    steps = (b - a for a, b in itertools.pairwise(times))
    if any(abs(step - frame) > frame / 4 for step in steps):
        return "the source's frame rate varies"
    return ""


def frames_of(span: Span, times: Sequence[float], frame: float) -> tuple[int, int]:
    """``(first, end)`` indices of the frames shown in ``span`` (times from the first frame)."""
    slack = frame / 4  # scene times are frame times give or take float noise
    first = bisect.bisect_left(times, span.start - slack)
    end = bisect.bisect_left(times, span.end - slack)
    return first, end


def span_pieces(first: int, end: int, keys: Sequence[int], total: int) -> list[Piece]:
    """Head (encoded), middle (copied GOPs) and tail (encoded) of frames ``first:end``.

    ``keys`` are the indices of closed-GOP keyframes, sorted. A copied middle runs from the
    first keyframe in the span to the last GOP boundary at or before its end (a keyframe, or
    the end of the video); the tail runs from there to the span's end (``copyable_prefix``
    then copies most of it). A span with no keyframe inside is one encoded piece.
    """
    at = bisect.bisect_left(keys, first)
    if at == len(keys) or keys[at] >= end:
        return [Piece(False, first, end - first)]
    start = keys[at]
    bounds = [k for k in keys[at + 1 :] if k <= end] + ([total] if end == total else [])
    stop = bounds[-1] if bounds else start
    pieces = [Piece(False, first, start - first)] if start > first else []
    if stop > start:
        pieces.append(Piece(True, start, stop - start))
    if end > stop:
        pieces.append(Piece(False, stop, end - stop))
    return pieces


def copyable_prefix(shown: Sequence[int], first: int) -> int:
    """How many frames from closed keyframe ``first`` a copy of its GOP's first packets holds.

    ``shown`` is the frame (display index) of each packet from the keyframe on, in decode
    order. Copying the first ``m`` packets needs nothing after them, and shows the right frames
    when those packets are exactly frames ``first`` to ``first + m - 1``: after each I/P frame
    and the B-frames shown before it. So a tail is copied up to its last such point and only
    the few B-frames after it are encoded.
    """
    best, highest = 0, first - 1
    for n, index in enumerate(shown, start=1):
        if index < first:  # a frame shown before the keyframe (an open GOP): stop here
            break
        highest = max(highest, index)
        if highest == first + n - 1:
            best = n
    return best


def copy_tails(pieces: Sequence[Piece], packets: Packets, keys: Sequence[int]) -> list[Piece]:
    """The pieces with every encoded piece that starts on a closed keyframe copied as far as
    ``copyable_prefix`` allows, and copied pieces that follow each other joined."""
    times = packets.frame_times
    display = {t: i for i, t in enumerate(times)}
    decoded = {t: i for i, t in enumerate(packets.pts)}
    closed = set(keys)
    split: list[Piece] = []
    for piece in pieces:
        copied = 0
        if not piece.copy and piece.first in closed:
            start = decoded[times[piece.first]]
            shown = [display[t] for t in packets.pts[start : start + piece.count]]
            copied = copyable_prefix(shown, piece.first)
        if copied:
            split.append(Piece(True, piece.first, copied))
        if piece.count > copied:
            split.append(Piece(piece.copy, piece.first + copied, piece.count - copied))
    return _join_copies(split)


def _join_copies(pieces: Sequence[Piece]) -> list[Piece]:
    """Copied pieces that follow each other in the source as one (one run of packets)."""
    joined: list[Piece] = []
    for piece in pieces:
        last = joined[-1] if joined else None
        if last and last.copy and piece.copy and last.first + last.count == piece.first:
            joined[-1] = Piece(True, last.first, last.count + piece.count)
        else:
            joined.append(piece)
    return joined


def plan_smart_cut(
    spans: Sequence[Span],
    packets: Packets,
    stream: VideoStream,
    *,
    allow_copy: bool = True,
) -> SmartCutPlan:
    """The pieces of a smart cut of ``spans`` (seconds from the first frame)."""
    frame = stream.frame
    origin = min(packets.pts)
    times = [t - origin for t in packets.frame_times]
    closed = closed_keyframes(packets)
    keys = [i for i, t in enumerate(packets.frame_times) if t in closed]
    plan = SmartCutPlan(spans=[])
    problem = match_problem(stream, reorder_delay(packets, frame)) or rate_problem(times, frame)
    for span in merge_spans(spans):
        first, end = frames_of(span, times, frame)
        if end <= first:
            continue
        last = times[end] if end < len(times) else times[-1] + frame
        plan.spans.append(Span(times[first], last))
        if problem or not allow_copy:
            plan.pieces.append(Piece(False, first, end - first))
        else:
            plan.pieces += copy_tails(span_pieces(first, end, keys, len(times)), packets, keys)
    plan.fallback = problem
    if not plan.spans:
        raise CutError("The spans hold no frame of the video.")
    return plan
