"""One row per scene of the analysis, for a spreadsheet."""

from __future__ import annotations

from pathlib import Path

from exports.formats import register
from exports.formats.base import ANALYSIS, ExportFormat
from exports.production import ExportContext, scenes_csv


@register
class Csv(ExportFormat):
    name = "csv"
    label = "Scenes (CSV)"
    extension = ".csv"
    content_type = "text/csv; charset=utf-8"
    scopes = (ANALYSIS,)
    analysis_file = "scenes"
    bundled = False
    bundled_whole = True
    order = 60

    def produce_analysis(self, ctx: ExportContext) -> Path:
        return ctx.write("scenes.csv", scenes_csv(ctx.analysis, ctx.result))
