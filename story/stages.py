"""The ``storylines`` pipeline stage: measure scene signals, build the graph, group the scenes.

``compute`` reads the pictures the shots stage's decode pass kept (colour layout, motion), the
audio (voice print, loudness swings) and the transcript (sentence embeddings), then plans the
grouping with every editor decision as a constraint; ``persist`` stores the signals (so later
regroups need no media), the storylines with their relevance, the graph edges and the interest
scores. A partial re-run after a cut edit measures the scenes it touched only and places just
those in the storylines there are (``story.partial``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analysis.pipeline.base import Stage, StageContext, register
from analysis.pipeline.stages.common import SceneSpan, in_scope, load_scenes, scene_scope
from story.graph import SceneNode
from story.grouping import GroupingResult
from story.partial import PartialResult


@dataclass
class StorylinesResult:
    nodes: list[SceneNode]
    grouping: GroupingResult | None
    excluded: set[int]
    partial: PartialResult | None = None  # a partial re-run's placements instead of a grouping


def scene_signals(ctx: StageContext, scenes: list[SceneSpan]) -> list[SceneNode]:
    """Every scene with its signals: measured for the scenes this run redoes, the stored ones
    for the others (a partial re-run after a cut edit measures only the scenes it touched)."""
    from story.constraints import scene_nodes
    from story.features import measure, speech_continuity

    stored: dict[int, dict[str, Any]] = {}
    todo = in_scope(ctx.analysis, scenes)
    if len(todo) < len(scenes):
        stored = {n.pk: n.features for n in scene_nodes(ctx.analysis) if n.features}
        todo = [s for s in scenes if s in todo or s.id not in stored]  # never measured: now
    measured = dict(zip([s.id for s in todo], measure(ctx, todo), strict=True))
    if len(todo) < len(scenes):
        # Whether speech runs over the cut before a scene is known only among all the scenes.
        for scene, runs_on in zip(scenes, speech_continuity(ctx.analysis, scenes), strict=True):
            if scene.id in measured:
                measured[scene.id]["continues"] = runs_on
    return [
        SceneNode(s.id, s.index, s.start_time, s.end_time, measured.get(s.id) or stored[s.id])
        for s in scenes
    ]


@register
class StorylinesStage(Stage[StorylinesResult]):
    """Group scenes into (possibly interleaved) storylines, with relevance and interest."""

    name = "storylines"
    label = "Finding storylines"
    weight = 0.8
    cost_follows = "scenes"  # scenes compared with each other
    needs = ("audio", "transcript", "speakers")  # voices, loudness, sentences

    def compute(self, ctx: StageContext) -> StorylinesResult:
        from story.constraints import grouping_input
        from story.grouping import plan_grouping

        scenes = load_scenes(ctx.analysis)
        if not scenes:
            return StorylinesResult([], None, set())
        ctx.report(0.0, "Looking at the scenes")
        nodes = scene_signals(ctx, scenes)
        scope = scene_scope(ctx.analysis)
        if scope is not None and ctx.analysis.storylines.exists():
            from story.partial import plan_partial

            ctx.report(0.85, "Placing the re-run scenes in the storylines")
            return StorylinesResult(nodes, None, set(), plan_partial(ctx.analysis, nodes, scope))
        ctx.report(0.85, "Grouping scenes into storylines")
        inp = grouping_input(ctx.analysis, nodes, ctx.param("num_storylines"), ctx.param("preset"))
        grouping = plan_grouping(inp)
        ctx.report(1.0, f"Found {grouping.metadata['num_storylines']} storylines")
        return StorylinesResult(nodes, grouping, inp.excluded)

    def persist(self, ctx: StageContext, result: StorylinesResult) -> None:
        from story.models import SceneFeatures, Storyline
        from story.services import apply_grouping

        kept = SceneFeatures.objects.filter(scene__analysis=ctx.analysis)
        scope = scene_scope(ctx.analysis)
        (kept if scope is None else kept.filter(scene_id__in=scope)).delete()
        if result.grouping is None and result.partial is None:
            Storyline.objects.filter(analysis=ctx.analysis).delete()
            return
        stored = set(kept.values_list("scene_id", flat=True))
        SceneFeatures.objects.bulk_create(
            SceneFeatures(scene_id=n.pk, data=n.features)
            for n in result.nodes
            if n.pk not in stored
        )
        if result.partial is not None and scope is not None:
            from story.partial import apply_partial

            apply_partial(ctx.analysis, result.nodes, scope, result.partial)
            return
        assert result.grouping is not None
        apply_grouping(ctx.analysis, result.nodes, result.grouping, result.excluded)
        # The runner saves the metadata together with the stage's "done" mark.
        metadata: dict[str, Any] = ctx.analysis.metadata
        metadata["storylines"] = result.grouping.metadata
