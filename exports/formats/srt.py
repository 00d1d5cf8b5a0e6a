"""SubRip subtitles of the storyline's cut."""

from __future__ import annotations

from exports import subtitles
from exports.formats import register
from exports.formats.base import SubtitleFormat


@register
class Srt(SubtitleFormat):
    name = "srt"
    label = "Subtitles (SRT)"
    extension = ".srt"
    content_type = "application/x-subrip; charset=utf-8"
    version = 2  # 2: each line's language (analysis.subtitles)
    order = 40

    def render(self, cues: list[subtitles.Cue]) -> str:
        return subtitles.to_srt(cues)
