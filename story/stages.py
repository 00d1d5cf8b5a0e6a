"""The ``storylines`` pipeline stage: measure scene signals, build the graph, group the scenes.

``compute`` reads the pictures the shots stage's decode pass kept (colour layout, motion), the
audio (voice print, loudness swings) and the transcript (sentence embeddings), then plans the
grouping with every editor decision as a constraint; ``persist`` stores the signals (so later
regroups need no media), the storylines with their relevance, the graph edges and the interest
scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analysis.pipeline.base import Stage, StageContext, register
from analysis.pipeline.stages.common import load_scenes
from story.graph import SceneNode
from story.grouping import GroupingResult


@dataclass
class StorylinesResult:
    nodes: list[SceneNode]
    grouping: GroupingResult | None
    excluded: set[int]


@register
class StorylinesStage(Stage[StorylinesResult]):
    """Group scenes into (possibly interleaved) storylines, with relevance and interest."""

    name = "storylines"
    label = "Finding storylines"
    weight = 0.8

    def compute(self, ctx: StageContext) -> StorylinesResult:
        from story.constraints import grouping_input
        from story.features import measure
        from story.grouping import plan_grouping

        scenes = load_scenes(ctx.analysis)
        if not scenes:
            return StorylinesResult([], None, set())
        ctx.report(0.0, "Looking at the scenes")
        signals = measure(ctx, scenes)
        nodes = [
            SceneNode(s.id, s.index, s.start_time, s.end_time, data)
            for s, data in zip(scenes, signals, strict=True)
        ]
        ctx.report(0.85, "Grouping scenes into storylines")
        inp = grouping_input(ctx.analysis, nodes, ctx.param("num_storylines"), ctx.param("preset"))
        grouping = plan_grouping(inp)
        ctx.report(1.0, f"Found {grouping.metadata['num_storylines']} storylines")
        return StorylinesResult(nodes, grouping, inp.excluded)

    def persist(self, ctx: StageContext, result: StorylinesResult) -> None:
        from story.models import SceneFeatures, Storyline
        from story.services import apply_grouping

        SceneFeatures.objects.filter(scene__analysis=ctx.analysis).delete()
        if result.grouping is None:
            Storyline.objects.filter(analysis=ctx.analysis).delete()
            return
        SceneFeatures.objects.bulk_create(
            SceneFeatures(scene_id=n.pk, data=n.features) for n in result.nodes
        )
        apply_grouping(ctx.analysis, result.nodes, result.grouping, result.excluded)
        # The runner saves the metadata together with the stage's "done" mark.
        metadata: dict[str, Any] = ctx.analysis.metadata
        metadata["storylines"] = result.grouping.metadata
