"""Writes of the story app: a grouping's rows, editors' corrections with undo/redo, regroup.

Every correction runs in one transaction holding the analysis row lock, records the storyline
state before and after (``StorylineEdit``), and is announced to the analysis's WebSocket group
as a ``storyline.changed`` event once committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from analysis.models import Analysis, AnalysisStatus, Scene
from analysis.progress import group_name
from story.graph import SceneNode
from story.grouping import GroupingResult, plan_grouping
from story.models import (
    EditAction,
    MembershipSource,
    SceneConfidence,
    SceneEdge,
    SceneExclusion,
    SceneInterest,
    SceneRelevance,
    Storyline,
    StorylineEdit,
    StorylineLock,
    StorylineScene,
    StoryPreference,
)
from story.naming import PALETTE
from videoanalyzer.errors import Refused

logger = logging.getLogger(__name__)
ORDER_OFFSET = 100_000  # orders are unique per analysis: park rows here while renumbering


class StoryEditError(Refused):
    """A correction that cannot be applied; the message is for the user (HTTP 400/409)."""

    status = 400


class StoryBusy(StoryEditError):
    status = 409


# --- Persisting a grouping -----------------------------------------------------------------------


def apply_grouping(
    analysis: Analysis, nodes: list[SceneNode], result: GroupingResult, excluded: set[int]
) -> None:
    """Replace the analysis's storylines, relevance, edges and interest with ``result``.

    Storylines an editor made or placed scenes in keep their row (and id); the others are
    replaced. Call inside a transaction.
    """
    kept = {p.storyline_id for p in result.storylines if p.storyline_id}
    Storyline.objects.filter(analysis=analysis).exclude(pk__in=kept).delete()
    _park_orders(analysis)
    StorylineScene.objects.filter(scene__analysis=analysis).delete()
    SceneRelevance.objects.filter(scene__analysis=analysis).delete()
    rows = {}
    for plan in result.storylines:
        storyline = rows[plan.order] = _storyline_row(analysis, plan)
        editor = set(plan.editor_positions)
        StorylineScene.objects.bulk_create(
            StorylineScene(
                storyline=storyline,
                scene_id=nodes[pos].pk,
                relevance=plan.relevance[pos],
                source=MembershipSource.EDITOR if pos in editor else MembershipSource.AUTO,
            )
            for pos in plan.positions
        )
        SceneRelevance.objects.bulk_create(
            SceneRelevance(storyline=storyline, scene_id=nodes[pos].pk, relevance=r)
            for pos, r in enumerate(plan.relevance)
            if r > 0
        )
    SceneExclusion.objects.filter(scene__analysis=analysis).delete()
    SceneExclusion.objects.bulk_create(SceneExclusion(scene_id=nodes[p].pk) for p in excluded)
    _replace_edges(analysis, nodes, result)
    _replace_confidences(analysis, nodes, result, rows)
    SceneInterest.objects.filter(scene__analysis=analysis).delete()
    SceneInterest.objects.bulk_create(
        SceneInterest(scene_id=node.pk, score=item["score"], parts=item["parts"])
        for node, item in zip(nodes, result.interest, strict=True)
    )


def _replace_confidences(
    analysis: Analysis,
    nodes: list[SceneNode],
    result: GroupingResult,
    rows: dict[int, Storyline],
) -> None:
    SceneConfidence.objects.filter(scene__analysis=analysis).delete()
    SceneConfidence.objects.bulk_create(
        SceneConfidence(
            scene_id=node.pk,
            confidence=item["confidence"],
            reasons=item["reasons"],
            against=item["against"],
            runner_up=rows.get(item["runner_up"]) if item["runner_up"] is not None else None,
            needs_review=item["needs_review"],
        )
        for node, item in zip(nodes, result.scenes, strict=True)
        if item is not None
    )


def _park_orders(analysis: Analysis) -> None:
    for storyline in Storyline.objects.filter(analysis=analysis, order__lt=ORDER_OFFSET):
        storyline.order += ORDER_OFFSET
        storyline.save(update_fields=["order"])


def _storyline_row(analysis: Analysis, plan: Any) -> Storyline:
    fields = {
        "name": plan.name[:200],
        "description": plan.description,
        "color": plan.color,
        "order": plan.order,
    }
    if plan.storyline_id:
        Storyline.objects.filter(pk=plan.storyline_id).update(**fields)
        storyline = Storyline.objects.get(pk=plan.storyline_id)
    else:
        storyline = Storyline.objects.create(analysis=analysis, **fields)
    if any(plan.lock.values()):
        StorylineLock.objects.update_or_create(
            storyline=storyline,
            defaults={
                k: bool(plan.lock.get(k)) for k in ("name", "color", "description", "created")
            },
        )
    return storyline


def _replace_edges(analysis: Analysis, nodes: list[SceneNode], result: GroupingResult) -> None:
    SceneEdge.objects.filter(analysis=analysis).delete()
    SceneEdge.objects.bulk_create(edge_rows(analysis, nodes, result.edges))


def edge_rows(
    analysis: Analysis, nodes: list[SceneNode], edges: list[dict[str, Any]]
) -> list[SceneEdge]:
    """The graph's edges as rows, their ends turned from node positions into scene ids."""
    return [
        SceneEdge(
            analysis=analysis,
            source_id=nodes[e["source"]].pk,
            target_id=nodes[e["target"]].pk,
            kind=e["kind"],
            weight=e["weight"],
            components=e["components"],
        )
        for e in edges
    ]


# --- Snapshots for undo/redo ------------------------------------------------------------------


def snapshot(analysis: Analysis) -> dict[str, Any]:
    """The editable storyline state of ``analysis`` as plain JSON."""
    storylines = []
    for s in Storyline.objects.filter(analysis=analysis).select_related("lock").order_by("order"):
        lock = getattr(s, "lock", None)
        storylines.append(
            {
                "id": s.pk,
                "name": s.name,
                "description": s.description,
                "color": s.color,
                "order": s.order,
                "lock": {f: getattr(lock, f) for f in ("name", "color", "description", "created")}
                if lock
                else None,
            }
        )
    members = list(
        StorylineScene.objects.filter(scene__analysis=analysis).values(
            "storyline_id", "scene_id", "relevance", "source"
        )
    )
    relevance = list(
        SceneRelevance.objects.filter(scene__analysis=analysis).values_list(
            "storyline_id", "scene_id", "relevance"
        )
    )
    excluded = list(
        SceneExclusion.objects.filter(scene__analysis=analysis).values_list("scene_id", flat=True)
    )
    confidences = list(
        SceneConfidence.objects.filter(scene__analysis=analysis).values(
            "scene_id", "confidence", "reasons", "against", "runner_up_id", "needs_review"
        )
    )
    return {
        "storylines": storylines,
        "members": members,
        "relevance": [list(r) for r in relevance],
        "excluded": excluded,
        "confidences": confidences,
    }


def restore(analysis: Analysis, state: dict[str, Any]) -> None:
    """Put ``analysis``'s storylines back as ``state`` recorded them (ids included); rows of
    scenes that a cut edit removed since are left out."""
    state = _of_scenes(state, set(analysis.scenes.values_list("pk", flat=True)))
    wanted = {s["id"] for s in state["storylines"]}
    Storyline.objects.filter(analysis=analysis).exclude(pk__in=wanted).delete()
    _park_orders(analysis)
    StorylineScene.objects.filter(scene__analysis=analysis).delete()
    SceneRelevance.objects.filter(scene__analysis=analysis).delete()
    for item in state["storylines"]:
        fields = {k: item[k] for k in ("name", "description", "color", "order")}
        Storyline.objects.update_or_create(pk=item["id"], analysis=analysis, defaults=fields)
        StorylineLock.objects.filter(storyline_id=item["id"]).delete()
        if item["lock"]:
            StorylineLock.objects.create(storyline_id=item["id"], **item["lock"])
    StorylineScene.objects.bulk_create(StorylineScene(**m) for m in state["members"])
    SceneRelevance.objects.bulk_create(
        SceneRelevance(storyline_id=a, scene_id=b, relevance=r) for a, b, r in state["relevance"]
    )
    SceneExclusion.objects.filter(scene__analysis=analysis).delete()
    SceneExclusion.objects.bulk_create(SceneExclusion(scene_id=pk) for pk in state["excluded"])
    SceneConfidence.objects.filter(scene__analysis=analysis).delete()
    SceneConfidence.objects.bulk_create(
        SceneConfidence(**row) for row in state.get("confidences", [])
    )


def _of_scenes(state: dict[str, Any], alive: set[int]) -> dict[str, Any]:
    return {
        **state,
        "members": [m for m in state["members"] if m["scene_id"] in alive],
        "relevance": [r for r in state["relevance"] if r[1] in alive],
        "excluded": [pk for pk in state["excluded"] if pk in alive],
        "confidences": [c for c in state.get("confidences", []) if c["scene_id"] in alive],
    }


# --- Corrections ------------------------------------------------------------------------------


def _check_editable(analysis: Analysis) -> None:
    if analysis.status in (AnalysisStatus.QUEUED, AnalysisStatus.RUNNING):
        raise StoryBusy("The analysis is still running; correct its storylines when it is done.")
    if not analysis.scenes.exists():
        raise StoryEditError("This analysis has no scenes to group.")


def _edit(
    analysis: Analysis,
    user: Any,
    action: str,
    params: dict[str, Any],
    change: Callable[[Analysis], str],
    tab: str,
) -> StorylineEdit:
    """Run ``change`` (returns a summary) as one recorded, undoable correction; its
    announcement names ``tab``, the browser tab that asked for it (see ``publish_change``)."""
    with transaction.atomic():
        locked = Analysis.objects.select_for_update().get(pk=analysis.pk)
        _check_editable(locked)
        before = snapshot(locked)
        summary = change(locked)
        # A new correction forgets what was undone (the usual editor behaviour).
        StorylineEdit.objects.filter(analysis=locked, undone_at__isnull=False).delete()
        edit = StorylineEdit.objects.create(
            analysis=locked,
            user=user,
            action=action,
            params=params,
            summary=summary[:300],
            before=before,
            after=snapshot(locked),
        )
        transaction.on_commit(lambda: publish_change(locked, edit, tab=tab))
    return edit


def _storyline(analysis: Analysis, storyline_id: int) -> Storyline:
    try:
        return Storyline.objects.get(pk=storyline_id, analysis=analysis)
    except Storyline.DoesNotExist as exc:
        raise StoryEditError(f"No storyline {storyline_id} in this analysis.") from exc


def _place(scene: Scene, storyline: Storyline) -> None:
    """Make ``storyline`` the scene's primary storyline, as an editor decision."""
    StorylineScene.objects.filter(scene=scene).delete()
    SceneExclusion.objects.filter(scene=scene).delete()
    StorylineScene.objects.create(
        storyline=storyline, scene=scene, relevance=1.0, source=MembershipSource.EDITOR
    )
    SceneRelevance.objects.filter(scene=scene).delete()
    SceneRelevance.objects.create(storyline=storyline, scene=scene, relevance=1.0)
    SceneConfidence.objects.update_or_create(
        scene=scene,
        defaults={
            "confidence": 1.0,
            "reasons": [{"signal": "editor", "why": "placed by an editor"}],
            "against": None,
            "runner_up": None,
            "needs_review": False,
        },
    )


def _new_storyline(analysis: Analysis, name: str, color: str | None) -> Storyline:
    existing = list(Storyline.objects.filter(analysis=analysis).values_list("order", "color"))
    order = max((o for o, _ in existing), default=-1) + 1
    used = {c for _, c in existing}
    colour = color or next((c for c in PALETTE if c not in used), PALETTE[order % len(PALETTE)])
    storyline = Storyline.objects.create(
        analysis=analysis, name=name[:200], color=colour, order=order
    )
    StorylineLock.objects.create(storyline=storyline, created=True, name=True, color=bool(color))
    return storyline


def _members(storyline: Storyline) -> list[Scene]:
    return list(Scene.objects.filter(memberships__storyline=storyline).order_by("index").distinct())


def move_scene(
    *, analysis: Analysis, user: Any, scene: Scene, storyline_id: int | None, tab: str = ""
) -> StorylineEdit:
    """Put ``scene`` in the storyline (None: in no storyline)."""
    if storyline_id is None:
        return exclude_scene(analysis=analysis, user=user, scene=scene, tab=tab)

    def change(locked: Analysis) -> str:
        target = _storyline(locked, storyline_id)
        _place(scene, target)
        return f"Scene {scene.index + 1} moved to \u201c{target.name}\u201d"

    params = {"scene_id": scene.public_id, "storyline_id": storyline_id}
    return _edit(analysis, user, EditAction.MOVE, params, change, tab)


def exclude_scene(*, analysis: Analysis, user: Any, scene: Scene, tab: str = "") -> StorylineEdit:
    """Mark ``scene`` as belonging to no storyline."""

    def change(locked: Analysis) -> str:
        StorylineScene.objects.filter(scene=scene).delete()
        SceneRelevance.objects.filter(scene=scene).delete()
        SceneConfidence.objects.filter(scene=scene).delete()
        SceneExclusion.objects.get_or_create(scene=scene)
        return f"Scene {scene.index + 1} taken out of every storyline"

    return _edit(analysis, user, EditAction.EXCLUDE, {"scene_id": scene.public_id}, change, tab)


def split_storyline(
    *,
    analysis: Analysis,
    user: Any,
    storyline_id: int,
    scenes: list[Scene],
    name: str | None = None,
    tab: str = "",
) -> StorylineEdit:
    """Move ``scenes`` of a storyline into a new one; both parts become editor decisions."""

    def change(locked: Analysis) -> str:
        source = _storyline(locked, storyline_id)
        members = {s.pk: s for s in _members(source)}
        if not scenes or any(s.pk not in members for s in scenes):
            raise StoryEditError("Split needs scenes that are in the storyline being split.")
        if len(scenes) == len(members):
            raise StoryEditError("Split must leave at least one scene in the storyline.")
        new = _new_storyline(locked, name or f"{source.name} (part 2)", None)
        moved = {s.pk for s in scenes}
        for scene in members.values():
            _place(scene, new if scene.pk in moved else source)
        return f"\u201c{source.name}\u201d split: {len(moved)} scenes to \u201c{new.name}\u201d"

    params = {"storyline_id": storyline_id, "scene_ids": [s.public_id for s in scenes]}
    return _edit(analysis, user, EditAction.SPLIT, params, change, tab)


def merge_storylines(
    *, analysis: Analysis, user: Any, storyline_id: int, into_id: int, tab: str = ""
) -> StorylineEdit:
    """Move every scene of one storyline into another and delete the first."""
    if storyline_id == into_id:
        raise StoryEditError("A storyline cannot be merged into itself.")

    def change(locked: Analysis) -> str:
        source, target = _storyline(locked, storyline_id), _storyline(locked, into_id)
        for scene in _members(source) + _members(target):
            _place(scene, target)
        name = source.name
        source.delete()
        return f"\u201c{name}\u201d merged into \u201c{target.name}\u201d"

    params = {"storyline_id": storyline_id, "into_id": into_id}
    return _edit(analysis, user, EditAction.MERGE, params, change, tab)


def update_storyline(
    *, analysis: Analysis, user: Any, storyline_id: int, changes: dict[str, str], tab: str = ""
) -> StorylineEdit:
    """Rename, recolour or re-describe a storyline; what is set stays set on a re-run."""
    changes = {k: v for k, v in changes.items() if k in ("name", "color", "description")}
    if not changes:
        raise StoryEditError("Nothing to change: give name, color or description.")

    def change(locked: Analysis) -> str:
        storyline = _storyline(locked, storyline_id)
        old = storyline.name
        for key, value in changes.items():
            setattr(storyline, key, value)
        storyline.save(update_fields=list(changes))
        lock, _ = StorylineLock.objects.get_or_create(storyline=storyline)
        for key in changes:
            setattr(lock, key, True)
        lock.save()
        return f"\u201c{old}\u201d: " + ", ".join(f"{k} set" for k in changes)

    params = {"storyline_id": storyline_id, **changes}
    return _edit(analysis, user, EditAction.RENAME, params, change, tab)


def create_storyline(
    *,
    analysis: Analysis,
    user: Any,
    name: str,
    color: str | None = None,
    scenes: list[Scene] | None = None,
    tab: str = "",
) -> StorylineEdit:
    """A new storyline made by an editor, optionally with scenes moved into it."""

    def change(locked: Analysis) -> str:
        storyline = _new_storyline(locked, name, color)
        for scene in scenes or []:
            _place(scene, storyline)
        return f"\u201c{storyline.name}\u201d created with {len(scenes or [])} scenes"

    params = {"name": name, "color": color, "scene_ids": [s.public_id for s in scenes or []]}
    return _edit(analysis, user, EditAction.CREATE, params, change, tab)


def regroup(
    *,
    analysis: Analysis,
    user: Any,
    num_storylines: int | None = None,
    preset: str | None = None,
    tab: str = "",
) -> StorylineEdit:
    """Group the scenes again from the stored signals, keeping every editor decision."""
    from story.constraints import grouping_input, scene_nodes

    def change(locked: Analysis) -> str:
        nodes = scene_nodes(locked)
        if not any(n.features for n in nodes):
            raise StoryEditError("This analysis has no stored scene signals; re-run it instead.")
        chosen = preset or locked.parameters.get("preset")
        inp = grouping_input(locked, nodes, num_storylines, chosen)
        result = plan_grouping(inp)
        apply_grouping(locked, nodes, result, inp.excluded)
        locked.metadata = {**locked.metadata, "storylines": result.metadata}
        locked.save(update_fields=["metadata", "updated_at"])
        _remember_multipliers(locked, result.metadata.get("learned_multipliers") or {})
        return f"scenes regrouped into {result.metadata['num_storylines']} storylines"

    params = {"num_storylines": num_storylines, "preset": preset}
    return _edit(analysis, user, EditAction.REGROUP, params, change, tab)


def _remember_multipliers(analysis: Analysis, learned: dict[str, float]) -> None:
    """With the owner's opt-in, blend what this video taught into their defaults."""
    pref = StoryPreference.objects.filter(user_id=analysis.video.owner_id).first()
    if not learned or pref is None or not pref.learn_from_edits:
        return
    old = pref.weight_multipliers or {}
    pref.weight_multipliers = {
        k: round((float(old.get(k, 1.0)) * v) ** 0.5, 4) for k, v in learned.items()
    }
    pref.save(update_fields=["weight_multipliers", "updated_at"])


def set_preferences(*, user: Any, learn_from_edits: bool) -> StoryPreference:
    pref, _ = StoryPreference.objects.get_or_create(user=user)
    pref.learn_from_edits = learn_from_edits
    if not learn_from_edits:
        pref.weight_multipliers = {}
    pref.save()
    return pref


# --- Undo / redo --------------------------------------------------------------------------------


def undo(*, analysis: Analysis, user: Any, tab: str = "") -> StorylineEdit:
    """Revert the latest correction not yet undone."""
    return _step(analysis, user, redo=False, tab=tab)


def redo(*, analysis: Analysis, user: Any, tab: str = "") -> StorylineEdit:
    """Apply again the earliest undone correction."""
    return _step(analysis, user, redo=True, tab=tab)


def _step(analysis: Analysis, user: Any, *, redo: bool, tab: str) -> StorylineEdit:
    with transaction.atomic():
        locked = Analysis.objects.select_for_update().get(pk=analysis.pk)
        _check_editable(locked)
        edits = StorylineEdit.objects.filter(analysis=locked)
        if redo:
            edit = edits.filter(undone_at__isnull=False).order_by("created_at", "id").first()
        else:
            edit = edits.filter(undone_at__isnull=True).order_by("-created_at", "-id").first()
        if edit is None:
            raise StoryEditError("Nothing to redo." if redo else "Nothing to undo.")
        restore(locked, edit.after if redo else edit.before)
        edit.undone_at = None if redo else timezone.now()
        edit.undone_by = None if redo else user
        edit.save(update_fields=["undone_at", "undone_by"])
        step = "redo" if redo else "undo"
        transaction.on_commit(lambda: publish_change(locked, edit, step, tab=tab))
    return edit


# --- Announcements ----------------------------------------------------------------------------


def publish_change(
    analysis: Analysis, edit: StorylineEdit, step: str = "edit", *, tab: str = ""
) -> None:
    """Tell everyone watching the analysis that its storylines changed; never fails.

    ``tab`` is the id the asking browser tab sent (``X-Tab-Id``), echoed so that tab knows the
    change for its own however late the event comes; empty when no tab asked.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    event = {
        "type": "storyline.changed",
        "analysis_id": str(analysis.pk),
        "step": step,
        "tab": tab,
        "edit": {
            "id": edit.pk,
            "action": edit.action,
            "summary": edit.summary,
            "user": getattr(edit.user, "username", None),
            "created_at": edit.created_at.isoformat(),
        },
    }
    try:
        async_to_sync(layer.group_send)(group_name(analysis.pk), event)
    except Exception:  # a broken channel layer must not undo a saved correction
        logger.warning("could not publish a storyline change of %s", analysis.pk, exc_info=True)
