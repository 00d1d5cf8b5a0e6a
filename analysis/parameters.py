"""The analysis app's own parameters, checked when a request arrives (not when a stage runs).

Each checker takes the raw request value and returns the value to store, or raises
``AnalysisParameterError`` (HTTP 422) with a message naming the field and what it accepts.
Model parameters name a model the operator allows: ``model_choice`` is shared with the other
apps (vision's captioner and translator), so a user never makes a worker read a server path or
download a hub model nobody chose.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from analysis.conf import setting
from videoanalyzer.errors import InvalidParameter

SCENE_THRESHOLD_MAX = 255.0  # the widest scale of the detectors (content: 0-255)
MIN_SCENE_SECONDS_MAX = 600.0


def number(raw: dict[str, Any], key: str, low: float, high: float) -> float | None:
    """``raw[key]`` as a finite number in ``[low, high]``; None when absent."""
    value = raw.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidParameter(f"{key} must be a number between {low:g} and {high:g}.")
    try:
        number_value = float(value)
    except ValueError:
        raise InvalidParameter(f"{key} must be a number between {low:g} and {high:g}.") from None
    if not math.isfinite(number_value) or not low <= number_value <= high:
        raise InvalidParameter(f"{key} must be a number between {low:g} and {high:g}.")
    return number_value


def scene_parameters(raw: dict[str, Any]) -> dict[str, Any]:
    """``scene_detector``, ``scene_threshold`` and ``min_scene_seconds``, those present."""
    from mediakit.shots import DETECTORS

    params: dict[str, Any] = {}
    detector = raw.get("scene_detector")
    if detector not in (None, ""):
        if detector not in DETECTORS:
            raise InvalidParameter(f"scene_detector must be one of: {', '.join(DETECTORS)}.")
        params["scene_detector"] = detector
    threshold = number(raw, "scene_threshold", 0.0, SCENE_THRESHOLD_MAX)
    if threshold is not None:
        params["scene_threshold"] = threshold
    seconds = number(raw, "min_scene_seconds", 0.0, MIN_SCENE_SECONDS_MAX)
    if seconds is not None:
        params["min_scene_seconds"] = seconds
    return params


def allowed_names(allowed: str | list[str], configured: str) -> list[str]:
    """The names the operator lets users choose: the allow-list plus the configured default."""
    names = allowed.split(",") if isinstance(allowed, str) else list(allowed)
    return list(dict.fromkeys(n.strip() for n in [*names, configured] if n and n.strip()))


def _shown(name: str) -> bool:
    """A name that may be shown to users (a server path may not)."""
    return not (Path(name).is_absolute() or name.startswith((".", "~")))


def model_choice(
    key: str, value: Any, *, configured: str, allowed: str | list[str], extra: tuple[str, ...] = ()
) -> str:
    """A user's choice of model: one of ``allowed`` (an operator's setting), the configured
    model, or one of ``extra`` (words such as "none").

    Raises:
        InvalidParameter: any other value, paths and hub names included.
    """
    names = allowed_names(allowed, configured)
    if isinstance(value, str) and (value.strip() in names or value.strip().lower() in extra):
        return value.strip()
    choices = [n for n in names if _shown(n)] + [e for e in extra if e]
    listed = ", ".join(choices) if choices else "none: the server's default only"
    raise InvalidParameter(f"{key} must be one of the models this server allows ({listed}).")


def whisper_model(raw: dict[str, Any]) -> dict[str, Any]:
    value = raw.get("whisper_model")
    if value in (None, ""):
        return {}
    chosen = model_choice(
        "whisper_model",
        value,
        configured=str(setting("WHISPER_MODEL_SIZE")),
        allowed=str(setting("WHISPER_MODELS_ALLOWED")),
    )
    return {"whisper_model": chosen}
