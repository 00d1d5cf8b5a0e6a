"""Every storyline's files (each storyline format) and the whole analysis's, in one ZIP.

The analysis result is built once and shared by every file in it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from exports.formats import all_formats, register
from exports.formats.base import ANALYSIS, STORYLINE, VIDEO, ExportFormat
from exports.naming import safe_name
from exports.production import ExportContext


@register
class Zip(ExportFormat):
    name = "zip"
    label = "Every storyline (ZIP)"
    extension = ".zip"
    content_type = "application/zip"
    scopes = (ANALYSIS,)
    needs = frozenset({VIDEO})
    cut_mode = True
    bundled = False
    order = 5
    version = 2  # smart-cut videos, edit lists with sound

    def produce_analysis(self, ctx: ExportContext) -> Path:
        plans = [p for p in ctx.plans if p.scenes]
        out = ctx.workdir / "storylines.zip"
        inside = [f for f in all_formats() if f.bundled and STORYLINE in f.scopes]
        whole = [f for f in all_formats() if f.bundled_whole and ANALYSIS in f.scopes]
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for i, plan in enumerate(plans):
                folder = f"{plan.number:02d} {safe_name(plan.name)}"
                base = f"{folder}/{ctx.stem} - {safe_name(plan.name)}"

                def part(fraction: float, message: str, i: int = i, name: str = plan.name) -> None:
                    ctx.report((i + fraction * 0.9) / len(plans), f"{name}: {message}")

                sub = ctx.for_storyline(plan, part)
                for fmt in inside:  # the video first: the subtitles follow its spans
                    self._add(archive, fmt.produce(sub), fmt.file_name(base))
                if "fallback" in sub.metadata:
                    ctx.metadata["fallback"] = sub.metadata["fallback"]
            for fmt in whole:
                path = fmt.produce(ctx.for_analysis())
                self._add(archive, path, fmt.file_name(f"{ctx.stem} - {fmt.analysis_file}"))
        ctx.metadata.update(storylines=len(plans))
        return out

    @staticmethod
    def _add(archive: zipfile.ZipFile, path: Path, name: str) -> None:
        stored = path.suffix == ".mp4"  # video does not deflate: store it
        archive.write(path, name, compress_type=zipfile.ZIP_STORED if stored else None)
        path.unlink()
