"""Keyframes stage: one representative picture per scene, plus a thumbnail and a 1-second frame.

All wanted frames are collected in one sequential decode pass (seeking per scene would decode
each GOP again). ``compute`` writes JPEGs to the scratch directory; ``persist`` moves them into
Django's storage under deterministic names, after deleting what an earlier run left there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile

from analysis.models import Scene
from analysis.pipeline.base import Stage, StageContext, StageError, register
from analysis.pipeline.decode import DecodedFrame, iter_frames
from analysis.pipeline.stages.common import SceneSpan, Throttled, load_scenes, scene_stem

if TYPE_CHECKING:
    import numpy as np

JPEG_QUALITY = 85
THUMB_WIDTH = 160
AFTER_START_SECONDS = 1.0  # the "second frame": what the shot looks like once it has settled


@dataclass(frozen=True)
class SceneImages:
    scene_index: int
    keyframe_time: float
    keyframe: Path
    thumbnail: Path
    after_start: Path


def wanted_frames(scenes: list[SceneSpan], fps: float) -> dict[int, list[tuple[int, str]]]:
    """Frame index -> [(scene index, "key" | "after")]: the middle and ~1 s after the start."""
    wanted: dict[int, list[tuple[int, str]]] = {}
    for scene in scenes:
        last = max(scene.start_frame, scene.end_frame - 1)
        middle = scene.start_frame + (scene.end_frame - scene.start_frame) // 2
        after = min(scene.start_frame + round(AFTER_START_SECONDS * fps), last)
        wanted.setdefault(middle, []).append((scene.index, "key"))
        wanted.setdefault(after, []).append((scene.index, "after"))
    return wanted


def encode_jpeg(image: np.ndarray, width: int | None = None) -> bytes:
    """JPEG bytes of ``image`` (BGR), scaled down to ``width`` if given."""
    import cv2

    if width is not None and image.shape[1] > width:
        height = max(1, round(image.shape[0] * width / image.shape[1]))
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise StageError("Could not encode a keyframe as JPEG.")
    return buffer.tobytes()


def _write(out: Path, name: str, frame: DecodedFrame, kind: str) -> dict[str, tuple[Path, float]]:
    image = frame.bgr()
    if kind == "after":
        path = out / f"{name}_after1s.jpg"
        path.write_bytes(encode_jpeg(image))
        return {"after": (path, frame.time)}
    key, thumb = out / f"{name}.jpg", out / f"{name}_thumb.jpg"
    key.write_bytes(encode_jpeg(image))
    thumb.write_bytes(encode_jpeg(image, THUMB_WIDTH))
    return {"key": (key, frame.time), "thumb": (thumb, frame.time)}


def extract(ctx: StageContext, scenes: list[SceneSpan]) -> dict[int, dict[str, tuple[Path, float]]]:
    """Decode once, writing each wanted frame; scene index -> {"key"|"thumb"|"after": file}."""
    wanted = wanted_frames(scenes, ctx.analysis.video.fps or 25.0)
    out = ctx.workdir / "keyframes"
    out.mkdir(parents=True, exist_ok=True)
    found: dict[int, dict[str, tuple[Path, float]]] = {s.index: {} for s in scenes}
    last_wanted, progress = max(wanted), Throttled(ctx.report)
    last: DecodedFrame | None = None
    for frame in iter_frames(ctx.video_path):
        last = frame
        for scene_index, kind in wanted.get(frame.index, []):
            found[scene_index].update(_write(out, scene_stem(scene_index), frame, kind))
        progress(frame.index / max(last_wanted, 1), f"Extracting keyframes: frame {frame.index}")
        if frame.index >= last_wanted:
            break
    if last is None:
        raise StageError("The video has no frames that can be decoded.")
    # A stream shorter than its scene list (damaged tail): fall back to the last frame seen.
    for scene_index, files in found.items():
        for kind in ("key", "after"):
            if kind not in files:
                files.update(_write(out, scene_stem(scene_index), last, kind))
    return found


@register
class KeyframesStage(Stage[list[SceneImages]]):
    """Save a keyframe (middle of the scene), its thumbnail and the frame 1 s in, per scene."""

    name = "keyframes"
    label = "Extracting keyframes"
    weight = 1.0

    def compute(self, ctx: StageContext) -> list[SceneImages]:
        scenes = load_scenes(ctx.analysis)
        if not scenes:
            return []
        ctx.report(0.0, "Extracting keyframes")
        found = extract(ctx, scenes)
        ctx.report(1.0, f"Extracted keyframes of {len(scenes)} scenes")
        return [
            SceneImages(
                scene_index=index,
                keyframe_time=round(files["key"][1], 3),
                keyframe=files["key"][0],
                thumbnail=files["thumb"][0],
                after_start=files["after"][0],
            )
            for index, files in sorted(found.items())
        ]

    def persist(self, ctx: StageContext, result: list[SceneImages]) -> None:
        storage = Scene._meta.get_field("keyframe").storage
        folder = f"analyses/{ctx.analysis.pk}"
        remove_scene_images(storage, folder)
        scenes = {scene.index: scene for scene in ctx.analysis.scenes.all()}
        for item in result:
            scene = scenes[item.scene_index]
            stem = scene_stem(item.scene_index)
            scene.keyframe.save(f"{stem}.jpg", ContentFile(item.keyframe.read_bytes()), save=False)
            thumb = ContentFile(item.thumbnail.read_bytes())
            scene.thumbnail.save(f"{stem}_thumb.jpg", thumb, save=False)
            after = ContentFile(item.after_start.read_bytes())
            storage.save(f"{folder}/{stem}_after1s.jpg", after)
            scene.keyframe_time = item.keyframe_time
        Scene.objects.bulk_update(list(scenes.values()), ["keyframe", "thumbnail", "keyframe_time"])


def remove_scene_images(storage: object, folder: str) -> None:
    """Delete every ``scene_*`` image in ``folder`` so a rerun leaves no orphans or duplicates."""
    try:
        _dirs, files = storage.listdir(folder)  # type: ignore[attr-defined]
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        if name.startswith("scene_"):
            storage.delete(f"{folder}/{name}")  # type: ignore[attr-defined]
