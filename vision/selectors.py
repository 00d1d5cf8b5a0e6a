"""Reads of the vision app: per-scene JSON, the scene index, similar scenes, search scope."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analysis.models import Analysis, AnalysisStatus, Scene
from analysis.selectors import User, analysis_get_for_user, video_get_for_user
from vision.models import SceneCaption, SceneEmbedding, SceneIndex, SceneObjects, SceneText
from vision.search import as_vector, search_scenes

SIMILAR_LIMIT = 5


def _by_scene(model: Any, scene_pks: list[int]) -> dict[int, Any]:
    return {row.scene_id: row for row in model.objects.filter(scene_id__in=scene_pks)}


def visual_json(
    objects: SceneObjects | None, text: SceneText | None, caption: SceneCaption | None
) -> dict[str, Any] | None:
    """What the vision stages found about one scene (None when they found nothing)."""
    if objects is None and text is None and caption is None:
        return None
    return {
        "caption": caption.text if caption else None,
        "caption_language": caption.language if caption else None,
        "caption_en": caption.text_en if caption else None,
        "caption_source": caption.source if caption else None,
        # Editor words: "objects" as {label, label_ru, score, source}, "tags" as plain words.
        "objects": objects.tags if objects else [],
        "tags": [t["label"] for t in objects.tags] if objects else [],
        "tags_ru": [t.get("label_ru", t["label"]) for t in objects.tags] if objects else [],
        "imagenet": objects.labels if objects else [],
        "place": (objects.place or None) if objects else None,
        "motion": objects.motion if objects else None,
        "action": (objects.action or None) if objects else None,
        "onscreen_text": text.text if text else "",
        "onscreen_text_continues": text.continues if text else False,
    }


def index_json(index: SceneIndex | None, scene: Scene) -> dict[str, Any] | None:
    """The scene's index record: ``{objects, people, actions, text, sceneId}`` and more."""
    if index is None:
        return None
    return {
        "sceneId": scene.public_id,
        "objects": index.object_names,
        "people": index.people,
        "speakers": index.speakers,
        "actions": index.actions,
        "text": index.text,
        "transcript": index.transcript,
        "caption": index.caption,
    }


def scene_extras(scenes: Sequence[Scene]) -> dict[int, dict[str, Any]]:
    """Keys added beside ``audio_analysis`` in the result JSON (registered in ``apps``)."""
    pks = [scene.pk for scene in scenes]
    objects, texts = _by_scene(SceneObjects, pks), _by_scene(SceneText, pks)
    captions, indexes = _by_scene(SceneCaption, pks), _by_scene(SceneIndex, pks)
    return {
        scene.pk: {
            "visual_analysis": visual_json(
                objects.get(scene.pk), texts.get(scene.pk), captions.get(scene.pk)
            ),
            "scene_index": index_json(indexes.get(scene.pk), scene),
        }
        for scene in scenes
    }


def analysis_scene_index(analysis: Analysis) -> list[dict[str, Any]]:
    """Every scene of the analysis with its index record and visual findings, in order."""
    scenes = list(analysis.scenes.order_by("index"))
    extras = scene_extras(scenes)
    return [
        {
            "scene_id": scene.public_id,
            "index": scene.index,
            "start_time": scene.start_time,
            "end_time": scene.end_time,
            **extras[scene.pk],
        }
        for scene in scenes
    ]


def scene_by_number(analysis: Analysis, number: int) -> Scene:
    """Scene ``scene_<number>`` (1-based, as in the result JSON) or 404."""
    from django.http import Http404

    scene = analysis.scenes.filter(index=number - 1).first()
    if scene is None:
        raise Http404("No such scene.")
    return scene


def similar_scenes(analysis: Analysis, scene: Scene, limit: int = SIMILAR_LIMIT) -> list[Any]:
    """The scenes of the same analysis whose keyframes look most like ``scene``'s."""
    import numpy as np

    rows = list(SceneEmbedding.objects.filter(analysis=analysis).select_related("scene"))
    own = next((row for row in rows if row.scene_id == scene.pk), None)
    if own is None:
        return []
    target = as_vector(own.vector)
    others = [row for row in rows if row.scene_id != scene.pk and row.dim == own.dim]
    if not others:
        return []
    matrix = np.stack([as_vector(row.vector) for row in others])
    similarity = matrix @ target
    order = np.argsort(-similarity)[:limit]
    return [
        {
            "scene_id": others[i].scene.public_id,
            "index": others[i].scene.index,
            "start_time": others[i].scene.start_time,
            "similarity": round(float(similarity[i]), 4),
        }
        for i in order
    ]


def search_scope(user: User, analysis_id: Any = None, video_id: Any = None) -> list[Analysis]:
    """The analyses a search covers: one analysis, a video's latest, or the whole library.

    Only the user's own: another user's analysis or video is a 404.
    """
    if analysis_id:
        return [analysis_get_for_user(user, analysis_id)]
    analyses = Analysis.objects.filter(video__owner_id=getattr(user, "pk", None))
    if video_id:
        video = video_get_for_user(user, video_id)
        latest = analyses.filter(video=video, scene_index__isnull=False).order_by("-created_at")
        first = latest.first()
        return [first] if first else []
    done = analyses.filter(status=AnalysisStatus.COMPLETED, scene_index__isnull=False)
    return list(done.order_by("video_id", "-created_at").distinct("video_id"))


def search(
    user: User, query: str, *, analysis_id: Any = None, video_id: Any = None, limit: int = 20
) -> dict[str, Any]:
    """Search the user's scenes (see ``vision.search``)."""
    return search_scenes(search_scope(user, analysis_id, video_id), query, limit)


MODEL_FIELDS = (("captions", "captions"), ("tags", "tags"), ("embeddings", "picture search"))


def models_used(analysis: Analysis) -> list[str]:
    """Which model produced each vision field of ``analysis``, and why, for its page:
    e.g. "captions: offline describer — no captioning model available (...)"."""
    found = (analysis.metadata or {}).get("vision_models") or {}
    lines = []
    for key, label in MODEL_FIELDS:
        entry = found.get(key)
        if not entry:
            continue
        model, reason = entry.get("model"), str(entry.get("reason") or "")
        if model and not reason.startswith(("offline", "ImageNet", "MobileNet")):
            lines.append(f"{label}: {model} ({reason})")
        else:
            lines.append(f"{label}: {reason}")
    return lines
