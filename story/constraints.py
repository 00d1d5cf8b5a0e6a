"""Reading what a grouping needs from the database: editors' decisions, preferences, audio.

Decisions of an analysis are its editor-placed scenes (``StorylineScene.source == "editor"``),
the scenes an editor put in no storyline, and storylines an editor created or whose name or
colour an editor set. An analysis without decisions of its own inherits those of the latest
other analysis of the same video (a full re-run): scenes are matched by the largest overlap in
time, so a re-run with other shot boundaries still keeps every correction.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from analysis.models import Analysis, Scene
from story.external import load_external
from story.graph import SceneNode
from story.grouping import EditorGroup, GroupingInput
from story.models import (
    MembershipSource,
    SceneExclusion,
    Storyline,
    StorylineScene,
    StoryPreference,
)
from story.presets import preset_name

LOCK_FIELDS = ("name", "color", "description", "created")


def _lock_of(storyline: Storyline) -> dict[str, bool]:
    lock = getattr(storyline, "lock", None)
    return {f: bool(getattr(lock, f, False)) for f in LOCK_FIELDS} if lock else {}


def has_decisions(analysis: Analysis) -> bool:
    return (
        StorylineScene.objects.filter(
            storyline__analysis=analysis, source=MembershipSource.EDITOR
        ).exists()
        or SceneExclusion.objects.filter(scene__analysis=analysis).exists()
        or Storyline.objects.filter(analysis=analysis)
        .filter(Q(lock__created=True) | Q(lock__name=True) | Q(lock__color=True))
        .exists()
    )


def _decisions(
    analysis: Analysis,
) -> tuple[list[tuple[Storyline, list[int], list[int]]], list[int]]:
    """(storyline, editor-placed scene pks, all member pks) for storylines with a decision, and
    the excluded scene pks."""
    editor: dict[int, list[int]] = {}
    members: dict[int, list[int]] = {}
    rows = StorylineScene.objects.filter(storyline__analysis=analysis).values_list(
        "storyline_id", "scene_id", "source"
    )
    for storyline_id, scene_id, source in rows:
        members.setdefault(storyline_id, []).append(scene_id)
        if source == MembershipSource.EDITOR:
            editor.setdefault(storyline_id, []).append(scene_id)
    groups = []
    for storyline in Storyline.objects.filter(analysis=analysis).select_related("lock"):
        lock = _lock_of(storyline)
        if storyline.pk in editor or any(lock.values()):
            groups.append((storyline, editor.get(storyline.pk, []), members.get(storyline.pk, [])))
    excluded = list(
        SceneExclusion.objects.filter(scene__analysis=analysis).values_list("scene_id", flat=True)
    )
    return groups, excluded


def _matcher(old: Analysis, nodes: list[SceneNode]) -> dict[int, int]:
    """Old scene pk -> position of the new scene that overlaps it most in time."""
    mapping = {}
    for pk, start, end in old.scenes.values_list("pk", "start_time", "end_time"):
        overlaps = [min(end, n.end_time) - max(start, n.start_time) for n in nodes]
        best = max(range(len(nodes)), key=lambda i: overlaps[i], default=None)
        if best is not None and overlaps[best] > 0:
            mapping[pk] = best
    return mapping


def editor_groups(
    analysis: Analysis, nodes: list[SceneNode]
) -> tuple[list[EditorGroup], set[int], str | None]:
    """Decisions as positions in ``nodes``: own ones, else carried over from a re-run's source."""
    source, carried = analysis, None
    if not has_decisions(analysis):
        earlier = (
            Analysis.objects.filter(video=analysis.video)
            .exclude(pk=analysis.pk)
            .order_by("-created_at")
        )
        found = next((a for a in earlier if has_decisions(a)), None)
        if found is None:
            return [], set(), None
        source, carried = found, str(found.pk)
    position = (
        {n.pk: i for i, n in enumerate(nodes)} if carried is None else _matcher(source, nodes)
    )
    decided, excluded_pks = _decisions(source)
    groups = []
    for storyline, scene_pks, member_pks in decided:
        groups.append(
            EditorGroup(
                positions=sorted({position[pk] for pk in scene_pks if pk in position}),
                anchor=sorted({position[pk] for pk in member_pks if pk in position}),
                storyline_id=storyline.pk if carried is None else None,
                name=storyline.name,
                description=storyline.description,
                color=storyline.color,
                lock=_lock_of(storyline) or {"created": False},
            )
        )
    excluded = {position[pk] for pk in excluded_pks if pk in position}
    _resolve_conflicts(groups, excluded)
    return groups, excluded, carried


def _resolve_conflicts(groups: list[EditorGroup], excluded: set[int]) -> None:
    """After matching scenes of another cut, a position may be claimed twice: first one wins."""
    seen = set(excluded)
    for group in groups:
        group.positions = [p for p in group.positions if p not in seen]
        seen.update(group.positions)


def user_multipliers(analysis: Analysis) -> dict[str, float]:
    pref = StoryPreference.objects.filter(user_id=analysis.video.owner_id).first()
    return dict(pref.weight_multipliers) if pref and pref.learn_from_edits else {}


def scene_nodes(analysis: Analysis) -> list[SceneNode]:
    """The analysis's scenes with their stored signals, in order."""
    scenes = Scene.objects.filter(analysis=analysis).select_related("story_features")
    return [
        SceneNode(
            s.pk,
            s.index,
            s.start_time,
            s.end_time,
            dict(getattr(getattr(s, "story_features", None), "data", None) or {}),
        )
        for s in scenes.order_by("index")
    ]


def grouping_input(
    analysis: Analysis, nodes: list[SceneNode], wanted: Any, preset: str | None
) -> GroupingInput:
    """Everything ``plan_grouping`` needs for ``analysis``, read from the database."""
    groups, excluded, carried = editor_groups(analysis, nodes)
    loudness = dict(Scene.objects.filter(analysis=analysis).values_list("pk", "audio__loudness_db"))
    return GroupingInput(
        nodes=nodes,
        ext=load_external(analysis),
        wanted=int(wanted) if wanted not in (None, "", "auto") else None,
        preset=preset_name(preset),
        multipliers=user_multipliers(analysis),
        groups=groups,
        excluded=excluded,
        loudness_db=loudness,
        use_llm=bool(analysis.parameters.get("llm", True)),
        carried_from=carried,
    )
