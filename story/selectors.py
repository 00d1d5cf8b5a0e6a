"""Reads of the story app: the graph, relevance, interest, storyline state and history."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.http import Http404

from analysis.models import Analysis, Scene
from story.explain import WHY
from story.models import (
    SceneConfidence,
    SceneEdge,
    SceneExclusion,
    SceneInterest,
    SceneRelevance,
    Storyline,
    StorylineEdit,
    StorylineScene,
    StoryPreference,
)

INTEREST_ORDERS = ("time", "interest", "-interest")


def scene_by_public_id(analysis: Analysis, public_id: str) -> Scene:
    """``scene_7`` (or ``7``, 1-based) of ``analysis``; 404 otherwise."""
    match = re.fullmatch(r"(?:scene_)?(\d+)", str(public_id))
    scene = (
        Scene.objects.filter(analysis=analysis, index=int(match.group(1)) - 1).first()
        if match
        else None
    )
    if scene is None:
        raise Http404(f"No scene {public_id} in this analysis.")
    return scene


def scenes_by_public_ids(analysis: Analysis, ids: Sequence[str]) -> list[Scene]:
    return [scene_by_public_id(analysis, sid) for sid in ids]


def _public_storyline_ids(analysis: Analysis) -> dict[int, str]:
    """Storyline pk -> ``storyline_N`` as numbered in the original result JSON."""
    pks = Storyline.objects.filter(analysis=analysis).order_by("order").values_list("pk", flat=True)
    return {pk: f"storyline_{i}" for i, pk in enumerate(pks, start=1)}


def result_scene_extras(scenes: Sequence[Scene]) -> dict[int, dict[str, Any]]:
    """Per scene in the result JSON: ``interest`` and ``storyline_relevance``."""
    if not scenes:
        return {}
    analysis = scenes[0].analysis
    public = _public_storyline_ids(analysis)
    pks = [s.pk for s in scenes]
    interest = dict(SceneInterest.objects.filter(scene_id__in=pks).values_list("scene_id", "score"))
    relevance: dict[int, dict[str, float]] = {}
    rows = SceneRelevance.objects.filter(scene_id__in=pks).values_list(
        "scene_id", "storyline_id", "relevance"
    )
    for scene_id, storyline_id, value in rows:
        if storyline_id in public:
            relevance.setdefault(scene_id, {})[public[storyline_id]] = round(value, 4)
    sure = {c.scene_id: c for c in SceneConfidence.objects.filter(scene_id__in=pks)}
    return {
        pk: {
            "interest": interest.get(pk),
            "storyline_relevance": relevance.get(pk, {}),
            **_confidence_json(sure.get(pk), public),
        }
        for pk in pks
    }


def _confidence_json(row: SceneConfidence | None, public: dict[int, str]) -> dict[str, Any]:
    if row is None:
        return {"storyline_confidence": None, "storyline_reasons": [], "needs_review": False}
    return {
        "storyline_confidence": round(row.confidence, 4),
        "storyline_reasons": row.reasons,
        "storyline_doubt": row.against,
        "storyline_runner_up": public.get(row.runner_up_id) if row.runner_up_id else None,
        "needs_review": row.needs_review,
    }


def review_list(analysis: Analysis, everything: bool = False) -> list[dict[str, Any]]:
    """Scenes whose storyline the grouping is least sure of, least sure first (``everything``:
    every scene with a confidence, not only those flagged for review)."""
    rows = SceneConfidence.objects.filter(scene__analysis=analysis).select_related(
        "scene", "runner_up"
    )
    if not everything:
        rows = rows.filter(needs_review=True)
    primary = dict(
        StorylineScene.objects.filter(scene__analysis=analysis).values_list(
            "scene_id", "storyline_id"
        )
    )
    names = dict(Storyline.objects.filter(analysis=analysis).values_list("pk", "name"))
    return [
        {
            "scene_id": row.scene.public_id,
            "index": row.scene.index,
            "start_time": row.scene.start_time,
            "end_time": row.scene.end_time,
            "storyline_id": primary.get(row.scene_id),
            "storyline": names.get(primary.get(row.scene_id, 0)),  # pk 0: no storyline
            "confidence": round(row.confidence, 4),
            "reasons": row.reasons,
            "against": row.against,
            "runner_up_id": row.runner_up_id,
            "runner_up": row.runner_up.name if row.runner_up else None,
            "needs_review": row.needs_review,
        }
        for row in rows.order_by("confidence", "scene__index")
    ]


def _edge_json(edge: SceneEdge, index: dict[int, Scene]) -> dict[str, Any]:
    reasons = sorted(edge.components.items(), key=lambda kv: -float(kv[1].get("share", 0)))
    return {
        "source": index[edge.source_id].public_id,
        "target": index[edge.target_id].public_id,
        "kind": edge.kind,
        "weight": edge.weight,
        "why": [r["why"] for _name, r in reasons if float(r.get("share", 0)) > 0][:3],
        "components": edge.components,
    }


def graph_json(analysis: Analysis, min_weight: float = 0.0) -> dict[str, Any]:
    """Nodes (scenes with primary storyline and interest) and stored edges above a weight."""
    scenes = {s.pk: s for s in Scene.objects.filter(analysis=analysis).order_by("index")}
    primary = dict(
        Storyline.objects.filter(analysis=analysis)
        .filter(memberships__isnull=False)
        .values_list("memberships__scene_id", "pk")
    )
    interest = dict(
        SceneInterest.objects.filter(scene__analysis=analysis).values_list("scene_id", "score")
    )
    edges = SceneEdge.objects.filter(analysis=analysis, weight__gte=min_weight)
    meta = analysis.metadata.get("storylines", {})
    return {
        "nodes": [
            {
                "id": s.public_id,
                "index": s.index,
                "start_time": s.start_time,
                "end_time": s.end_time,
                "storyline_id": primary.get(pk),
                "interest": interest.get(pk),
            }
            for pk, s in scenes.items()
        ],
        "edges": [_edge_json(e, scenes) for e in edges.order_by("-weight")],
        "storylines": [
            {"id": s.pk, "name": s.name, "color": s.color}
            for s in Storyline.objects.filter(analysis=analysis).order_by("order")
        ],
        "weights": meta.get("weights", {}),
        "preset": meta.get("preset"),
        "signals": {name: WHY.get(name, name) for name in meta.get("signals", [])},
    }


def neighbours(analysis: Analysis, scene: Scene, limit: int = 5) -> list[dict[str, Any]]:
    """The scene's strongest stored neighbours, strongest first, each with why."""
    from django.db.models import Q

    edges = SceneEdge.objects.filter(analysis=analysis).filter(Q(source=scene) | Q(target=scene))
    index = {s.pk: s for s in Scene.objects.filter(analysis=analysis)}
    result = []
    for edge in edges.order_by("-weight")[: max(1, limit)]:
        item = _edge_json(edge, index)
        other = edge.target_id if edge.source_id == scene.pk else edge.source_id
        item["scene_id"] = index[other].public_id
        item["direction"] = (
            "undirected"
            if edge.kind == "similarity"
            else ("effect" if edge.source_id == scene.pk else "cause")
        )
        result.append(item)
    return result


def relevance_json(analysis: Analysis) -> dict[str, Any]:
    """The scene x storyline matrix: every scene's row, its primary storyline, exclusions."""
    storylines = list(Storyline.objects.filter(analysis=analysis).order_by("order"))
    scenes = list(Scene.objects.filter(analysis=analysis).order_by("index"))
    values: dict[int, dict[int, float]] = {}
    rows = SceneRelevance.objects.filter(scene__analysis=analysis).values_list(
        "scene_id", "storyline_id", "relevance"
    )
    for scene_id, storyline_id, value in rows:
        values.setdefault(scene_id, {})[storyline_id] = value
    primary = dict(
        Storyline.objects.filter(analysis=analysis)
        .filter(memberships__isnull=False)
        .values_list("memberships__scene_id", "pk")
    )
    sources = dict(
        Scene.objects.filter(analysis=analysis, memberships__isnull=False).values_list(
            "pk", "memberships__source"
        )
    )
    excluded = set(
        SceneExclusion.objects.filter(scene__analysis=analysis).values_list("scene_id", flat=True)
    )
    return {
        "storylines": [{"id": s.pk, "name": s.name, "color": s.color} for s in storylines],
        "scenes": [
            {
                "id": s.public_id,
                "primary_storyline_id": primary.get(s.pk),
                "source": sources.get(s.pk),
                "excluded": s.pk in excluded,
                "relevance": {
                    str(sl.pk): round(values.get(s.pk, {}).get(sl.pk, 0.0), 4) for sl in storylines
                },
            }
            for s in scenes
        ],
    }


def interest_list(
    analysis: Analysis, order: str = "time", min_interest: float | None = None
) -> list[dict[str, Any]]:
    """Scenes with their interest score and parts, filtered and sorted."""
    rows = SceneInterest.objects.filter(scene__analysis=analysis).select_related("scene")
    if min_interest is not None:
        rows = rows.filter(score__gte=min_interest)
    ordering = {
        "time": ["scene__index"],
        "interest": ["-score", "scene__index"],
        "-interest": ["score", "scene__index"],
    }[order]
    return [
        {
            "id": r.scene.public_id,
            "index": r.scene.index,
            "start_time": r.scene.start_time,
            "end_time": r.scene.end_time,
            "interest": r.score,
            "parts": r.parts,
        }
        for r in rows.order_by(*ordering)
    ]


def _edit_json(edit: StorylineEdit) -> dict[str, Any]:
    return {
        "id": edit.pk,
        "action": edit.action,
        "summary": edit.summary,
        "params": edit.params,
        "user": getattr(edit.user, "username", None),
        "created_at": edit.created_at.isoformat(),
        "undone": edit.undone_at is not None,
        "undone_at": edit.undone_at.isoformat() if edit.undone_at else None,
    }


def history(analysis: Analysis) -> list[dict[str, Any]]:
    edits = StorylineEdit.objects.filter(analysis=analysis).select_related("user")
    return [_edit_json(e) for e in edits.order_by("created_at", "id")]


def story_state(analysis: Analysis) -> dict[str, Any]:
    """Storylines with locks and scenes, excluded scenes, undo/redo availability, criterion."""
    from analysis.selectors import storylines_summary

    locks = {
        s.pk: {f: getattr(s.lock, f) for f in ("name", "color", "description", "created")}
        for s in Storyline.objects.filter(analysis=analysis, lock__isnull=False).select_related(
            "lock"
        )
    }
    edits = StorylineEdit.objects.filter(analysis=analysis)
    excluded = Scene.objects.filter(analysis=analysis, story_exclusion__isnull=False)
    meta = analysis.metadata.get("storylines", {})
    return {
        "storylines": [{**s, "lock": locks.get(s["id"])} for s in storylines_summary(analysis)],
        "excluded_scene_ids": [s.public_id for s in excluded.order_by("index")],
        "can_undo": edits.filter(undone_at__isnull=True).exists(),
        "can_redo": edits.filter(undone_at__isnull=False).exists(),
        "preset": meta.get("preset"),
        "preset_reason": meta.get("preset_reason"),
        "criterion": meta.get("criterion"),
        "weights": meta.get("weights"),
        "learned_multipliers": meta.get("learned_multipliers"),
    }


def preferences_json(user: Any) -> dict[str, Any]:
    pref = StoryPreference.objects.filter(user=user).first()
    return {
        "learn_from_edits": bool(pref and pref.learn_from_edits),
        "weight_multipliers": dict(pref.weight_multipliers) if pref else {},
    }
