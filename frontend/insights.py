"""What an analysis found, at a glance (as Azure Video Indexer's insights): people with their
appearances, speakers with talk time, tags and on-screen text with the scenes they occur in.

Scenes are named by their 0-based ``index`` here; the page shows ``index + 1``. The data comes
from the people and vision apps' selectors and the scene-extras registry, never their tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypedDict

from analysis.extensions import scene_extras
from analysis.models import Analysis, Scene


class Appearance(TypedDict):
    start: float
    end: float
    scene: int


def _covered_seconds(spans: Iterable[tuple[float, float]]) -> float:
    """Length of the union of ``(start, end)`` spans (overlaps counted once)."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return round(total, 3)


def people_insights(analysis: Analysis) -> list[dict[str, Any]]:
    """Characters (face clusters) with every appearance and their time on screen."""
    from people.selectors import characters_with_appearances

    people = []
    for character in characters_with_appearances(analysis):
        appearances: list[Appearance] = [
            {"start": a.start_time, "end": a.end_time, "scene": a.scene.index}
            for a in character.appearances.all()
        ]
        if not appearances:
            continue
        people.append(
            {
                "id": character.pk,
                "name": character.display_name,
                "thumb": character.thumbnail.url if character.thumbnail else None,
                "seconds": _covered_seconds((a["start"], a["end"]) for a in appearances),
                "scenes": sorted({a["scene"] for a in appearances}),
                "appearances": appearances,
            }
        )
    return people


def speaker_insights(analysis: Analysis) -> list[dict[str, Any]]:
    """Speakers (voice clusters) with their talk time and its share of all speech."""
    from people.selectors import speakers_with_turns

    speakers: list[dict[str, Any]] = []
    for speaker in speakers_with_turns(analysis):
        turns = list(speaker.turns.all())
        if not turns:
            continue
        speakers.append(
            {
                "id": speaker.pk,
                "name": speaker.name or speaker.label,
                "seconds": _covered_seconds((t.start_time, t.end_time) for t in turns),
                "scenes": sorted({t.scene.index for t in turns}),
                "turns": [{"start": t.start_time, "end": t.end_time} for t in turns],
            }
        )
    total = sum(s["seconds"] for s in speakers) or 1.0
    for row in speakers:
        row["share"] = round(row["seconds"] / total, 4)
    return speakers


def _labels(visual: dict[str, Any]) -> set[str]:
    """The editor words of a scene: its objects and tags (words, or ``{label, …}``)."""
    items = [*(visual.get("objects") or []), *(visual.get("tags") or [])]
    found = {str(i.get("label", "") if isinstance(i, dict) else i).strip() for i in items}
    return {label for label in found if label}


def visual_insights(scenes: list[Scene]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Tags (objects and zero-shot tags) and on-screen texts, each with its scenes."""
    extras = scene_extras(scenes)
    tags: dict[str, set[int]] = {}
    texts: dict[str, set[int]] = {}
    for scene in scenes:
        visual = extras.get(scene.pk, {}).get("visual_analysis") or {}
        for label in _labels(visual):
            tags.setdefault(label, set()).add(scene.index)
        text = " ".join(str(visual.get("onscreen_text") or "").split())
        if text:
            texts.setdefault(text, set()).add(scene.index)
    by_count = lambda item: (-len(item[1]), item[0].casefold())  # noqa: E731
    return (
        [{"label": k, "scenes": sorted(v)} for k, v in sorted(tags.items(), key=by_count)],
        [{"text": k, "scenes": sorted(v)} for k, v in sorted(texts.items(), key=by_count)],
    )


def insights_json(analysis: Analysis) -> dict[str, Any]:
    scenes = list(Scene.objects.filter(analysis=analysis).order_by("index"))
    tags, texts = visual_insights(scenes)
    return {
        "duration": analysis.video.duration,
        "scene_count": len(scenes),
        "people": people_insights(analysis),
        "speakers": speaker_insights(analysis),
        "tags": tags,
        "texts": texts,
    }
