"""The objects stage: the tags editors see, ImageNet objects, the place and the motion of each
scene.

Tags are editor words (``vision.vocabulary``): from CLIP's zero-shot prompts when a CLIP model
is configured, from ImageNet classes pooled into words over square windows along the whole
keyframe, averaged with the frame 1 s in where the keyframe leaves a word open
(``vision.looks``), "person"/"people" from the faces stage, and "black and white". The raw
ImageNet classes of the keyframe's centre window are kept in ``labels`` for reference only:
they are neither shown nor indexed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from analysis.models import Scene
from analysis.pipeline.base import Stage, StageContext, register
from analysis.pipeline.stages.common import load_scenes
from vision.captioning import ModelUnavailable
from vision.choice import clip_choice
from vision.devices import stage_device
from vision.models import SceneObjects
from vision.stages.common import (
    clip_embeddings,
    clip_model_name,
    image_outputs,
    record_model,
    rows_to_replace,
    run_scenes,
    stage_enabled,
)
from vision.vocabulary import clip_tags as vocabulary_clip_tags
from vision.vocabulary import merge_tags, tags_from_scores

logger = logging.getLogger(__name__)
TOP_LABELS = 5
PLACE_MIN_MASS = 0.15  # share of probability on place-revealing classes needed to say
PLACE_RATIO = 2.0  # and how much more likely one place must be than the other


@dataclass
class ObjectsRow:
    scene_pk: int
    labels: list[dict[str, Any]]
    place: str = ""
    place_score: float = 0.0
    tags: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    motion: float | None = None
    action: str = ""


def top_labels(probs: Any, count: int = TOP_LABELS) -> list[dict[str, Any]]:
    import numpy as np

    from vision.imagenet import class_names

    names = class_names()
    return [
        {"label": names[i], "score": round(float(probs[i]), 4), "class_id": int(i)}
        for i in np.argsort(-probs)[:count]
    ]


def place_of(probs: Any) -> tuple[str, float]:
    """("indoor" | "outdoor" | "", confidence) from the place-revealing ImageNet classes."""
    from vision.imagenet import INDOOR_CLASSES, OUTDOOR_CLASSES

    outdoor = float(sum(probs[i] for i in OUTDOOR_CLASSES))
    indoor = float(sum(probs[i] for i in INDOOR_CLASSES))
    best, other, label = max((outdoor, indoor, "outdoor"), (indoor, outdoor, "indoor"))
    if best < PLACE_MIN_MASS or best < PLACE_RATIO * other:
        return "", 0.0
    return label, round(best / (best + other), 3)


def clip_tags(ctx: StageContext, scenes: list[Scene], rows: dict[int, ObjectsRow]) -> None:
    """Zero-shot tags, actions and place from CLIP, when a CLIP model is configured."""
    from vision import clip

    name = clip_model_name()
    if name is None:
        record_model(ctx, "tags", "mobilenet_v2", clip_choice().reason)
        return
    device = stage_device(ctx.parameters)
    try:
        vectors = clip_embeddings(ctx, scenes, name, device)
    except ModelUnavailable as exc:
        logger.warning("tags from ImageNet classes only: %s", exc)
        record_model(ctx, "tags", "mobilenet_v2", f"ImageNet classes — {name} could not be loaded")
        return
    record_model(ctx, "tags", name, clip_choice().reason)
    matrix = __import__("numpy").stack([vectors[s.pk] for s in scenes])
    tags = clip.zero_shot(matrix, clip.TAG_VOCABULARY, name, device)
    actions = clip.zero_shot(matrix, clip.ACTION_VOCABULARY, name, device)
    places = clip.zero_shot(matrix, clip.PLACE_VOCABULARY, name, device)
    for scene, tag, action, place in zip(scenes, tags, actions, places, strict=True):
        row = rows[scene.pk]
        row.tags = merge_tags(vocabulary_clip_tags(tag, clip.TAG_MIN_PROBABILITY), row.tags)
        row.actions = [{"label": label, "score": p} for label, p in action[:2]]
        row.place, row.place_score = (
            ("indoor" if place[0][0] == "indoors" else "outdoor"),
            place[0][1],
        )


def imagenet_rows(ctx: StageContext, scenes: list[Scene]) -> dict[int, ObjectsRow]:
    """Rows with the ImageNet classes, the place and the tags from pooled classes and faces."""
    from vision import people_link

    outputs = image_outputs(ctx, scenes, stage_device(ctx.parameters))
    faces = people_link.face_counts(ctx.analysis)
    rows = {}
    for scene in scenes:
        frames = outputs["probabilities"][scene.pk]
        mean = frames.mean(axis=0)
        row = ObjectsRow(scene.pk, top_labels(mean), *place_of(mean))
        grey = bool(outputs["grey"].get(scene.pk))
        words = outputs["words"][scene.pk]
        row.tags = tags_from_scores(words, faces=faces.get(scene.pk), black_and_white=grey)
        rows[scene.pk] = row
    return rows


@register
class ObjectsStage(Stage[list[ObjectsRow]]):
    """ImageNet objects, the place, CLIP tags (when configured) and motion of each scene."""

    name = "objects"
    imports = ("numpy", "torch", "cv2")
    label = "Recognising objects and motion"
    weight = 1.0
    cost_follows = "scenes"  # one keyframe per scene

    def compute(self, ctx: StageContext) -> list[ObjectsRow]:
        from vision.motion import action_label

        scenes = run_scenes(ctx)
        if not stage_enabled(ctx, self.name) or not scenes:
            return []
        ctx.report(0.0, "Recognising objects")
        rows = imagenet_rows(ctx, scenes)
        clip_tags(ctx, scenes, rows)
        motion = self._motion(ctx)
        for scene in scenes:
            if scene.index in motion:
                rows[scene.pk].motion = motion[scene.index]
                rows[scene.pk].action = action_label(motion[scene.index])
        ctx.report(1.0, f"Recognised objects in {len(scenes)} scenes")
        return list(rows.values())

    def _motion(self, ctx: StageContext) -> dict[int, float]:
        from vision.motion import shared_motion

        ctx.frame_pass()  # the shots stage's pass left motion.npy (or a resume remakes it)
        spans = load_scenes(ctx.analysis)
        return shared_motion(ctx.workdir, spans, ctx.analysis.video.fps or 25.0) or {}

    def persist(self, ctx: StageContext, result: list[ObjectsRow]) -> None:
        rows_to_replace(ctx, SceneObjects).delete()
        SceneObjects.objects.bulk_create(
            SceneObjects(
                scene_id=row.scene_pk,
                analysis=ctx.analysis,
                labels=row.labels,
                tags=row.tags,
                actions=row.actions,
                place=row.place,
                place_score=row.place_score,
                motion=row.motion,
                action=row.action,
            )
            for row in result
        )
