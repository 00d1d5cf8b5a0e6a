"""Signals other apps provide, read through their selectors; each one is optional.

An app that is not installed, lacks the selector, or has no rows for the analysis simply adds
nothing: the graph renormalises over the signals that are present. Contracts used:

- ``people.selectors.characters_by_scene(analysis) -> {scene_pk: set[character_pk]}``
- ``people.selectors.speakers_by_scene(analysis) -> {scene_pk: [speaker label, …]}``
- ``people.models.SpeakerTurn.embedding`` (Resemblyzer, 256-d) averaged per scene: voiceprints
- ``people.selectors.character_names(analysis) -> {character_pk: name}`` (else the
  ``people.Character`` rows are read: name or label)
- ``vision.selectors.scene_signals(analysis) -> {scene_pk: {"embedding": [float] | None,
  "objects": [label], "tags": [{"label", "label_ru", "score", "source"}], "ocr": str,
  "caption": str}}`` (else the vision app's rows are read
  directly: ``SceneEmbedding``, ``SceneObjects``, ``SceneText``, ``SceneCaption``)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from django.apps import apps

from analysis.models import Analysis

logger = logging.getLogger(__name__)


@dataclass
class ExternalSignals:
    """Per scene pk: what the people and vision apps know about it."""

    characters: dict[int, set[Any]] = field(default_factory=dict)
    character_names: dict[Any, str] = field(default_factory=dict)
    speakers: dict[int, list[str]] = field(default_factory=dict)
    speaker_names: dict[str, str] = field(default_factory=dict)  # label -> editor's name
    # Per scene the duration-weighted mean of its speech turns' voice embeddings (unit length):
    # the same voice across looks, whatever the speaker clustering decided.
    voiceprints: dict[int, list[float]] = field(default_factory=dict)
    vision: dict[int, dict[str, Any]] = field(default_factory=dict)

    def available(self) -> list[str]:
        names = [
            ("characters", self.characters),
            ("speakers", self.speakers),
            ("voiceprints", self.voiceprints),
            ("vision", self.vision),
        ]
        return [name for name, value in names if value]


def _safe(fn: Any, analysis: Analysis) -> Any:
    try:
        return fn(analysis)
    except Exception:  # a schema mismatch with another app must not stop the storylines
        logger.warning("reading %s failed; going on without it", fn.__name__, exc_info=True)
        return {}


def _call(app: str, function: str, analysis: Analysis) -> Any:
    """``app.selectors.function(analysis)``, or None when the app or the function is absent."""
    if not apps.is_installed(app):
        return None
    try:
        fn = getattr(import_module(f"{app}.selectors"), function)
    except (ImportError, AttributeError):
        return None
    try:
        return fn(analysis)
    except Exception:  # another app's failure must not stop the storylines
        logger.warning("%s.selectors.%s failed; going on without it", app, function, exc_info=True)
        return None


def vision_rows(analysis: Analysis) -> dict[int, dict[str, Any]]:
    """The vision app's rows read directly (until it offers ``scene_signals``)."""
    if not apps.is_installed("vision"):
        return {}
    try:
        from vision.models import SceneCaption, SceneEmbedding, SceneObjects, SceneText
        from vision.search import as_vector
    except ImportError:
        return {}
    out: dict[int, dict[str, Any]] = {}
    for row in SceneEmbedding.objects.filter(analysis=analysis):
        out.setdefault(row.scene_id, {})["embedding"] = as_vector(bytes(row.vector)).tolist()
    for obj in SceneObjects.objects.filter(analysis=analysis):
        labels = [item.get("label") for item in [*obj.labels, *obj.tags] if item.get("label")]
        out.setdefault(obj.scene_id, {})["objects"] = labels
        # The vision app's tags (coarse, scored, with a Russian label) name places; its
        # ImageNet labels are often wrong on film footage ("iPod" for a bird on a branch).
        out[obj.scene_id]["tags"] = [item for item in obj.tags if item.get("label")]
    for scene_id, text in SceneText.objects.filter(analysis=analysis).values_list(
        "scene_id", "text"
    ):
        out.setdefault(scene_id, {})["ocr"] = text
    for scene_id, text in SceneCaption.objects.filter(analysis=analysis).values_list(
        "scene_id", "text"
    ):
        out.setdefault(scene_id, {})["caption"] = text
    return out


def character_names(analysis: Analysis) -> dict[Any, str]:
    """Character pk -> the editor's name or the people app's label."""
    if not apps.is_installed("people"):
        return {}
    try:
        from people.models import Character
    except ImportError:
        return {}
    rows = Character.objects.filter(analysis=analysis).values_list("pk", "name", "label")
    return {pk: name or label for pk, name, label in rows if name or label}


def voiceprints(analysis: Analysis) -> dict[int, list[float]]:
    """Scene pk -> mean voice embedding of its speaker turns (people app rows, read directly)."""
    if not apps.is_installed("people"):
        return {}
    try:
        from people.models import SpeakerTurn
    except ImportError:
        return {}
    import numpy as np

    sums: dict[int, Any] = {}
    rows = SpeakerTurn.objects.filter(scene__analysis=analysis).values_list(
        "scene_id", "start_time", "end_time", "embedding"
    )
    for scene_id, start, end, embedding in rows:
        if embedding:
            vector = np.asarray(embedding, dtype=np.float64) * max(end - start, 0.1)
            sums[scene_id] = sums.get(scene_id, 0.0) + vector
    out = {}
    for scene_id, total in sums.items():
        norm = float(np.linalg.norm(total))
        if norm > 0:
            out[scene_id] = [round(float(v), 5) for v in total / norm]
    return out


def speaker_names(analysis: Analysis) -> dict[str, str]:
    """Speaker label -> the name an editor gave it (only named speakers)."""
    if not apps.is_installed("people"):
        return {}
    try:
        from people.models import Speaker
    except ImportError:
        return {}
    rows = Speaker.objects.filter(analysis=analysis).exclude(name="").values_list("label", "name")
    return {str(label): name for label, name in rows}


def load_external(analysis: Analysis) -> ExternalSignals:
    """Everything the other apps offer for ``analysis`` (empty parts when they offer nothing)."""
    characters = _call("people", "characters_by_scene", analysis) or {}
    speakers = _call("people", "speakers_by_scene", analysis) or {}
    names = _call("people", "character_names", analysis) or _safe(character_names, analysis)
    vision = _call("vision", "scene_signals", analysis) or _safe(vision_rows, analysis)
    return ExternalSignals(
        characters={k: set(v) for k, v in characters.items() if v},
        character_names=dict(names),
        speakers={k: [str(s) for s in v] for k, v in speakers.items() if v},
        speaker_names=_safe(speaker_names, analysis) or {},
        voiceprints=_safe(voiceprints, analysis) or {},
        vision={k: dict(v) for k, v in vision.items() if v},
    )
