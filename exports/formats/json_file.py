"""The storyline as in the result JSON (with its cut), or the whole analysis's result JSON."""

from __future__ import annotations

import json
from pathlib import Path

from exports.formats import register
from exports.formats.base import ANALYSIS, STORYLINE, ExportFormat
from exports.production import ExportContext, storyline_json


@register
class Json(ExportFormat):
    name = "json"
    label = "Storyline (JSON)"
    analysis_label = "Analysis (JSON)"
    extension = ".json"
    content_type = "application/json"
    scopes = (STORYLINE, ANALYSIS)
    analysis_file = "analysis"
    bundled_whole = True
    order = 50

    def produce_storyline(self, ctx: ExportContext) -> Path:
        data = storyline_json(ctx.result, ctx.plan_or_fail())
        return ctx.write("storyline.json", json.dumps(data, ensure_ascii=False, indent=2))

    def produce_analysis(self, ctx: ExportContext) -> Path:
        return ctx.write("analysis.json", json.dumps(ctx.result, ensure_ascii=False, indent=2))
