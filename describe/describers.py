"""What turns a frame into a sentence: the ``Describer`` interface and an offline fallback.

``get_describer()`` picks the configured one (``DESCRIBE_DESCRIBER``):

- ``auto``: the vision app's describer when that app is installed and provides one: its
  ``vision.describers.get_describer()`` if it has that module, else its BLIP-family captioner
  (``vision.captioning``) when ``CAPTION_MODEL`` names a model that loads here; otherwise the
  fallback (a captioner that cannot be loaded, e.g. offline, is logged and skipped);
- ``fallback``: ``FallbackDescriber``, built from cheap image facts (brightness, dominant
  colours, amount of detail, motion) - it needs no model and works fully offline;
- ``package.module:factory``: any callable returning an object with ``describe(sample,
  language)``.

Heavy libraries are imported inside the methods: the web process imports this module.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from describe import conf

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameSample:
    """The frame to describe, as RGB (height x width x 3, uint8), and what surrounds it."""

    image: np.ndarray
    time: float
    # A frame about 0.2 s later in the same scene, for motion; None at the end of a scene.
    following: np.ndarray | None = None


@runtime_checkable
class Describer(Protocol):
    """Anything that describes a frame in one short sentence in ``language`` ("en", "ru")."""

    name: str

    def describe(self, sample: FrameSample, language: str) -> str: ...


# --- The offline fallback --------------------------------------------------------------------

# Hue ranges in degrees (OpenCV's hue is halved) and each colour's English and Russian names;
# the Russian form fits "в ... тонах" (in ... tones).
HUES: tuple[tuple[float, float, str, str], ...] = (
    (0, 15, "red", "красных"),
    (15, 40, "orange", "оранжевых"),
    (40, 70, "yellow", "жёлтых"),
    (70, 165, "green", "зелёных"),
    (165, 195, "cyan", "голубых"),
    (195, 255, "blue", "синих"),
    (255, 290, "purple", "фиолетовых"),
    (290, 340, "pink", "розовых"),
    (340, 361, "red", "красных"),
)
NEUTRALS = {"black": "чёрных", "white": "белых", "grey": "серых"}
MIN_COLOUR_SHARE = 0.1
WORDS = {
    "en": {
        "bright": "bright",
        "dark": "dark",
        "plain": "plain",
        "detailed": "detailed",
        "picture": "picture",
        "moving": "with movement",
        "still": "still",
    },
    "ru": {
        "bright": "яркий",
        "dark": "тёмный",
        "plain": "простой",
        "detailed": "детальный",
        "picture": "кадр",
        "moving": "с движением",  # noqa: RUF001
        "still": "без движения",
    },
}


@dataclass(frozen=True)
class ImageFacts:
    brightness: float  # mean value 0..1
    detail: float  # mean gradient magnitude, 0..255
    motion: float | None  # mean absolute grey difference to the following frame, 0..255
    colours: list[tuple[str, float]]  # (English name, share), largest first


def image_facts(sample: FrameSample) -> ImageFacts:
    """Brightness, detail, motion and the dominant colours of ``sample``."""
    import cv2
    import numpy as np

    small = _shrink(sample.image)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.float32)
    hue, sat, val = hsv[:, 0] * 2.0, hsv[:, 1] / 255.0, hsv[:, 2] / 255.0
    names = np.full(hue.shape, "", dtype=object)
    names[val < 0.2] = "black"
    neutral = (val >= 0.2) & (sat < 0.16)
    names[neutral & (val > 0.78)] = "white"
    names[neutral & (val <= 0.78)] = "grey"
    coloured = names == ""
    for low, high, name, _ru in HUES:
        names[coloured & (hue >= low) & (hue < high)] = name
    labels, counts = np.unique(names.astype(str), return_counts=True)
    shares = sorted(
        (
            (str(label), float(count) / names.size)
            for label, count in zip(labels, counts, strict=True)
        ),
        key=lambda item: (-round(item[1], 2), item[0]),  # ties by name: stable wording
    )
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    detail = float(np.mean(np.abs(np.diff(grey, axis=0)))) + float(
        np.mean(np.abs(np.diff(grey, axis=1)))
    )
    motion = None
    if sample.following is not None:
        other = cv2.cvtColor(_shrink(sample.following), cv2.COLOR_RGB2GRAY).astype(np.float32)
        if other.shape == grey.shape:
            motion = float(np.mean(np.abs(other - grey)))
    return ImageFacts(float(np.mean(val)), detail, motion, shares)


def _shrink(image: np.ndarray, width: int = 160) -> np.ndarray:
    import cv2

    if image.shape[1] <= width:
        return image
    height = max(1, round(image.shape[0] * width / image.shape[1]))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def sentence(facts: ImageFacts, language: str) -> str:
    """A short description of ``facts`` in English or Russian."""
    lang = "ru" if language.startswith("ru") else "en"
    words = WORDS[lang]
    adjectives = []
    if facts.brightness > 0.6:
        adjectives.append(words["bright"])
    elif facts.brightness < 0.3:
        adjectives.append(words["dark"])
    if facts.detail < 4.0:
        adjectives.append(words["plain"])
    elif facts.detail > 30.0:
        adjectives.append(words["detailed"])
    colours = [name for name, share in facts.colours if share >= MIN_COLOUR_SHARE][:3]
    motion = ""
    if facts.motion is not None:
        motion = words["moving"] if facts.motion > 4.0 else words["still"]
    if lang == "ru":
        return _russian(adjectives, words["picture"], colours, motion)
    return _english(adjectives, words["picture"], colours, motion)


def _join(items: list[str], conjunction: str) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def _english(adjectives: list[str], noun: str, colours: list[str], motion: str) -> str:
    text = " ".join(["A", ", ".join([*adjectives, noun]) if adjectives else noun])
    text = text.replace(", " + noun, " " + noun)
    if colours:
        text += f" in {_join(colours, 'and')}"
    return f"{text}, {motion}." if motion else f"{text}."


def _russian(adjectives: list[str], noun: str, colours: list[str], motion: str) -> str:
    text = " ".join([*adjectives, noun])
    text = text[0].upper() + text[1:]
    if colours:
        ru = {name: ru for _l, _h, name, ru in HUES} | NEUTRALS
        text += f" в {_join([ru[c] for c in colours], 'и')} тонах"
    return f"{text}, {motion}." if motion else f"{text}."


class FallbackDescriber:
    """Describes a frame from measurements alone: no model, no network, instant."""

    name = "fallback"

    def describe(self, sample: FrameSample, language: str) -> str:
        return sentence(image_facts(sample), language)


# --- Choosing the describer ------------------------------------------------------------------

_cache: dict[str, Describer] = {}
_lock = threading.Lock()


def vision_describer() -> Describer | None:
    """The vision app's describer, adapted to this interface, if that app provides one."""
    from django.apps import apps

    if not apps.is_installed("vision"):
        return None
    if importlib.util.find_spec("vision.describers") is not None:
        factory = getattr(importlib.import_module("vision.describers"), "get_describer", None)
        if factory is not None:
            return VisionAdapter(factory())
    if importlib.util.find_spec("vision.captioning") is None:
        return None
    from vision import captioning

    name = captioning.caption_model_name()
    if name is None:
        return None
    try:
        return VisionCaptioner(name)
    except captioning.ModelUnavailable as exc:
        logger.warning("captioning model unavailable, using the fallback describer: %s", exc)
        return None


class VisionAdapter:
    """Calls a vision describer with an RGB array and the language."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = f"vision:{getattr(inner, 'name', type(inner).__name__)}"

    def describe(self, sample: FrameSample, language: str) -> str:
        return str(self.inner.describe(sample.image, language=language)).strip()


class VisionCaptioner:
    """The vision app's captioning model (BLIP, BLIP-2...), translated for Russian.

    Loaded when built, so a model that cannot be loaded is known before a job relies on it.
    """

    def __init__(self, model: str) -> None:
        from vision import captioning
        from vision.conf import setting
        from vision.devices import select_device

        self.config = captioning.CaptionerConfig(
            name=model,
            device=select_device(),
            precision=str(setting("CAPTION_PRECISION")),
            cpu_offload=bool(setting("CAPTION_CPU_OFFLOAD")),
            beams=int(setting("CAPTION_BEAMS")),
            max_tokens=int(setting("CAPTION_MAX_TOKENS")),
            batch_size=1,
        )
        captioning.load_captioner(self.config)
        self.name = f"vision:{model}"

    def describe(self, sample: FrameSample, language: str) -> str:
        from vision import captioning

        text = captioning.generate_captions([sample.image], self.config)[0]
        translator = captioning.translator_name()
        if language.startswith("ru") and translator:
            text = captioning.translate([text], translator, self.config.device)[0]
        return text


def load_describer(spec: str) -> Describer:
    """Build the describer named by ``spec`` (see the module docstring)."""
    if spec == "fallback":
        return FallbackDescriber()
    if spec == "auto":
        return vision_describer() or FallbackDescriber()
    module_name, _, attribute = spec.partition(":")
    factory = getattr(importlib.import_module(module_name), attribute or "get_describer")
    describer = factory()
    if not isinstance(describer, Describer):
        raise TypeError(f"{spec} did not return a describer (needs name and describe()).")
    return describer


def get_describer(spec: str | None = None) -> Describer:
    """The configured describer, built once per worker process."""
    key = spec or str(conf.get("DESCRIBE_DESCRIBER"))
    with _lock:
        if key not in _cache:
            _cache[key] = load_describer(key)
            logger.info("describer %s ready", _cache[key].name)
        return _cache[key]
