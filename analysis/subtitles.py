"""Subtitles in and out: SRT/WebVTT export of a transcript, and reading a user's SRT/VTT.

Parsing goes through pysubs2 (SRT, WebVTT, ASS/SSA, MicroDVD...), imported inside the functions.
Times are seconds (float) everywhere, as in the rest of the project.

Each line keeps its spoken language. WebVTT has the means: a ``Language:`` header line for the
language spoken most (the header lines before the first blank line are metadata players skip)
and a ``<lang xx>`` span per cue. SubRip has none, so a cue with a known language is wrapped in
``<font lang="xx">``: players render ``<font>`` and ignore attributes they don't know, so the
line shows unchanged, and a tool reading the file back gets the language (``parse_subtitles``
reads both forms). Files of one language are also served per language (``?language=``) and
named ``<name>.<lang>.srt``, the convention players use to pick a track's language.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_SUBTITLE_BYTES = 5 * 1024 * 1024
_TAGS = re.compile(r"</?[A-Za-z\d][^<>]*>|\{[^}]*\}")  # a "<" before a space is text
# A cue's language as written by ``to_vtt`` (``<lang ru>``) or ``to_srt`` (``<font lang="ru">``).
_LANGUAGE_TAG = re.compile(r"<(?:lang\s+|font\s[^>]*?\blang=[\"']?)([A-Za-z]{2,3}(?:-[\w-]+)?)")
_VTT_LANGUAGE = re.compile(r"\AWEBVTT[^\n]*\n(?:[^\n]+\n)*?Language:[ \t]*([\w-]+)", re.IGNORECASE)


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


def main_language(cues: Sequence[Cue]) -> str:
    """The language of the most seconds of ``cues`` ("" when none is known)."""
    seconds: dict[str, float] = {}
    for cue in cues:
        if cue.language:
            seconds[cue.language] = seconds.get(cue.language, 0.0) + max(cue.end - cue.start, 0.0)
    return max(seconds, key=seconds.__getitem__, default="")


def srt_text(cue: Cue) -> str:
    """The cue's text for SubRip, in ``<font lang="xx">`` when its language is known."""
    text = _clean(cue.text)
    return f'<font lang="{cue.language}">{text}</font>' if text and cue.language else text


def to_srt(cues: Iterable[Cue]) -> str:
    """SubRip text: numbered cues, ``00:00:01,500 --> 00:00:03,000`` timings, each line's
    language in a ``<font lang>`` tag (see the module docstring)."""
    blocks = []
    for number, cue in enumerate((c for c in cues if _clean(c.text)), start=1):
        timing = f"{clock(cue.start, ',')} --> {clock(max(cue.end, cue.start), ',')}"
        blocks.append(f"{number}\n{timing}\n{srt_text(cue)}\n")
    return "\n".join(blocks)


def vtt_text(cue: Cue) -> str:
    """The cue's text for WebVTT: ``&`` and ``<`` escaped (the spec's rule), inside a language span
    (``<lang ru>…</lang>``) when its language is known, so a player or screen reader of a film
    speaking two languages knows each line's."""
    text = _clean(cue.text).replace("&", "&amp;").replace("<", "&lt;")
    return f"<lang {cue.language}>{text}</lang>" if text and cue.language else text


def to_vtt(cues: Iterable[Cue], language: str = "") -> str:
    """WebVTT text: ``WEBVTT`` and, when known, a ``Language:`` header (``language``, else the
    language of most of the cues), then ``00:00:01.500 --> 00:00:03.000`` timings and each
    line in a ``<lang>`` span."""
    cues = list(cues)
    language = language or main_language(cues)
    blocks = [f"WEBVTT\nLanguage: {language}\n" if language else "WEBVTT\n"]
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
        subs = pysubs2.SSAFile.from_string(text, format_=format_hint, keep_unknown_html_tags=True)
    except Exception as exc:  # pysubs2 raises several unrelated types for bad input
        raise SubtitlesError(f"Cannot read the subtitles: {exc}") from exc
    header = _VTT_LANGUAGE.match(text.lstrip("\ufeff"))
    default = header.group(1).lower() if header else ""
    vtt = subs.format == "vtt"
    cues = [cue_of(event, vtt, default) for event in subs if not event.is_comment]
    for number, cue in enumerate(cues, start=1):
        if cue.text and cue.end < cue.start:
            timing = f"{clock(cue.start, ',')} --> {clock(cue.end, ',')}"
            raise SubtitlesError(f"Cue {number} ends before it starts ({timing}).")
    cues = sorted((c for c in cues if c.text), key=lambda c: (c.start, c.end))
    if not cues:
        raise SubtitlesError("The subtitles file holds no cue.")
    return cues


def cue_of(event: Any, vtt: bool, default: str) -> Cue:
    """A pysubs2 event as a cue: tags removed (the language taken from a language tag, else
    ``default``), WebVTT's character references (``&amp;``) resolved."""
    raw = event.plaintext
    tagged = _LANGUAGE_TAG.search(raw)
    text = _TAGS.sub("", raw).strip()
    language = tagged.group(1).lower() if tagged else default
    return Cue(event.start / 1000, event.end / 1000, html.unescape(text) if vtt else text, language)


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
