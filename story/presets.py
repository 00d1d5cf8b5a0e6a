"""Genre presets: each is only a set of graph weights (no preset has code of its own).

The weights say how much each signal counts when two scenes are compared; a signal missing for
a pair of scenes is left out and the others are renormalised. ``guess_preset`` picks one from
the measured signals when the user did not choose.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

COMPONENTS = (
    "characters",
    "speakers",
    "voiceprint",
    "voice",
    "language",
    "transcript",
    "keywords",
    "dialogue",
    "visual",
    "colour",
    "objects",
    "ocr",
    "motion",
    "time",
    "causal",
)

PRESETS: dict[str, dict[str, float]] = {
    # Film and series: who is on screen and who speaks, then the look of the place.
    "film": {
        "characters": 3.0,
        "speakers": 2.0,
        "voice": 2.0,
        "voiceprint": 2.0,
        "language": 1.0,
        "transcript": 1.5,
        "keywords": 1.0,
        "dialogue": 1.5,
        # The look of a place is one signal among the others: storylines change place and
        # share places (at 2.0 each, over the seven story videos, two storylines in one place
        # were joined by their looks: bench/RESULTS.md, section story).
        "visual": 1.5,
        "colour": 1.5,
        "objects": 1.0,
        "ocr": 0.5,
        "motion": 0.5,
        "time": 0.5,
        "causal": 1.0,
    },
    # News: on-screen captions and speakers carry the thread; studio looks repeat everywhere.
    "news": {
        "characters": 1.5,
        "speakers": 3.0,
        "voice": 2.5,
        "voiceprint": 2.5,
        "language": 1.0,
        "transcript": 2.0,
        "keywords": 2.0,
        "dialogue": 1.5,
        "visual": 1.0,
        "colour": 0.5,
        "objects": 0.5,
        "ocr": 3.0,
        "motion": 0.25,
        "time": 0.5,
        "causal": 1.0,
    },
    # Lectures and interviews: speakers and topics; the picture barely changes.
    "lecture": {
        "characters": 1.0,
        "speakers": 3.0,
        "voice": 3.0,
        "voiceprint": 3.0,
        "language": 1.0,
        "transcript": 3.0,
        "keywords": 2.5,
        "dialogue": 2.0,
        "visual": 0.5,
        "colour": 0.5,
        "objects": 0.5,
        "ocr": 1.5,
        "motion": 0.25,
        "time": 1.0,
        "causal": 0.5,
    },
    # Sports and vlogs: places, movement and things seen; little dialogue.
    "sports": {
        "characters": 1.0,
        "speakers": 1.0,
        "voice": 1.0,
        "voiceprint": 1.0,
        "language": 0.5,
        "transcript": 0.5,
        "keywords": 0.5,
        "dialogue": 0.5,
        "visual": 3.0,
        "colour": 2.5,
        "objects": 2.0,
        "ocr": 1.0,
        "motion": 2.0,
        "time": 1.0,
        "causal": 0.5,
    },
}
ALIASES = {
    "series": "film",
    "interview": "lecture",
    "interviews": "lecture",
    "lectures": "lecture",
    "vlog": "sports",
    "vlogs": "sports",
}
PRESET_CHOICES = ("auto", *PRESETS, *ALIASES)


def preset_name(value: str | None) -> str:
    """The canonical preset for a user's choice; ``auto`` (or nothing) stays ``auto``.

    Raises:
        ValueError: an unknown name, with the list of valid ones.
    """
    if value in (None, "", "auto"):
        return "auto"
    name = ALIASES.get(str(value).lower(), str(value).lower())
    if name not in PRESETS:
        raise ValueError(f"preset must be one of: {', '.join(PRESET_CHOICES)}.")
    return name


def guess_preset(features: Sequence[dict[str, Any]], ocr_texts: Sequence[str]) -> tuple[str, str]:
    """A preset and the reason, from speech density, motion and on-screen text."""
    n = max(len(features), 1)
    speech = sum(1 for f in features if f.get("words_per_second", 0) >= 0.5) / n
    motion = sum(float(f.get("motion") or 0.0) for f in features) / n
    ocr = sum(1 for text in ocr_texts if len(text.strip()) >= 10) / n
    facts = f"speech in {speech:.0%} of scenes, on-screen text in {ocr:.0%}, motion {motion:.3f}"
    if ocr >= 0.4 and speech >= 0.5:
        return "news", f"news: {facts}"
    if speech >= 0.7 and motion < 0.006:
        return "lecture", f"lecture/interview (talk over a still picture): {facts}"
    if speech < 0.3 and motion >= 0.03:
        return "sports", f"sports/vlog (much movement, little speech): {facts}"
    return "film", f"film/series: {facts}"


# A missing signal hands its weight to the closest one that is measured: without picture
# embeddings the colour layout stands for "looks alike", without speaker labels the voice print.
FALLBACKS = {
    "visual": "colour",
    "speakers": "voice",
    "voiceprint": "voice",
    "objects": "keywords",
}


def effective_weights(weights: dict[str, float], present: set[str]) -> dict[str, float]:
    """Weights of the present components, each missing one's weight moved to its fallback."""
    out = {name: w for name, w in weights.items() if name in present and w > 0}
    for name, fallback in FALLBACKS.items():
        if name not in present and fallback in present and weights.get(name, 0) > 0:
            out[fallback] = out.get(fallback, 0.0) + weights[name]
    return out


def apply_multipliers(weights: dict[str, float], multipliers: dict[str, float]) -> dict[str, float]:
    """Preset weights scaled by learned multipliers (clamped to 0.25..4 so none takes over)."""
    return {
        name: round(w * min(4.0, max(0.25, float(multipliers.get(name, 1.0)))), 4)
        for name, w in weights.items()
    }
