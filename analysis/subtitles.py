"""Subtitles in and out: SRT/WebVTT export of a transcript, and reading a user's SRT/VTT.

Parsing goes through pysubs2 (SRT, WebVTT, ASS/SSA, MicroDVD...), imported inside the functions.
Times are seconds (float) everywhere, as in the rest of the project.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MAX_SUBTITLE_BYTES = 5 * 1024 * 1024
_TAGS = re.compile(r"<[^>]+>|\{[^}]*\}")


class SubtitlesError(ValueError):
    """A subtitles file that cannot be read, with a message meant for the user."""


@dataclass(frozen=True)
class Cue:
    """One subtitle: shown from ``start`` to ``end`` seconds."""

    start: float
    end: float
    text: str
    language: str = ""  # the spoken language (ISO 639-1), "" when unknown


def clock(seconds: float, separator: str) -> str:
    """``HH:MM:SS<sep>mmm``: ``,`` for SubRip, ``.`` for WebVTT."""
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _clean(text: str) -> str:
    # A blank line would end the cue early in both formats; "-->" would start a new timing.
    lines = [line.strip() for line in text.replace("-->", "->").splitlines()]
    return "\n".join(line for line in lines if line)


def to_srt(cues: Iterable[Cue]) -> str:
    """SubRip text: numbered cues, ``00:00:01,500 --> 00:00:03,000`` timings."""
    blocks = []
    for number, cue in enumerate((c for c in cues if _clean(c.text)), start=1):
        timing = f"{clock(cue.start, ',')} --> {clock(max(cue.end, cue.start), ',')}"
        blocks.append(f"{number}\n{timing}\n{_clean(cue.text)}\n")
    return "\n".join(blocks)


def vtt_text(cue: Cue) -> str:
    """The cue's text for WebVTT: ``&`` and ``<`` escaped (the spec's rule), inside a language span
    (``<lang ru>…</lang>``) when its language is known, so a player or screen reader of a film
    speaking two languages knows each line's."""
    text = _clean(cue.text).replace("&", "&amp;").replace("<", "&lt;")
    return f"<lang {cue.language}>{text}</lang>" if text and cue.language else text


def to_vtt(cues: Iterable[Cue]) -> str:
    """WebVTT text (``WEBVTT`` header, ``00:00:01.500 --> 00:00:03.000`` timings)."""
    blocks = ["WEBVTT\n"]
    for cue in cues:
        text = vtt_text(cue)
        if text:
            timing = f"{clock(cue.start, '.')} --> {clock(max(cue.end, cue.start), '.')}"
            blocks.append(f"{timing}\n{text}\n")
    return "\n".join(blocks)


def parse_subtitles_text(text: str, format_hint: str | None = None) -> list[Cue]:
    """Cues of an SRT/VTT/ASS text, in time order, styling tags removed.

    Raises:
        SubtitlesError: the text is not a subtitle format pysubs2 knows, holds no cue, or has a
            cue that ends before it starts.
    """
    import pysubs2

    try:
        subs = pysubs2.SSAFile.from_string(text, format_=format_hint)
    except Exception as exc:  # pysubs2 raises several unrelated types for bad input
        raise SubtitlesError(f"Cannot read the subtitles: {exc}") from exc
    cues = [
        Cue(event.start / 1000, event.end / 1000, _TAGS.sub("", event.plaintext).strip())
        for event in subs
        if not event.is_comment
    ]
    for number, cue in enumerate(cues, start=1):
        if cue.text and cue.end < cue.start:
            timing = f"{clock(cue.start, ',')} --> {clock(cue.end, ',')}"
            raise SubtitlesError(f"Cue {number} ends before it starts ({timing}).")
    cues = sorted((c for c in cues if c.text), key=lambda c: (c.start, c.end))
    if not cues:
        raise SubtitlesError("The subtitles file holds no cue.")
    return cues


def parse_subtitles(path: Path) -> list[Cue]:
    """Cues of the subtitles file at ``path`` (UTF-8, or Latin-1/CP1251 as found).

    Raises:
        SubtitlesError: missing, too large, or not a subtitles file.
    """
    if not path.is_file():
        raise SubtitlesError("The subtitles file does not exist.")
    if path.stat().st_size > MAX_SUBTITLE_BYTES:
        raise SubtitlesError("The subtitles file is larger than 5 MB.")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1251", "latin-1"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    hint = {".vtt": "vtt", ".srt": "srt"}.get(path.suffix.lower())
    return parse_subtitles_text(text, hint)
