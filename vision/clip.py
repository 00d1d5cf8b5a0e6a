"""CLIP through transformers: image embeddings and zero-shot tags from a vocabulary.

Used only when ``IMAGE_EMBEDDING_MODEL`` or ``CLIP_MODEL`` names a CLIP model; the default
path is the offline MobileNetV2. Loaded once per process and device.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from vision.hub import resolve_model
from vision.vocabulary import CLIP_WORDS

if TYPE_CHECKING:
    import numpy as np

# Zero-shot vocabulary: objects, places and actions editors search for.
TAG_VOCABULARY = tuple(CLIP_WORDS)
ACTION_VOCABULARY = (
    "people talking",
    "someone walking",
    "someone running",
    "someone riding a bicycle",
    "someone driving",
    "people dancing",
    "people fighting",
    "people eating",
    "people working",
    "someone reading",
    "a chase",
)
PLACE_VOCABULARY = ("indoors", "outdoors")
TAG_MIN_PROBABILITY = 0.2  # softmax over ~45 prompts: a wrong tag costs more than none

_models: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def is_clip(name: str) -> bool:
    """Whether ``name`` (a path or hub name) is a CLIP model."""
    import json
    from pathlib import Path

    config = Path(resolve_model(name).source) / "config.json"
    if config.is_file():
        return json.loads(config.read_text(encoding="utf-8")).get("model_type") == "clip"
    return "clip" in name.lower()


def load_clip(name: str, device: str) -> tuple[Any, Any]:
    """(CLIPModel, CLIPProcessor) for ``name`` on ``device``."""
    resolved = resolve_model(name)
    key = (resolved.source, device)
    with _lock:
        if key not in _models:
            from transformers import CLIPModel, CLIPProcessor

            from vision.captioning import ModelUnavailable
            from vision.hub import quiet_transformers

            quiet_transformers()
            try:
                processor = CLIPProcessor.from_pretrained(resolved.source, **resolved.kwargs())
                model: Any = CLIPModel.from_pretrained(resolved.source, **resolved.kwargs())
            except OSError as exc:
                raise ModelUnavailable(f"Cannot load the CLIP model '{name}': {exc}") from exc
            _models[key] = (model.to(device).eval(), processor)
        return _models[key]


def _features(output: Any) -> Any:
    # transformers 5 returns a model output object here; older versions a tensor.
    return getattr(output, "pooler_output", output)


def embed_images(images: list[np.ndarray], name: str, device: str, batch: int = 16) -> Any:
    """L2-normalised CLIP image embeddings of RGB images, (n, dim) float32."""
    import numpy as np
    import torch
    from PIL import Image

    model, processor = load_clip(name, device)
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(images), batch):
            pil = [Image.fromarray(i) for i in images[start : start + batch]]
            inputs = processor(images=pil, return_tensors="pt").to(device)
            features = _features(model.get_image_features(**inputs))
            chunks.append(torch.nn.functional.normalize(features, dim=1).float().cpu().numpy())
    return np.concatenate(chunks) if chunks else np.zeros((0, 1), np.float32)


def embed_texts(texts: list[str], name: str, device: str) -> Any:
    """L2-normalised CLIP text embeddings, (n, dim) float32."""
    import torch

    model, processor = load_clip(name, device)
    with torch.inference_mode():
        inputs = processor(text=list(texts), return_tensors="pt", padding=True).to(device)
        features = _features(model.get_text_features(**inputs))
        return torch.nn.functional.normalize(features, dim=1).float().cpu().numpy()


def zero_shot(
    image_embeddings: np.ndarray, labels: tuple[str, ...], name: str, device: str
) -> list[list[tuple[str, float]]]:
    """Per image, the labels ranked by CLIP's softmax over the vocabulary (best first)."""
    import numpy as np

    model, _processor = load_clip(name, device)
    scale = float(model.logit_scale.exp().item())
    text = embed_texts([f"a photo of {label}" for label in labels], name, device)
    logits = scale * image_embeddings @ text.T
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return [[(labels[i], round(float(row[i]), 4)) for i in np.argsort(-row)] for row in probs]
