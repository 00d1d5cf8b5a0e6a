"""Where speech is, and where a description fits between two lines of dialogue.

Speech comes either from the client's subtitles (SRT or WebVTT: each cue is speech) or, without
subtitles, from the Silero voice-activity detector that the analysis pipeline uses as well.
A description is placed in the silence around the described frame: it starts at the frame's
moment (or later, when speech is still going on there, but inside the scene) and needs at least
``min_pause`` seconds of silence from its start.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

Interval = tuple[float, float]


class SubtitleError(ValueError):
    """The subtitles file cannot be read; the message is for the client."""


@dataclass(frozen=True)
class Slot:
    """Room for one description: it starts at ``start`` and must be over by ``end``."""

    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


def parse_subtitles(path: Path) -> list[Interval]:
    """The (start, end) seconds of every non-empty cue of an SRT or WebVTT file."""
    import pysubs2

    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1251")  # the usual legacy encoding of Russian subtitles
    try:
        subs = pysubs2.SSAFile.from_string(text)
    except Exception as exc:  # pysubs2 raises several unrelated types for unknown formats
        raise SubtitleError(f"The subtitles could not be read as SRT or WebVTT ({exc}).") from None
    cues = [
        (event.start / 1000.0, event.end / 1000.0)
        for event in subs
        if not event.is_comment and event.plaintext.strip() and event.end > event.start
    ]
    if not cues and text.strip():
        raise SubtitleError("The subtitles file holds no timed lines.")
    return merge(cues)


def merge(intervals: list[Interval]) -> list[Interval]:
    """Sort and join overlapping intervals (subtitles often overlap by a few frames)."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def silences(speech: list[Interval], duration: float) -> list[Interval]:
    """The gaps between ``speech`` intervals over [0, duration]."""
    gaps: list[Interval] = []
    cursor = 0.0
    for start, end in merge(speech):
        if start > cursor:
            gaps.append((cursor, min(start, duration)))
        cursor = max(cursor, end)
    if cursor < duration:
        gaps.append((cursor, duration))
    return [(a, b) for a, b in gaps if b > a]


def find_slot(
    moment: float,
    scene_end: float,
    gaps: list[Interval],
    *,
    min_pause: float,
    max_length: float,
    not_before: float = 0.0,
) -> Slot | None:
    """The room for a description of the frame at ``moment``, or None when there is none.

    The description starts at ``moment`` if that is silent, else where the current line of
    speech ends, provided that is still inside the scene (before ``scene_end``). It needs
    ``min_pause`` seconds of silence from its start and lasts at most ``max_length``.
    ``not_before`` keeps it after the previous description.
    """
    start_at = max(moment, not_before)
    starts = [gap[0] for gap in gaps]
    # The gap holding start_at, then the ones after it that begin within the scene.
    first = max(0, bisect.bisect_right(starts, start_at) - 1)
    for gap_start, gap_end in gaps[first:]:
        start = max(start_at, gap_start)
        if start >= scene_end:
            return None
        if gap_end - start >= min_pause:
            return Slot(round(start, 3), round(min(gap_end, start + max_length), 3))
    return None
