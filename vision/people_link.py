"""What the ``people`` app knows about each scene, when that app is installed.

``people.selectors`` exposes ``character_names_by_scene(analysis)``, ``speakers_by_scene``,
``scene_turns_by_scene`` and optionally ``face_counts_by_scene``, each ``{scene pk: ...}``.
Without the app (or a function) the answer is empty, so the vision stages work on their own.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.apps import apps

from analysis.models import Analysis


def _call(function: str, analysis: Analysis, **kwargs: Any) -> dict[int, Any]:
    if not apps.is_installed("people"):
        return {}
    selectors = import_module("people.selectors")
    found = getattr(selectors, function, None)
    return dict(found(analysis, **kwargs)) if callable(found) else {}


def _names(found: dict[int, Any]) -> dict[int, list[str]]:
    return {pk: [str(name) for name in names] for pk, names in found.items()}


def character_names(analysis: Analysis) -> dict[int, list[str]]:
    """Scene pk -> names editors gave the characters seen in it."""
    return _names(_call("character_names_by_scene", analysis))


def speakers(analysis: Analysis) -> dict[int, list[str]]:
    """Scene pk -> who speaks in it."""
    return _names(_call("speakers_by_scene", analysis))


def face_counts(analysis: Analysis) -> dict[int, int]:
    """Scene pk -> how many different people (characters, named or not) are seen in it."""
    counts = _call("face_counts_by_scene", analysis)
    if counts:
        return {pk: int(count) for pk, count in counts.items()}
    labelled = _call("character_names_by_scene", analysis, include_labels=True)
    return {pk: len(names) for pk, names in labelled.items()}


def scene_turns(analysis: Analysis) -> dict[int, int]:
    """Scene pk -> degrees clockwise (90 or 270) that turn its frames upright: footage stored
    on its side, where the faces stage found faces only once the frames were turned."""
    return {pk: int(degrees) for pk, degrees in _call("scene_turns_by_scene", analysis).items()}
