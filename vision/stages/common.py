"""What the vision stages share: switches, run metadata and image outputs computed once per run.

Each stage is optional: the analysis parameter ``vision_stages`` (a list of names), else the
setting ``VISION_STAGES``, says which of embeddings/objects/ocr/captions do work; a stage that
is switched off stores nothing (and removes what an earlier run stored).
Heavy libraries are imported inside the functions they serve.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

from analysis.models import Scene
from analysis.pipeline.base import StageContext
from analysis.pipeline.stages.common import in_scope, scene_scope
from videoanalyzer.progress import ProgressThrottle
from vision.conf import as_list, setting
from vision.keyframes import batches, read_rgb, read_scene_rgb, scenes_with_keyframes, upright

if TYPE_CHECKING:
    import numpy as np

MOBILENET = "mobilenet_v2"


def run_scenes(ctx: StageContext) -> list[Scene]:
    """The scenes with a keyframe this run looks at: all, or a partial re-run's (after a cut
    edit)."""
    return in_scope(ctx.analysis, scenes_with_keyframes(ctx.analysis))


def rows_to_replace(ctx: StageContext, model: type[models.Model]) -> models.QuerySet[Any]:
    """The rows of a per-scene ``model`` (with ``analysis`` and ``scene``) this run replaces."""
    rows = model._default_manager.filter(analysis=ctx.analysis)
    scope = scene_scope(ctx.analysis)
    return rows if scope is None else rows.filter(scene_id__in=scope)


def stage_enabled(ctx: StageContext, name: str) -> bool:
    wanted = ctx.param("vision_stages")
    return name in as_list(wanted if wanted is not None else setting("VISION_STAGES"))


def set_metadata(ctx: StageContext, **values: Any) -> None:
    """Facts about the run; the runner merges ``ctx.analysis.metadata`` when it persists."""
    ctx.analysis.metadata = {**(ctx.analysis.metadata or {}), **values}


def clip_model_name() -> str | None:
    """The CLIP model for tags: ``CLIP_MODEL`` (``auto``: one that is here), else a CLIP
    embedding model."""
    from vision.choice import clip_choice, embedding_choice
    from vision.clip import is_clip

    name = clip_choice().name
    embedding = embedding_choice().name or MOBILENET
    if name is None and embedding != MOBILENET and is_clip(embedding):
        name = embedding
    return name


def record_model(ctx: StageContext, field: str, model: str | None, reason: str) -> None:
    """Note which model produced ``field`` (captions, tags, embeddings) and why, for the
    analysis page: ``metadata["vision_models"][field] = {"model", "reason"}``."""
    models = dict((ctx.analysis.metadata or {}).get("vision_models") or {})
    models[field] = {"model": model, "reason": reason}
    set_metadata(ctx, vision_models=models)


def scene_turns(ctx: StageContext) -> dict[int, int]:
    """Scene pk -> degrees clockwise that show the scene upright (``people_link.scene_turns``:
    footage stored on its side, where the faces stage found faces only turned), once per run.
    A network trained on upright pictures sees a sideways screen as a vending machine; which
    way to turn cannot be told from the network's own confidence (it picks wrong turns on
    upright scenes: bench/RESULTS.md, section "vision-cost"), so the faces decide."""
    if "turns" not in ctx.shared:
        from vision import people_link

        ctx.shared["turns"] = people_link.scene_turns(ctx.analysis)
    return dict(ctx.shared["turns"])


def upright_rgb(ctx: StageContext, scene: Scene) -> np.ndarray:
    """The scene's keyframe as RGB, turned upright where its footage lies on its side."""
    image = read_rgb(scene, ctx.analysis.video.width)
    return upright(image, scene_turns(ctx).get(scene.pk, 0))


def image_outputs(ctx: StageContext, scenes: list[Scene], device: str) -> dict[str, Any]:
    """Per scene pk, computed once per run from one MobileNetV2 pass over each whole frame
    (:func:`vision.looks.look_at_scenes`): the keyframe's centre embedding (``embeddings``) and
    centre class probabilities (``probabilities``, one row), the editor words' scores over the
    windows of the keyframe and, where it leaves them open, of the frame 1 s in (``words``,
    :func:`vision.vocabulary.word_scores`) and whether the frames are black and white
    (``grey``)."""
    cached = ctx.shared.get("mobilenet")
    if cached is not None and set(cached["probabilities"]) >= {s.pk for s in scenes}:
        return dict(cached)
    size = int(setting("VISION_BATCH_SIZE"))
    result: dict[str, dict[int, Any]] = {
        "embeddings": {},
        "probabilities": {},
        "words": {},
        "grey": {},
    }
    progress = ProgressThrottle(ctx.report)
    for done, batch in enumerate(batches(scenes, size)):
        _look_at(ctx, batch, device, result)
        progress(min(1.0, (done + 1) * size / len(scenes)), "Looking at the keyframes")
    ctx.shared["mobilenet"] = result
    return result


def _look_at(
    ctx: StageContext, batch: list[Scene], device: str, result: dict[str, dict[int, Any]]
) -> None:
    from vision.looks import look_at_scenes, scores_of
    from vision.vocabulary import is_black_and_white

    width, size = ctx.analysis.video.width, int(setting("VISION_BATCH_SIZE"))
    turns = scene_turns(ctx)
    frames = [
        [upright(image, turns.get(scene.pk, 0)) for image in read_scene_rgb(scene, width)]
        for scene in batch
    ]
    stored = _stored_looks(ctx, batch, turns, device)
    for scene, images, looks in zip(
        batch, frames, look_at_scenes(frames, device, size), strict=True
    ):
        result["embeddings"][scene.pk] = stored.get(scene.pk, looks[0]).embedding
        result["probabilities"][scene.pk] = looks[0].centre[None]  # the second may be a part
        result["words"][scene.pk] = scores_of(looks)
        result["grey"][scene.pk] = is_black_and_white(images)


def _stored_looks(
    ctx: StageContext, batch: list[Scene], turns: dict[int, int], device: str
) -> dict[int, Any]:
    """Scene pk -> the look at the keyframe as stored, for the scenes the tags see turned.
    Their embedding stays the footage's as stored: storylines compare scenes by it, and a
    sideways shot turned only in the scenes where faces were found would look like another
    place than its other scenes (story_dev_01, visual signal alone: 0.445 ARI turned, 0.925 as
    stored; bench/RESULTS.md, story)."""
    from vision.mobilenet import look_at_frames

    turned = [scene for scene in batch if turns.get(scene.pk, 0)]
    if not turned:
        return {}
    width = ctx.analysis.video.width
    images = [read_rgb(scene, width) for scene in turned]
    looks = look_at_frames(images, device, int(setting("VISION_BATCH_SIZE")))
    return {scene.pk: look for scene, look in zip(turned, looks, strict=True)}


def clip_embeddings(ctx: StageContext, scenes: list[Scene], name: str, device: str) -> Any:
    from vision.clip import embed_images

    key = f"clip:{name}"
    if key not in ctx.shared:
        vectors = embed_images([upright_rgb(ctx, s) for s in scenes], name, device)
        ctx.shared[key] = dict(zip([s.pk for s in scenes], vectors, strict=True))
    return ctx.shared[key]
