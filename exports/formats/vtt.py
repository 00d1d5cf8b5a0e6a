"""WebVTT subtitles of the storyline's cut."""

from __future__ import annotations

from exports import subtitles
from exports.formats import register
from exports.formats.base import SubtitleFormat


@register
class Vtt(SubtitleFormat):
    name = "vtt"
    label = "Subtitles (WebVTT)"
    extension = ".vtt"
    content_type = "text/vtt; charset=utf-8"
    version = 2  # 2: each line's language (analysis.subtitles)
    order = 45

    def render(self, cues: list[subtitles.Cue]) -> str:
        return subtitles.to_vtt(cues)
