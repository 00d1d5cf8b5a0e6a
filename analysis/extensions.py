"""Extension points for other apps, registered in their ``AppConfig.ready``.

- Scene extras: a batch function receives all scenes of an analysis at once (so it can load its
  rows in one query) and returns, per scene pk, keys to add beside ``audio_analysis`` in the
  original result shape. Audio extras do the same inside ``audio_analysis`` (e.g. ``speakers``).
- Parameter cleaners validate the analysis parameters an app understands; they return the
  cleaned subset and raise ``ValueError`` with a message for the user.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from analysis.models import Scene

SceneExtra = Callable[[Sequence[Scene]], dict[int, dict[str, Any]]]
_scene_extras: list[SceneExtra] = []


def register_scene_extra(fn: SceneExtra) -> SceneExtra:
    if fn not in _scene_extras:
        _scene_extras.append(fn)
    return fn


def _merged(fns: list[SceneExtra], scenes: Sequence[Scene]) -> dict[int, dict[str, Any]]:
    merged: dict[int, dict[str, Any]] = {scene.pk: {} for scene in scenes}
    for fn in fns:
        for pk, extra in fn(scenes).items():
            merged.setdefault(pk, {}).update(extra)
    return merged


def scene_extras(scenes: Sequence[Scene]) -> dict[int, dict[str, Any]]:
    return _merged(_scene_extras, scenes)


_audio_extras: list[SceneExtra] = []


def register_audio_extra(fn: SceneExtra) -> SceneExtra:
    if fn not in _audio_extras:
        _audio_extras.append(fn)
    return fn


def audio_extras(scenes: Sequence[Scene]) -> dict[int, dict[str, Any]]:
    return _merged(_audio_extras, scenes)


ParameterCleaner = Callable[[dict[str, Any]], dict[str, Any]]
_parameter_cleaners: list[ParameterCleaner] = []


def register_parameter_cleaner(fn: ParameterCleaner) -> ParameterCleaner:
    if fn not in _parameter_cleaners:
        _parameter_cleaners.append(fn)
    return fn


def parameter_cleaners() -> list[ParameterCleaner]:
    return list(_parameter_cleaners)
