"""Storylines after a cut edit: only the scenes it touched are placed again.

A full regroup would reshuffle a whole film because two scenes changed, and replace storylines
an editor never touched (their ids, and the exports made of them). So a partial re-run
(``analysis.pipeline.stages.common.scene_scope``) keeps every other scene where it is and every
storyline row as it is, and places each re-run scene in the storyline whose other scenes it is
most like on the scene graph (built with the analysis's preset, as the full grouping does): its
relevance row is its mean affinity to each storyline's scenes, normalised, and its confidence
and reasons come from ``story.confidence`` as for any scene. A re-run scene an editor placed or
took out of every storyline (a decision the cut edit carried over) keeps that decision. The
graph edges and interest scores of the re-run scenes are renewed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analysis.models import Analysis, Scene
from story.graph import Graph, SceneNode, build_graph
from story.models import (
    MembershipSource,
    SceneConfidence,
    SceneEdge,
    SceneExclusion,
    SceneInterest,
    SceneRelevance,
    Storyline,
    StorylineScene,
)
from story.services import edge_rows

if TYPE_CHECKING:
    import numpy as np


@dataclass
class Placement:
    """Where a re-run scene goes: its storyline, relevance per storyline, confidence."""

    storyline_id: int
    relevance: dict[int, float]
    confidence: dict[str, Any]


@dataclass
class PartialResult:
    placements: dict[int, Placement] = field(default_factory=dict)  # scene pk -> placement
    edges: list[dict[str, Any]] = field(default_factory=list)  # edges touching re-run scenes
    interest: dict[int, dict[str, Any]] = field(default_factory=dict)  # scene pk -> score


def scene_graph(analysis: Analysis, nodes: list[SceneNode]) -> Graph:
    """The scene graph with the preset the last grouping used (else a guessed one)."""
    from story.constraints import user_multipliers
    from story.external import load_external
    from story.presets import PRESETS, apply_multipliers, guess_preset

    name = ((analysis.metadata or {}).get("storylines") or {}).get("preset")
    if name not in PRESETS:
        name, _reason = guess_preset([n.features for n in nodes], [""] * len(nodes))
    weights = apply_multipliers(PRESETS[name], user_multipliers(analysis))
    return build_graph(nodes, load_external(analysis), weights)


def plan_partial(
    analysis: Analysis, nodes: list[SceneNode], scope: frozenset[int]
) -> PartialResult:
    """Placements, edges and interest of the re-run scenes (``scope``) among all ``nodes``."""

    from story.confidence import scene_confidences
    from story.explain import WHY, edges_of
    from story.interest import interest_scores

    lines = list(Storyline.objects.filter(analysis=analysis).order_by("order"))
    primary = dict(
        StorylineScene.objects.filter(scene__analysis=analysis).values_list(
            "scene_id", "storyline_id"
        )
    )
    graph = scene_graph(analysis, nodes)
    column = {line.pk: k for k, line in enumerate(lines)}
    labels = [column.get(primary.get(n.pk, -1), -1) for n in nodes]
    fixed = [i for i, n in enumerate(nodes) if n.pk not in scope]
    relevance = _relevance(graph.matrix, labels, fixed, len(lines))
    free = _free_positions(nodes, scope)
    for i in free:
        if relevance[i].sum() > 0:
            labels[i] = int(relevance[i].argmax())
    certain = scene_confidences(graph, labels, relevance, set(), WHY)
    result = PartialResult()
    for i in free:
        found = certain[i]
        if labels[i] < 0 or found is None or relevance[i].sum() <= 0:
            continue  # nothing to compare with: the scene keeps the storyline it had
        result.placements[nodes[i].pk] = Placement(
            storyline_id=lines[labels[i]].pk,
            relevance={
                lines[k].pk: round(float(r), 4) for k, r in enumerate(relevance[i]) if r > 0
            },
            confidence={
                "confidence": found.confidence,
                "reasons": found.reasons,
                "against": found.against,
                "runner_up_id": lines[found.runner_up].pk if found.runner_up is not None else None,
                "needs_review": found.needs_review,
            },
        )
    touched = {i for i, n in enumerate(nodes) if n.pk in scope}
    result.edges = [e for e in edges_of(graph) if e["source"] in touched or e["target"] in touched]
    loudness = dict(Scene.objects.filter(analysis=analysis).values_list("pk", "audio__loudness_db"))
    scores = interest_scores(nodes, graph.matrix, loudness, None)
    result.interest = {nodes[i].pk: scores[i] for i in touched}
    return result


def _relevance(matrix: np.ndarray, labels: list[int], fixed: list[int], k: int) -> np.ndarray:
    """Per scene and storyline: the mean affinity to that storyline's fixed scenes (itself left
    out), normalised to sum 1 (a zero row when it is like none of them)."""
    import numpy as np

    n = len(labels)
    out = np.zeros((n, k))
    for column in range(k):
        members = [j for j in fixed if labels[j] == column]
        if not members:
            continue
        block = np.nan_to_num(matrix[:, members])
        counts = np.full(n, len(members), dtype=float)
        for pos, j in enumerate(members):  # a scene is not compared with itself
            block[j, pos] = 0.0
            counts[j] -= 1
        out[:, column] = block.sum(axis=1) / np.maximum(counts, 1)
    sums = out.sum(axis=1, keepdims=True)
    return np.divide(out, sums, out=np.zeros_like(out), where=sums > 0)


def _free_positions(nodes: list[SceneNode], scope: frozenset[int]) -> list[int]:
    """Re-run scenes without an editor's decision (placed by hand, or in no storyline)."""
    decided = set(
        StorylineScene.objects.filter(
            scene_id__in=scope, source=MembershipSource.EDITOR
        ).values_list("scene_id", flat=True)
    )
    decided |= set(
        SceneExclusion.objects.filter(scene_id__in=scope).values_list("scene_id", flat=True)
    )
    return [i for i, n in enumerate(nodes) if n.pk in scope and n.pk not in decided]


def apply_partial(
    analysis: Analysis, nodes: list[SceneNode], scope: frozenset[int], result: PartialResult
) -> None:
    """Store ``result``: the re-run scenes' storyline rows, edges and interest (in a
    transaction)."""
    for pk, place in result.placements.items():
        StorylineScene.objects.filter(scene_id=pk).delete()
        StorylineScene.objects.create(
            scene_id=pk,
            storyline_id=place.storyline_id,
            relevance=place.relevance.get(place.storyline_id, 1.0),
            source=MembershipSource.AUTO,
        )
        SceneRelevance.objects.filter(scene_id=pk).delete()
        SceneRelevance.objects.bulk_create(
            SceneRelevance(scene_id=pk, storyline_id=line, relevance=r)
            for line, r in place.relevance.items()
        )
        SceneConfidence.objects.update_or_create(scene_id=pk, defaults=place.confidence)
    SceneEdge.objects.filter(analysis=analysis, source_id__in=scope).delete()
    SceneEdge.objects.filter(analysis=analysis, target_id__in=scope).delete()
    SceneEdge.objects.bulk_create(edge_rows(analysis, nodes, result.edges))
    SceneInterest.objects.filter(scene_id__in=scope).delete()
    SceneInterest.objects.bulk_create(
        SceneInterest(scene_id=pk, score=item["score"], parts=item["parts"])
        for pk, item in result.interest.items()
    )
