"""Extension points for other apps: extra per-scene fields in the result JSON.

An app registers a batch function in its ``AppConfig.ready``; it receives all scenes of an
analysis at once (so it can load its rows in one query) and returns, per scene pk, the keys
to add beside ``audio_analysis`` in the original result shape.
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


def scene_extras(scenes: Sequence[Scene]) -> dict[int, dict[str, Any]]:
    merged: dict[int, dict[str, Any]] = {scene.pk: {} for scene in scenes}
    for fn in _scene_extras:
        for pk, extra in fn(scenes).items():
            merged.setdefault(pk, {}).update(extra)
    return merged
