"""Keyframes stage: per scene a representative picture, its thumbnail and the frame 1 s in;
plus the timeline's thumbnail strip.

The pictures come from the candidates the shots stage kept during the run's one decode pass
(``mediakit.framestore``): the keyframe is the candidate nearest the middle of the
scene, the "after 1 s" frame the one nearest 1 s after its start (both inside the scene when
the scene holds one). Only when the scratch files are gone (a run resumed on another machine)
is the pass made again, once for the rest of the run (``StageContext.frame_pass``).

Storage names (``analyses/<analysis id>/``): ``scene_0001.jpg`` (keyframe),
``scene_0001_thumb.jpg`` (160 px wide), ``scene_0001_after1s.jpg``, and ``strip.jpg``, whose
layout goes to ``analysis.metadata["thumbnail_strip"]`` = {"path", "interval", "tile_width",
"tile_height", "count"}: tile ``i`` shows the video at ``i * interval`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile

from analysis.models import Analysis, Scene
from analysis.pipeline.base import Stage, StageContext, StageError, register
from analysis.pipeline.stages.common import (
    SceneSpan,
    in_scope,
    load_scenes,
    scene_scope,
    scene_stem,
)
from mediakit.framestore import (
    AFTER_START_SECONDS,
    Candidate,
    encode_jpeg,
)

THUMB_WIDTH = 160
STRIP_STORAGE_NAME = "strip.jpg"
__all__ = ["KeyframesStage", "SceneImages"]


@dataclass(frozen=True)
class SceneImages:
    scene_index: int
    keyframe_time: float
    keyframe: Path
    after_start: Path
    after_time: float


@dataclass(frozen=True)
class KeyframesResult:
    scenes: list[SceneImages]
    strip: tuple[Path, dict[str, Any]] | None


def nearest(candidates: list[Candidate], time: float, scene: SceneSpan) -> Candidate:
    """The candidate nearest ``time`` inside the scene, else the nearest one anywhere."""
    inside = [c for c in candidates if scene.start_frame <= c.index < scene.end_frame]
    return min(inside or candidates, key=lambda c: abs(c.time - time))


def pick(candidates: list[Candidate], scenes: list[SceneSpan]) -> list[SceneImages]:
    """Each scene's keyframe (nearest its middle) and its frame ~1 s after the start."""
    result = []
    for scene in scenes:
        key = nearest(candidates, (scene.start_time + scene.end_time) / 2, scene)
        after = nearest(candidates, scene.start_time + AFTER_START_SECONDS, scene)
        result.append(SceneImages(scene.index, key.time, key.path, after.path, after.time))
    return result


def pass_candidates(ctx: StageContext) -> list[Candidate]:
    """The candidates the run's decode pass kept (made again if a resumed run lost them).

    Raises:
        StageError: the video has no frame that can be decoded.
    """
    found = ctx.frame_pass().candidates()
    if not found:
        raise StageError("The video has no frames that can be decoded.")
    return found


@register
class KeyframesStage(Stage[KeyframesResult]):
    """Save a keyframe (middle of the scene), its thumbnail and the frame 1 s in, per scene."""

    name = "keyframes"
    imports = ("numpy", "cv2")
    label = "Extracting keyframes"
    weight = 0.5
    cost_follows = "scenes"  # a keyframe per scene

    def compute(self, ctx: StageContext) -> KeyframesResult:
        scenes = in_scope(ctx.analysis, load_scenes(ctx.analysis))
        if not scenes:
            return KeyframesResult([], None)
        ctx.report(0.0, "Choosing keyframes")
        candidates = pass_candidates(ctx)
        chosen = pick(candidates, scenes)
        ctx.report(1.0, f"Chose the keyframes of {len(scenes)} scenes")
        # A partial re-run (after a cut edit) keeps the strip: the video did not change.
        strip = ctx.pass_files.strip() if scene_scope(ctx.analysis) is None else None
        return KeyframesResult(chosen, strip)

    def persist(self, ctx: StageContext, result: KeyframesResult) -> None:
        storage = Scene._meta.get_field("keyframe").storage
        folder = f"analyses/{ctx.analysis.pk}"
        partial = scene_scope(ctx.analysis) is not None
        if not partial:
            remove_scene_images(storage, folder)
        scenes = {
            scene.index: scene for scene in in_scope(ctx.analysis, list(ctx.analysis.scenes.all()))
        }
        for item in result.scenes:
            scene = scenes[item.scene_index]
            stem = scene_stem(item.scene_index)
            if partial:
                _remove_own_images(storage, scene, f"{folder}/{stem}_after1s.jpg")
            picture = item.keyframe.read_bytes()
            scene.keyframe.save(f"{stem}.jpg", ContentFile(picture), save=False)
            thumb = ContentFile(_thumbnail(picture))
            scene.thumbnail.save(f"{stem}_thumb.jpg", thumb, save=False)
            storage.save(f"{folder}/{stem}_after1s.jpg", ContentFile(item.after_start.read_bytes()))
            scene.keyframe_time = round(item.keyframe_time, 3)
        Scene.objects.bulk_update(list(scenes.values()), ["keyframe", "thumbnail", "keyframe_time"])
        if not partial:
            _save_strip(ctx, storage, folder, result.strip)


def _remove_own_images(storage: Any, scene: Scene, after_start: str) -> None:
    """A re-run scene's old pictures go before its new ones are saved (else the storage would
    pick new, suffixed names, and the frame 1 s in is found by its name)."""
    for name in (scene.keyframe.name, scene.thumbnail.name, after_start):
        if name and storage.exists(name):
            storage.delete(name)


def _thumbnail(jpeg: bytes) -> bytes:
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise StageError("A keyframe could not be read back.")
    return encode_jpeg(image, THUMB_WIDTH)


def _save_strip(
    ctx: StageContext, storage: Any, folder: str, strip: tuple[Path, dict[str, Any]] | None
) -> None:
    name = f"{folder}/{STRIP_STORAGE_NAME}"
    if storage.exists(name):
        storage.delete(name)  # else the storage would pick a new, suffixed name
    analysis = Analysis.objects.select_for_update().get(pk=ctx.analysis.pk)
    metadata = dict(analysis.metadata or {})
    if strip is None:
        metadata.pop("thumbnail_strip", None)
    else:
        path, layout = strip
        saved = storage.save(name, ContentFile(path.read_bytes()))
        metadata["thumbnail_strip"] = {"path": saved, **layout}
    analysis.metadata = metadata
    analysis.save(update_fields=["metadata"])
    ctx.analysis.metadata = metadata


def remove_scene_images(storage: object, folder: str) -> None:
    """Delete every ``scene_*`` image in ``folder`` so a rerun leaves no orphans or duplicates."""
    try:
        _dirs, files = storage.listdir(folder)  # type: ignore[attr-defined]
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        if name.startswith("scene_"):
            storage.delete(f"{folder}/{name}")  # type: ignore[attr-defined]
