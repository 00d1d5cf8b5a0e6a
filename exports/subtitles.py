"""Subtitles of a cut: transcript cues inside the cut's spans, with times moved to the cut."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# SRT / WebVTT writing is shared with the transcript's own subtitles.
from analysis.subtitles import Cue, to_srt, to_vtt
from mediakit.cutting import Span, cut_offsets

__all__ = ["Cue", "cut_cues", "to_srt", "to_vtt"]

MIN_CUE_SECONDS = 0.05


def _words_in(segment: dict[str, Any], span: Span) -> list[dict[str, Any]]:
    words = segment.get("words") or []
    return [w for w in words if span.start <= (float(w["start"]) + float(w["end"])) / 2 < span.end]


def _cue(segment: dict[str, Any], span: Span, offset: float) -> Cue | None:
    """The part of ``segment`` inside ``span``, timed in the cut (None when nothing is)."""
    words = _words_in(segment, span)
    if segment.get("words"):
        if not words:
            return None
        text = "".join(str(w["word"]) for w in words).strip()
        start, end = float(words[0]["start"]), float(words[-1]["end"])
    else:
        text = str(segment["text"]).strip()
        start, end = float(segment["start_time"]), float(segment["end_time"])
    start, end = max(start, span.start), min(end, span.end)
    if not text or end - start < MIN_CUE_SECONDS:
        return None
    language = str(segment.get("language") or "")
    return Cue(start - span.start + offset, end - span.start + offset, text, language)


def cut_cues(segments: Sequence[dict[str, Any]], spans: Sequence[Span]) -> list[Cue]:
    """Cues of ``segments`` (``start_time``, ``end_time``, ``text``, optional ``words``) that
    fall in the cut made of ``spans``, in the cut's time."""
    ordered = sorted(segments, key=lambda s: float(s["start_time"]))
    cues = []
    for span, offset in zip(spans, cut_offsets(spans), strict=True):
        for segment in ordered:
            if float(segment["end_time"]) <= span.start or float(segment["start_time"]) >= span.end:
                continue
            cue = _cue(segment, span, offset)
            if cue is not None:
                cues.append(cue)
    return cues
