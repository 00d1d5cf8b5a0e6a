"""Reads of the people app: ownership-checked lookups and per-scene views for other apps.

Other apps use ``characters_by_scene`` (storylines), ``character_names_by_scene`` (search),
``speakers_by_scene`` (the original result's ``audio_analysis.speakers``) and
``scene_turns_by_scene`` (the vision stages, to look at footage stored on its side upright).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from analysis.models import Analysis, Scene
from analysis.selectors import User, owned_or_404
from people.models import Character, FaceAppearance, Speaker, SpeakerTurn


def character_get_for_user(user: User, character_id: Any) -> Character:
    queryset = Character.objects.select_related("analysis")
    return owned_or_404(queryset, "analysis__video__owner_id", user, character_id, "character")


def speaker_get_for_user(user: User, speaker_id: Any) -> Speaker:
    queryset = Speaker.objects.select_related("analysis")
    return owned_or_404(queryset, "analysis__video__owner_id", user, speaker_id, "speaker")


def characters_with_appearances(analysis: Analysis) -> QuerySet[Character]:
    appearances = FaceAppearance.objects.select_related("scene").order_by("start_time")
    return (
        Character.objects.filter(analysis=analysis)
        .prefetch_related(Prefetch("appearances", queryset=appearances))
        .order_by("order")
    )


def speakers_with_turns(analysis: Analysis) -> QuerySet[Speaker]:
    turns = SpeakerTurn.objects.select_related("scene", "segment").order_by("start_time")
    return (
        Speaker.objects.filter(analysis=analysis)
        .prefetch_related(Prefetch("turns", queryset=turns))
        .order_by("order")
    )


def characters_by_scene(analysis: Analysis) -> dict[int, set[int]]:
    """Scene pk -> pks of the characters seen in it (scenes without faces are left out)."""
    result: dict[int, set[int]] = {}
    rows = FaceAppearance.objects.filter(character__analysis=analysis).values_list(
        "scene_id", "character_id"
    )
    for scene_id, character_id in rows:
        result.setdefault(scene_id, set()).add(character_id)
    return result


def scene_turns_by_scene(analysis: Analysis) -> dict[int, int]:
    """Scene pk -> degrees clockwise (90 or 270) that turn the scene's frames upright, for the
    scenes whose faces were all found sideways (footage stored on its side); scenes with an
    upright face, or none, are left out."""
    turns: dict[int, set[int]] = {}
    rows = FaceAppearance.objects.filter(character__analysis=analysis).values_list(
        "scene_id", "turn"
    )
    for scene_id, turn in rows:
        turns.setdefault(scene_id, set()).add(turn)
    return {scene: next(iter(found)) for scene, found in turns.items() if found in ({90}, {270})}


def _names_by_scene(rows: Any) -> dict[int, list[str]]:
    """(scene, order, name) rows -> scene -> unique names in the people's order."""
    result: dict[int, list[str]] = {}
    for scene_id, _order, name in sorted(rows, key=lambda r: (r[0], r[1])):
        if not name:
            continue
        names = result.setdefault(scene_id, [])
        if name not in names:
            names.append(name)
    return result


def character_names_by_scene(
    analysis: Analysis, include_labels: bool = False
) -> dict[int, list[str]]:
    """Scene pk -> names editors gave the characters seen in it (with labels if asked)."""
    rows = FaceAppearance.objects.filter(character__analysis=analysis).values_list(
        "scene_id", "character__order", "character__name", "character__label"
    )
    return _names_by_scene(
        (scene, order, name or (label if include_labels else ""))
        for scene, order, name, label in rows
    )


def speakers_by_scene(analysis: Analysis) -> dict[int, list[str]]:
    """Scene pk -> who speaks in it (editor's name, else "Speaker N"), in speaker order."""
    rows = SpeakerTurn.objects.filter(speaker__analysis=analysis).values_list(
        "scene_id", "speaker__order", "speaker__name", "speaker__label"
    )
    return _names_by_scene((scene, order, name or label) for scene, order, name, label in rows)


def characters_summary(analysis: Analysis) -> list[dict[str, Any]]:
    """Characters with counts (for listings that do not need every appearance)."""
    rows = (
        Character.objects.filter(analysis=analysis)
        .annotate(appearance_count=Count("appearances"))
        .order_by("order")
    )
    return [
        {
            "id": c.pk,
            "label": c.label,
            "name": c.name,
            "display_name": c.display_name,
            "confidence": c.confidence,
            "appearance_count": c.appearance_count,
        }
        for c in rows
    ]


def _scene_characters(appearances: list[FaceAppearance]) -> list[dict[str, Any]]:
    """One entry per character in a scene: its time range there and its largest face."""
    by_character: dict[int, list[FaceAppearance]] = {}
    for item in appearances:
        by_character.setdefault(item.character_id, []).append(item)
    entries: list[tuple[int, dict[str, Any]]] = []
    for items in by_character.values():
        character = items[0].character
        best = max(items, key=lambda a: a.w * a.h)
        entry = {
            "id": character.pk,
            "label": character.label,
            "name": character.name or None,
            "confidence": round(character.confidence, 4),
            "start_time": round(min(a.start_time for a in items), 3),
            "end_time": round(max(a.end_time for a in items), 3),
            "box": {"x": best.x, "y": best.y, "w": best.w, "h": best.h},
        }
        entries.append((character.order, entry))
    return [entry for _order, entry in sorted(entries, key=lambda pair: pair[0])]


def people_scene_extra(scenes: Sequence[Scene]) -> dict[int, dict[str, Any]]:
    """Scene extra for the result JSON: ``people`` (names) and ``characters`` (details).

    Both are null when the faces stage did not run (or was turned off) for the analysis.
    """
    if not scenes:
        return {}
    analysis_ids = {scene.analysis_id for scene in scenes}
    ran = {
        pk
        for pk, metadata in Analysis.objects.filter(
            pk__in=analysis_ids, completed_stages__contains=["faces"]
        ).values_list("pk", "metadata")
        if not (metadata or {}).get("faces", {}).get("skipped")
    }
    appearances = (
        FaceAppearance.objects.filter(scene__in=[s.pk for s in scenes])
        .select_related("character")
        .order_by("start_time")
    )
    by_scene: dict[int, list[FaceAppearance]] = {}
    for item in appearances:
        by_scene.setdefault(item.scene_id, []).append(item)
    result: dict[int, dict[str, Any]] = {}
    for scene in scenes:
        if scene.analysis_id not in ran:
            result[scene.pk] = {"people": None, "characters": None}
            continue
        characters = _scene_characters(by_scene.get(scene.pk, []))
        names = [c["name"] or c["label"] for c in characters]
        result[scene.pk] = {"people": names, "characters": characters}
    return result


def speakers_audio_extra(scenes: Sequence[Scene]) -> dict[int, dict[str, Any]]:
    """``audio_analysis.speakers`` of the original result shape: names per scene, or null."""
    if not scenes:
        return {}
    analysis = scenes[0].analysis
    if not Speaker.objects.filter(analysis=analysis).exists():
        return {}  # the speakers stage did not run: keep the original's null
    by_scene = speakers_by_scene(analysis)
    return {scene.pk: {"speakers": by_scene.get(scene.pk, [])} for scene in scenes}
