"""What an export format is: one small class with its name, label, file type, what it needs
and how it is produced. Shared shapes (edit lists, subtitles) are base classes here."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from exports import production, subtitles, timelines
from exports.production import ExportContext

STORYLINE, ANALYSIS = "storyline", "analysis"
# What a format needs before it is queued (checked by the request, so bad input is a 4xx):
SCENES = "scenes"  # the storyline has scenes
VIDEO = "video"  # the source video file is in storage


class ExportFormat:
    """One export format. Subclasses set the class attributes and implement ``produce_*``."""

    name: ClassVar[str]
    label: ClassVar[str]  # the menu's label for one storyline
    analysis_label: ClassVar[str] = ""  # the menu's label for the whole analysis
    extension: ClassVar[str]
    content_type: ClassVar[str]
    scopes: ClassVar[tuple[str, ...]] = (STORYLINE,)
    needs: ClassVar[frozenset[str]] = frozenset()
    cut_mode: ClassVar[bool] = False  # it cuts the video, so it takes a cut mode
    analysis_file: ClassVar[str] = "storylines"  # "<video> - <this>.<ext>" for the whole analysis
    bundled: ClassVar[bool] = True  # the ZIP holds it (per storyline; whole-analysis below)
    bundled_whole: ClassVar[bool] = False  # the ZIP holds its whole-analysis file too
    order: ClassVar[int] = 100  # place in the menu
    version: ClassVar[int] = 1  # raise it when the format's output changes: old files go stale

    def produce(self, ctx: ExportContext) -> Path:
        """Write the file into ``ctx.workdir`` and return its path."""
        if ctx.plan is None:
            return self.produce_analysis(ctx)
        return self.produce_storyline(ctx)

    def produce_storyline(self, ctx: ExportContext) -> Path:
        raise NotImplementedError(f"{self.name} has no storyline export")

    def produce_analysis(self, ctx: ExportContext) -> Path:
        raise NotImplementedError(f"{self.name} has no whole-analysis export")

    def file_name(self, stem: str) -> str:
        return f"{stem}{self.extension}"

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The format as ``GET /api/export-formats`` lists it."""
        return {
            "name": cls.name,
            "label": cls.label,
            "analysis_label": cls.analysis_label or cls.label,
            "extension": cls.extension,
            "content_type": cls.content_type,
            "scopes": list(cls.scopes),
            "needs": sorted(cls.needs),
            "cut_mode": cls.cut_mode,
        }


class EditListFormat(ExportFormat):
    """An edit list written by an OpenTimelineIO adapter."""

    scopes = (STORYLINE, ANALYSIS)

    def produce_storyline(self, ctx: ExportContext) -> Path:
        text = timelines.write(production.storyline_timeline(ctx), self.name)
        return ctx.write(self.file_name("cut"), text)

    def produce_analysis(self, ctx: ExportContext) -> Path:
        text = timelines.write(production.analysis_timeline(ctx, self.name), self.name)
        return ctx.write(self.file_name("storylines"), text)


class SubtitleFormat(ExportFormat):
    """The transcript of the storyline's cut, timed to the cut."""

    needs = frozenset({SCENES})

    def render(self, cues: list[subtitles.Cue]) -> str:
        raise NotImplementedError

    def produce_storyline(self, ctx: ExportContext) -> Path:
        cues = subtitles.cut_cues(ctx.segments, ctx.cut_spans())
        ctx.metadata.update(cues=len(cues))
        return ctx.write(self.file_name("cut"), self.render(cues))
