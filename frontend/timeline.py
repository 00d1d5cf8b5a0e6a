"""Reads for the timeline page: the whole analysis in one compact JSON, and one scene's details.

The timeline draws 1,500 scenes at once, so its JSON is built from a few flat queries (no
per-scene serializers) and keeps only what the drawing needs; the details panel asks for one
scene at a time, with everything the other apps add to it.
"""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.db.models import Prefetch

from analysis.extensions import scene_extras
from analysis.models import Analysis, Scene, TranscriptSegment
from analysis.selectors import scene_transcript
from story.models import Storyline, StorylineScene


def _file_url(field: Any) -> str | None:
    return field.url if field and field.name else None


def _story_state(analysis: Analysis) -> dict[str, Any]:
    """Undo/redo availability, locks and excluded scenes from the story app."""
    from story.selectors import story_state

    state = story_state(analysis)
    return {
        "can_undo": state["can_undo"],
        "can_redo": state["can_redo"],
        "excluded": state["excluded_scene_ids"],
        "locks": {s["id"]: s["lock"] for s in state["storylines"]},
    }


def _thumbnail_strip(analysis: Analysis) -> dict[str, Any] | None:
    """The keyframes stage's sprite of tiles (``{path, interval, tile_width, tile_height,
    count[, columns]}``) with the URL the page loads it from; None when there is none."""
    strip = analysis.metadata.get("thumbnail_strip")
    if not isinstance(strip, dict) or not strip.get("path"):
        return None
    return {**strip, "url": default_storage.url(strip["path"])}


NO_CERTAINTY: dict[str, Any] = {"confidence": None, "needs_review": False}


def _certainty(analysis: Analysis) -> dict[int, dict[str, Any]]:
    """Per scene pk: the grouping's confidence in its storyline and whether to review it (the
    lanes flag unsure scenes; the reasons come with the scene's details, one at a time)."""
    from story.models import SceneConfidence

    rows = SceneConfidence.objects.filter(scene__analysis=analysis).values_list(
        "scene_id", "confidence", "needs_review"
    )
    return {pk: {"confidence": round(c, 3), "needs_review": r} for pk, c, r in rows}


def timeline_json(analysis: Analysis) -> dict[str, Any]:
    """Storylines and scenes (times, thumbnail, primary storyline with relevance) of an analysis."""
    members = {
        scene_id: (storyline_id, relevance, source)
        for scene_id, storyline_id, relevance, source in StorylineScene.objects.filter(
            scene__analysis=analysis
        ).values_list("scene_id", "storyline_id", "relevance", "source")
    }
    story = _story_state(analysis)
    sure = _certainty(analysis)
    storylines = [
        {
            "id": s.pk,
            "name": s.name,
            "color": s.color,
            "order": s.order,
            "description": s.description,
            "lock": story["locks"].get(s.pk),
        }
        for s in Storyline.objects.filter(analysis=analysis).order_by("order")
    ]
    scenes = []
    for scene in Scene.objects.filter(analysis=analysis).order_by("index"):
        storyline_id, relevance, source = members.get(scene.pk, (None, 0.0, None))
        scenes.append(
            {
                "id": scene.public_id,
                "index": scene.index,
                "start": scene.start_time,
                "end": scene.end_time,
                "thumb": _file_url(scene.thumbnail),
                "storyline_id": storyline_id,
                "relevance": round(relevance, 3),
                "source": source,
                **sure.get(scene.pk, NO_CERTAINTY),
            }
        )
    video, cuts = analysis.video, analysis.cut_edits.all()  # for Undo and Redo
    return {
        "analysis_id": str(analysis.pk),
        "status": analysis.status,
        "duration": video.duration,
        "fps": video.fps,
        "has_audio": video.has_audio,
        "storylines": storylines,
        "scenes": scenes,
        "excluded": story["excluded"],
        # The timeline's Undo and Redo take cut edits too (``cuts.services.undo_latest``).
        "can_undo": story["can_undo"] or cuts.filter(undone_at__isnull=True).exists(),
        "can_redo": story["can_redo"] or cuts.filter(undone_at__isnull=False).exists(),
        "thumbnail_strip": _thumbnail_strip(analysis),
    }


def _interest(scene: Scene) -> dict[str, Any] | None:
    from story.models import SceneInterest

    row = SceneInterest.objects.filter(scene=scene).first()
    return {"score": row.score, "parts": row.parts} if row else None


def _relevance(scene: Scene) -> list[dict[str, Any]]:
    from story.models import SceneRelevance

    values = dict(
        SceneRelevance.objects.filter(scene=scene).values_list("storyline_id", "relevance")
    )
    return [
        {
            "storyline_id": s.pk,
            "name": s.name,
            "color": s.color,
            "relevance": round(values.get(s.pk, 0.0), 4),
        }
        for s in Storyline.objects.filter(analysis=scene.analysis).order_by("order")
    ]


def _neighbours(scene: Scene) -> list[dict[str, Any]]:
    from story.selectors import neighbours

    return [
        {
            "scene_id": n["scene_id"],
            "weight": round(n["weight"], 4),
            "kind": n["kind"],
            "direction": n["direction"],
            "why": n["why"],
        }
        for n in neighbours(scene.analysis, scene, 6)
    ]


def scene_details(analysis: Analysis, scene: Scene) -> dict[str, Any]:
    """Everything known about one scene: transcript with words, what the other apps found
    (caption, characters, tags, on-screen text…), interest, relevance, graph neighbours."""
    scene = (
        Scene.objects.select_related("analysis", "audio")
        .prefetch_related(
            Prefetch("segments", queryset=TranscriptSegment.objects.order_by("start_time"))
        )
        .get(pk=scene.pk)
    )
    extras = scene_extras([scene]).get(scene.pk, {})
    return {
        "id": scene.public_id,
        "index": scene.index,
        "start": scene.start_time,
        "end": scene.end_time,
        "keyframe": _file_url(scene.keyframe),
        "transcript": scene_transcript(scene),
        "segments": [
            {"start": s.start_time, "end": s.end_time, "text": s.text.strip(), "words": s.words}
            for s in scene.segments.all()
        ],
        "extras": extras,
        "interest": _interest(scene),
        "relevance": _relevance(scene),
        "neighbours": _neighbours(scene),
    }
