"""Captions of keyframes with the BLIP family through transformers, and their translation.

BLIP-2 (``Salesforce/blip2-opt-2.7b``, the original service's choice) runs in fp16, 8-bit
(bitsandbytes) or spread over GPU and CPU memory (``CAPTION_CPU_OFFLOAD``, accelerate); BLIP
large/base are the lighter choices. Captions come from beam search over batches of
keyframes. Russian captions are English captions translated by a MarianMT model
(``Helsinki-NLP/opus-mt-en-ru`` by default). Models resolve through ``vision.hub``
and are loaded once per process and configuration.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vision.conf import NONE_VALUES, setting
from vision.devices import select_dtype
from vision.hub import resolve_model

if TYPE_CHECKING:
    import numpy as np

_models: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


class ModelUnavailable(RuntimeError):
    """The configured model cannot be loaded here (not downloaded, or offline)."""


@dataclass(frozen=True)
class CaptionerConfig:
    name: str
    device: str = "cpu"
    precision: str = "auto"
    cpu_offload: bool = False
    beams: int = 3
    max_tokens: int = 30
    batch_size: int = 8


def caption_model_name(requested: str | None = None, device: str = "cpu") -> str | None:
    """The captioning model asked for (aliases expanded, ``auto`` chosen by
    ``vision.choice``), or None for the describer."""
    from vision.choice import caption_choice

    return caption_choice(requested, device).name


def model_type(source: str) -> str:
    """``model_type`` from a local ``config.json``, guessed from the name for hub models."""
    config = Path(source) / "config.json"
    if config.is_file():
        return str(json.loads(config.read_text(encoding="utf-8")).get("model_type", ""))
    return "blip-2" if "blip2" in source.lower() else "blip"


def load_kwargs(config: CaptionerConfig) -> dict[str, Any]:
    """``from_pretrained`` arguments for the precision, quantisation and offload asked for."""
    import torch

    kwargs: dict[str, Any] = {
        "dtype": getattr(torch, select_dtype(config.precision, config.device))
    }
    if config.precision.lower() in {"8bit", "int8"}:
        try:
            from transformers import BitsAndBytesConfig
        except ImportError as exc:  # pragma: no cover - depends on the transformers build
            raise ModelUnavailable("8-bit loading needs bitsandbytes") from exc
        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
        kwargs["device_map"] = {"": config.device}
    elif config.cpu_offload and config.device.startswith("cuda"):
        # Fill the GPU first and keep the rest of the weights in CPU memory (accelerate).
        kwargs["device_map"] = "auto"
    return kwargs


def load_captioner(config: CaptionerConfig) -> tuple[Any, Any]:
    """(model, processor) for ``config``, loaded once per process."""
    resolved = resolve_model(config.name)
    key = ("caption", resolved.source, config.device, config.precision, config.cpu_offload)
    with _lock:
        if key not in _models:
            _models[key] = _load_captioner(resolved.source, resolved.kwargs(), config)
        return _models[key]


def _load_captioner(source: str, hub: dict[str, Any], config: CaptionerConfig) -> Any:
    from transformers import (
        AutoModelForImageTextToText,
        AutoProcessor,
        Blip2ForConditionalGeneration,
        BlipForConditionalGeneration,
    )

    from vision.hub import quiet_transformers

    quiet_transformers()
    classes = {"blip": BlipForConditionalGeneration, "blip-2": Blip2ForConditionalGeneration}
    model_class: Any = classes.get(model_type(source), AutoModelForImageTextToText)
    kwargs = load_kwargs(config)
    try:
        processor = AutoProcessor.from_pretrained(source, **hub)
        model = model_class.from_pretrained(source, **hub, **kwargs)
    except OSError as exc:
        raise ModelUnavailable(f"Cannot load the captioning model '{source}': {exc}") from exc
    if "device_map" not in kwargs:
        model = model.to(config.device)
    return model.eval(), processor


def generate_captions(images: list[np.ndarray], config: CaptionerConfig) -> list[str]:
    """An English caption per RGB image, by beam search in batches."""
    import torch
    from PIL import Image

    model, processor = load_captioner(config)
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    captions: list[str] = []
    for start in range(0, len(images), config.batch_size):
        batch = [Image.fromarray(image) for image in images[start : start + config.batch_size]]
        inputs = processor(images=batch, return_tensors="pt").to(device)
        inputs["pixel_values"] = inputs["pixel_values"].to(dtype)
        with torch.inference_mode():
            output = model.generate(
                **inputs, num_beams=config.beams, max_new_tokens=config.max_tokens, do_sample=False
            )
        texts = processor.batch_decode(output, skip_special_tokens=True)
        captions.extend(tidy(text) for text in texts)
    return captions


def tidy(text: str) -> str:
    """One clean sentence: no stray spaces, capitalised."""
    text = " ".join(text.split())
    return text[:1].upper() + text[1:] if text else text


def translator_name(requested: str | None = None) -> str | None:
    name = (requested if requested is not None else setting("TRANSLATION_MODEL")) or ""
    return None if name.strip().lower() in NONE_VALUES else name.strip()


def load_translator(name: str, device: str) -> tuple[Any, Any]:
    """(MarianMT model, tokenizer) for ``name``, loaded once per process."""
    resolved = resolve_model(name)
    key = ("translate", resolved.source, device)
    with _lock:
        if key not in _models:
            from transformers import AutoTokenizer, MarianMTModel

            from vision.hub import quiet_transformers

            quiet_transformers()
            try:
                tokenizer = AutoTokenizer.from_pretrained(resolved.source, **resolved.kwargs())
                model: Any = MarianMTModel.from_pretrained(resolved.source, **resolved.kwargs())
            except OSError as exc:
                raise ModelUnavailable(f"Cannot load the translator '{name}': {exc}") from exc
            _models[key] = (model.to(device).eval(), tokenizer)
        return _models[key]


def translate(texts: list[str], name: str, device: str = "cpu", beams: int = 3) -> list[str]:
    """Translate English ``texts`` with the MarianMT model ``name`` (batched, beam search)."""
    import torch

    if not texts:
        return []
    model, tokenizer = load_translator(name, device)
    result: list[str] = []
    for start in range(0, len(texts), 16):
        batch = tokenizer(
            texts[start : start + 16],
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=min(512, int(model.config.max_position_embeddings)),
        ).to(device)
        with torch.inference_mode():
            output = model.generate(**batch, num_beams=beams, max_new_tokens=64, do_sample=False)
        result.extend(tidy(t) for t in tokenizer.batch_decode(output, skip_special_tokens=True))
    return result
