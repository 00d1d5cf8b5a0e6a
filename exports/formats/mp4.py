"""The storyline's video cut (smart, exact or keyframes-only, see ``exports.production``)."""

from __future__ import annotations

from pathlib import Path

from exports.formats import register
from exports.formats.base import SCENES, VIDEO, ExportFormat
from exports.production import ExportContext, cut_video


@register
class Mp4(ExportFormat):
    name = "mp4"
    label = "Video cut (MP4)"
    extension = ".mp4"
    content_type = "video/mp4"
    needs = frozenset({SCENES, VIDEO})
    cut_mode = True
    order = 10
    version = 3  # frame-accurate smart cut, its AAC sound copied

    def produce_storyline(self, ctx: ExportContext) -> Path:
        out = ctx.workdir / self.file_name(f"cut-{ctx.plan_or_fail().pk}")
        cut_video(ctx, out)
        return out
