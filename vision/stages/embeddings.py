"""The embeddings stage: an image vector per keyframe (CLIP when configured, else MobileNetV2)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from analysis.pipeline.base import Stage, StageContext, register
from vision.captioning import ModelUnavailable
from vision.choice import embedding_choice
from vision.devices import stage_device
from vision.models import SceneEmbedding
from vision.stages.common import (
    MOBILENET,
    clip_embeddings,
    image_outputs,
    record_model,
    rows_to_replace,
    run_scenes,
    set_metadata,
    stage_enabled,
)

logger = logging.getLogger(__name__)


@dataclass
class Embeddings:
    model: str = ""
    vectors: dict[int, Any] = field(default_factory=dict)  # scene pk -> float32 array


@register
class EmbeddingsStage(Stage[Embeddings]):
    """An image embedding per keyframe (CLIP when configured, else MobileNetV2)."""

    name = "embeddings"
    imports = ("numpy", "torch")
    label = "Embedding keyframes"
    weight = 0.5
    cost_follows = "scenes"  # one keyframe per scene

    def compute(self, ctx: StageContext) -> Embeddings:
        scenes = run_scenes(ctx)
        if not stage_enabled(ctx, self.name) or not scenes:
            return Embeddings()
        device = stage_device(ctx.parameters)
        chosen = embedding_choice()
        model, reason = chosen.name or MOBILENET, chosen.reason
        ctx.report(0.0, f"Embedding {len(scenes)} keyframes ({model})")
        vectors = None
        if model != MOBILENET:
            try:
                vectors = clip_embeddings(ctx, scenes, model, device)
            except ModelUnavailable as exc:
                logger.warning("MobileNetV2 embeddings instead: %s", exc)
                model, reason = MOBILENET, f"MobileNetV2 — {model} could not be loaded"
        if vectors is None:
            vectors = image_outputs(ctx, scenes, device)["embeddings"]
        record_model(ctx, "embeddings", model, reason)
        ctx.report(1.0, f"Embedded {len(scenes)} keyframes")
        return Embeddings(model, vectors)

    def persist(self, ctx: StageContext, result: Embeddings) -> None:
        import numpy as np

        rows_to_replace(ctx, SceneEmbedding).delete()
        SceneEmbedding.objects.bulk_create(
            SceneEmbedding(
                scene_id=pk,
                analysis=ctx.analysis,
                model=result.model,
                dim=int(np.asarray(vector).size),
                vector=np.asarray(vector, dtype="<f4").tobytes(),
            )
            for pk, vector in result.vectors.items()
        )
        set_metadata(ctx, image_embedding_model=result.model or None)
