"""What the vision stages share: switches, run metadata and image outputs computed once per run.

Each stage is optional: the analysis parameter ``vision_stages`` (a list of names), else the
setting ``VISION_STAGES``, says which of embeddings/objects/ocr/captions do work; a stage that
is switched off stores nothing (and removes what an earlier run stored).
Heavy libraries are imported inside the functions they serve.
"""

from __future__ import annotations

from typing import Any

from analysis.models import Scene
from analysis.pipeline.base import StageContext
from videoanalyzer.progress import ProgressThrottle
from vision.conf import as_list, setting
from vision.keyframes import batches, read_rgb

MOBILENET = "mobilenet_v2"


def stage_enabled(ctx: StageContext, name: str) -> bool:
    wanted = ctx.param("vision_stages")
    return name in as_list(wanted if wanted is not None else setting("VISION_STAGES"))


def set_metadata(ctx: StageContext, **values: Any) -> None:
    """Facts about the run; the runner merges ``ctx.analysis.metadata`` when it persists."""
    ctx.analysis.metadata = {**(ctx.analysis.metadata or {}), **values}


def clip_model_name() -> str | None:
    """The CLIP model configured for tags: ``CLIP_MODEL``, else a CLIP embedding model."""
    from vision.clip import is_clip

    name = str(setting("CLIP_MODEL") or "")
    embedding = str(setting("IMAGE_EMBEDDING_MODEL") or MOBILENET)
    if not name and embedding != MOBILENET and is_clip(embedding):
        name = embedding
    return name or None


def image_outputs(ctx: StageContext, scenes: list[Scene], device: str) -> dict[str, Any]:
    """MobileNetV2 embeddings and class probabilities per scene pk, computed once per run."""
    from vision.mobilenet import run_mobilenet

    cached = ctx.shared.get("mobilenet")
    if cached is not None and set(cached["probabilities"]) >= {s.pk for s in scenes}:
        return dict(cached)
    size = int(setting("VISION_BATCH_SIZE"))
    width = ctx.analysis.video.width
    result: dict[str, dict[int, Any]] = {"embeddings": {}, "probabilities": {}}
    progress = ProgressThrottle(ctx.report)
    for done, batch in enumerate(batches(scenes, size)):
        out = run_mobilenet([read_rgb(s, width) for s in batch], device, size)
        for scene, vector, probs in zip(batch, out.embeddings, out.probabilities, strict=True):
            result["embeddings"][scene.pk] = vector
            result["probabilities"][scene.pk] = probs
        progress(min(1.0, (done + 1) * size / len(scenes)), "Looking at the keyframes")
    ctx.shared["mobilenet"] = result
    return result


def clip_embeddings(ctx: StageContext, scenes: list[Scene], name: str, device: str) -> Any:
    from vision.clip import embed_images

    key = f"clip:{name}"
    if key not in ctx.shared:
        width = ctx.analysis.video.width
        vectors = embed_images([read_rgb(s, width) for s in scenes], name, device)
        ctx.shared[key] = dict(zip([s.pk for s in scenes], vectors, strict=True))
    return ctx.shared[key]
