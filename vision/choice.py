"""Which captioning and CLIP model an analysis uses, and why ("auto" included).

``CAPTION_MODEL``, ``CLIP_MODEL`` and ``IMAGE_EMBEDDING_MODEL`` accept ``auto`` (the default):
the first candidate that is already here — a directory, a model prepared in ``MODELS_DIR``,
an installed offline pack or the Hugging Face cache — is used (BLIP-2 before BLIP on a GPU,
BLIP base on the CPU; CLIP ViT-B/32). ``auto`` never waits for a download in the middle of an
analysis: ``manage.py prefetch_models`` downloads the candidates ahead of time. Where none is
here, captions come from the offline describer and tags and embeddings from MobileNetV2, and
the reason is recorded with the analysis and shown on its page.

A model named explicitly is used as named (and reported if it cannot be loaded).
"""

from __future__ import annotations

from dataclasses import dataclass

from vision.conf import CAPTION_ALIASES, NONE_VALUES, setting
from vision.hub import hub_offline, resolve_model

AUTO = "auto"
MOBILENET = "mobilenet_v2"
CAPTION_CPU = ("Salesforce/blip-image-captioning-base",)
CAPTION_GPU = (
    "Salesforce/blip2-opt-2.7b",
    "Salesforce/blip-image-captioning-large",
    "Salesforce/blip-image-captioning-base",
)
CLIP_CANDIDATES = ("openai/clip-vit-base-patch32",)
PREFETCH_HINT = "manage.py prefetch_models downloads one"


@dataclass(frozen=True)
class Choice:
    """The model to use (None: the offline fallback) and why, in words for editors."""

    name: str | None
    reason: str


def where(name: str) -> str | None:
    """Where model ``name`` already is ("directory", "models dir", "offline pack", "cache"),
    or None when it would have to be downloaded."""
    resolved = resolve_model(name)
    if resolved.local:
        return resolved.kind
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        return None
    cached = try_to_load_from_cache(name, "config.json")
    return "cache" if isinstance(cached, str) else None


def _first_here(candidates: tuple[str, ...]) -> Choice | None:
    for name in candidates:
        found = where(name)
        if found is not None:
            return Choice(name, f"auto: found in the {found}")
    return None


def caption_choice(requested: str | None = None, device: str = "cpu") -> Choice:
    """The captioner for ``requested`` (else ``CAPTION_MODEL``) on ``device``."""
    raw = str((requested if requested is not None else setting("CAPTION_MODEL")) or "").strip()
    if raw.lower() in NONE_VALUES:
        return Choice(None, "offline describer (captioning switched off)")
    if raw.lower() != AUTO:
        return Choice(CAPTION_ALIASES.get(raw, raw), "configured")
    candidates = CAPTION_GPU if device.startswith("cuda") else CAPTION_CPU
    found = _first_here(candidates)
    if found is not None:
        return found
    return Choice(None, f"offline describer — no captioning model available ({PREFETCH_HINT})")


def clip_choice(requested: str | None = None) -> Choice:
    """The CLIP model for tags and text-to-picture search (``CLIP_MODEL``)."""
    raw = str((requested if requested is not None else setting("CLIP_MODEL")) or "").strip()
    if raw.lower() in NONE_VALUES:
        return Choice(None, "ImageNet classes (CLIP switched off)")
    if raw.lower() != AUTO:
        return Choice(raw, "configured")
    found = _first_here(CLIP_CANDIDATES)
    if found is not None:
        return found
    return Choice(None, f"ImageNet classes — no CLIP model available ({PREFETCH_HINT})")


def embedding_choice(requested: str | None = None) -> Choice:
    """The image embedding model (``IMAGE_EMBEDDING_MODEL``): a CLIP model or MobileNetV2."""
    raw = str(
        (requested if requested is not None else setting("IMAGE_EMBEDDING_MODEL")) or ""
    ).strip()
    if raw.lower() in {*NONE_VALUES, MOBILENET}:
        return Choice(MOBILENET, "configured" if raw else "default")
    if raw.lower() != AUTO:
        return Choice(raw, "configured")
    found = _first_here(CLIP_CANDIDATES)
    if found is not None:
        return found
    return Choice(MOBILENET, f"MobileNetV2 — no CLIP model available ({PREFETCH_HINT})")


def prefetch_candidates(device: str = "cpu") -> list[str]:
    """The hub models ``auto`` would pick, for ``prefetch_models`` (configured names first)."""
    names = [
        caption_choice(device=device).name,
        clip_choice().name,
        embedding_choice().name,
    ]
    wanted = [n for n in names if n and n != MOBILENET]
    auto = [*(CAPTION_GPU if device.startswith("cuda") else CAPTION_CPU)[:1], *CLIP_CANDIDATES]
    return list(dict.fromkeys([*wanted, *auto]))


def downloadable() -> bool:
    """Whether the hub may be asked at all (not ``HF_HUB_OFFLINE``)."""
    return not hub_offline()
