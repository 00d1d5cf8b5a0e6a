"""The scene_index stage: always runs, and indexes whatever the other stages left."""

from __future__ import annotations

from typing import Any

from analysis.pipeline.base import Stage, StageContext, register


@register
class SceneIndexStage(Stage[Any]):
    """Gather what every stage found into one searchable record per scene."""

    name = "scene_index"
    label = "Indexing scenes for search"
    weight = 0.5
    cost_follows = "scenes"  # one record per scene
    needs = ("transcript", "speakers")

    def compute(self, ctx: StageContext) -> Any:
        from analysis.pipeline.stages.common import scene_scope
        from vision.services import scene_index_build

        ctx.report(0.0, "Indexing scenes")
        built = scene_index_build(ctx.analysis, scene_scope(ctx.analysis))
        ctx.report(1.0, f"Indexed {len(built.records)} scenes")
        return built

    def persist(self, ctx: StageContext, result: Any) -> None:
        from analysis.pipeline.stages.common import scene_scope
        from vision.services import scene_index_save

        scene_index_save(ctx.analysis, result, scene_scope(ctx.analysis))
