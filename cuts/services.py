"""Writes of cut review: add, remove and move a cut, and undo the latest cut edit.

Every edit runs in one transaction holding the analysis row lock: it checks the request (a
refused one changes nothing), changes the Scene rows and what hangs on them (``cuts.scenes``),
records a ``CutEdit`` with what undo needs, and queues the partial re-run of the scenes it
touched (``cuts.rescene``). Cuts sit on frame boundaries: a time is rounded to the nearest
frame of the video.

On a merge (a removed cut) the merged scene keeps the storyline decisions of one part: an
editor's (placed or excluded by hand) over the machine's, else the longer part's. On a split
(an added cut) both halves keep the scene's decisions. Undo puts back the same scene rows
(same ids), their storyline decisions and their transcript segments.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from analysis.conf import setting
from analysis.models import Analysis, AnalysisStatus, Scene
from analysis.pipeline.stages.common import RESCENE_FAILED_KEY, RESCENE_KEY, format_clock
from cuts import scenes as rows
from cuts.models import CutAction, CutEdit
from cuts.rescene import rescene_queue, rescene_retry
from videoanalyzer.errors import Conflict, NotFound, Refused

HALF_FRAME = 0.5


class CutError(Refused):
    """A cut edit that cannot be made; the message is for the editor (HTTP 400)."""


class CutBusy(Conflict):
    """The analysis is running (or re-running scenes): edits wait for it (HTTP 409)."""


class CutNotFound(NotFound):
    """No such cut or scene in the analysis (HTTP 404)."""


@dataclass
class Change:
    """What an edit did: for the ``CutEdit`` row and the re-run."""

    summary: str
    time: float
    scene_ids: list[int]
    before: dict[str, Any] = field(default_factory=dict)
    from_time: float | None = None


# --- Checks ---------------------------------------------------------------------------------------


def min_scene_seconds() -> float:
    return float(setting("MIN_SCENE_SECONDS"))


def _check_editable(analysis: Analysis) -> None:
    """An analysis can have its cuts edited once it is complete, and while (or after) the
    re-run of an earlier cut edit: the new edit takes that re-run over (``rescene_queue``)."""
    rerun = RESCENE_KEY in (analysis.metadata or {})
    if analysis.status in (AnalysisStatus.QUEUED, AnalysisStatus.RUNNING) and not rerun:
        raise CutBusy("The analysis is still running; edit its cuts when it is done.")
    if analysis.status != AnalysisStatus.COMPLETED and not rerun:
        raise CutBusy("Only a finished analysis has cuts to edit.")
    if not analysis.scenes.exists():
        raise CutError("This analysis has no scenes.")


def _frame(analysis: Analysis, time: float) -> int:
    """The frame boundary nearest ``time``; refuses a time outside the video."""
    last = analysis.scenes.order_by("-index").first()
    end = last.end_time if last else analysis.video.duration
    if not math.isfinite(time) or time <= 0 or time >= end:
        raise CutError(f"A cut must lie inside the video (between 0 and {end:.2f} s).")
    return round(time * _fps(analysis))


def _fps(analysis: Analysis) -> float:
    return float(analysis.video.fps or 25.0)


def _seconds(analysis: Analysis, frame: int) -> float:
    return round(frame / _fps(analysis), 6)


def _check_lengths(first: float, second: float) -> None:
    shortest = min_scene_seconds()
    if min(first, second) < shortest - 1e-6:
        raise CutError(
            f"Scenes must last at least {shortest:g} s; this cut would leave one of "
            f"{min(first, second):.2f} s. Put it further from the neighbouring cut."
        )


def _scene_at_frame(analysis: Analysis, frame: int) -> Scene:
    """The scene whose inside holds ``frame``; refuses a frame where a scene starts."""
    starting = analysis.scenes.filter(start_frame=frame).first()
    if starting is not None and starting.index > 0:
        raise CutError(
            f"There is already a cut at {format_clock(starting.start_time)} "
            f"(scene {starting.index + 1} starts there)."
        )
    scene = analysis.scenes.filter(start_frame__lt=frame, end_frame__gt=frame).first()
    if scene is None:
        raise CutError("No scene holds this time; a cut must lie inside the video.")
    return scene


def cut_scene(analysis: Analysis, *, scene_id: str | None, time: float | None) -> Scene:
    """The scene that starts at a cut, named by the scene (``scene_4``) or by the cut's time.

    Raises:
        CutNotFound: no such scene, or no cut at that time.
        CutError: the start or the end of the video, which are not cuts.
    """
    if scene_id is not None:
        scene = _scene_by_public_id(analysis, scene_id)
    elif time is not None:
        scene = _scene_by_cut_time(analysis, time)
    else:
        raise CutError("Name the cut by scene_id (the scene that starts at it) or by time.")
    if scene.index == 0:
        raise CutError("Scene 1 starts at the beginning of the video: that is not a cut.")
    return scene


def _scene_by_public_id(analysis: Analysis, public_id: str) -> Scene:
    from django.http import Http404

    from story.selectors import scene_by_public_id

    try:
        return scene_by_public_id(analysis, public_id)
    except Http404 as exc:
        raise CutNotFound(f"No scene {public_id} in this analysis.") from exc


def _scene_by_cut_time(analysis: Analysis, time: float) -> Scene:
    last = analysis.scenes.order_by("-index").first()
    tolerance = HALF_FRAME / _fps(analysis)
    if last is not None and math.isfinite(time) and abs(time - last.end_time) <= tolerance:
        raise CutError("The end of the video is not a cut.")
    if math.isfinite(time) and abs(time) <= tolerance:
        raise CutError("The start of the video is not a cut.")
    scene = (
        analysis.scenes.filter(start_time__gte=time - tolerance, start_time__lte=time + tolerance)
        .order_by("index")
        .first()
        if math.isfinite(time)
        else None
    )
    if scene is None:
        raise CutNotFound(f"There is no cut at {time:.3f} s.")
    return scene


def _previous(scene: Scene) -> Scene:
    return Scene.objects.get(analysis_id=scene.analysis_id, index=scene.index - 1)


# --- Edits ----------------------------------------------------------------------------------------


def add_cut(*, analysis: Analysis, user: Any, time: float, tab: str = "") -> CutEdit:
    """Cut the scene holding ``time`` in two there; both halves keep its storyline decisions.

    Raises:
        CutError: outside the video, on a cut, or too close to one (``MIN_SCENE_SECONDS``).
        CutBusy: the analysis is running.
    """

    return _edit(analysis, user, CutAction.ADD, lambda locked: _add(locked, time), tab)


def _add(analysis: Analysis, time: float, pk: int | None = None) -> Change:
    """Split the scene holding ``time``; the new scene gets ``pk`` when given (a redo)."""
    frame = _frame(analysis, time)
    scene = _scene_at_frame(analysis, frame)
    cut = _seconds(analysis, frame)
    _check_lengths(cut - scene.start_time, scene.end_time - cut)
    before = {"segments": rows.segments_state([scene]), "story": rows.story_state(scene)}
    new = split(analysis, scene, frame, cut, pk)
    number = scene.index + 1
    summary = f"Cut added at {format_clock(cut)}: scene {number} split into scenes "
    summary += f"{number} and {number + 1}"
    return Change(summary, cut, [scene.pk, new.pk], before)


def remove_cut(
    *,
    analysis: Analysis,
    user: Any,
    scene_id: str | None = None,
    time: float | None = None,
    tab: str = "",
) -> CutEdit:
    """Remove the cut where a scene starts: that scene joins the one before it.

    Raises:
        CutNotFound: no such scene or cut.
        CutError: the start or end of the video.
        CutBusy: the analysis is running.
    """

    def change(locked: Analysis) -> Change:
        return _remove(locked, cut_scene(locked, scene_id=scene_id, time=time))

    return _edit(analysis, user, CutAction.REMOVE, change, tab)


def _remove(analysis: Analysis, second: Scene) -> Change:
    """Join ``second`` to the scene before it."""
    first = _previous(second)
    before = {
        "removed": _scene_state(second),
        "kept_story": rows.story_state(first),
        "segments": rows.segments_state([first, second]),
    }
    merge(analysis, first, second)
    n = first.index + 1
    summary = f"Cut at {format_clock(second.start_time)} removed: scenes {n} and {n + 1} "
    summary += f"merged into scene {n}"
    return Change(summary, second.start_time, [first.pk], before)


def move_cut(
    *,
    analysis: Analysis,
    user: Any,
    to: float,
    scene_id: str | None = None,
    time: float | None = None,
    tab: str = "",
) -> CutEdit:
    """Move the cut where a scene starts to ``to`` (between the cuts either side of it).

    Raises:
        CutNotFound: no such scene or cut.
        CutError: the start or end of the video, a place outside the two scenes, or one
            leaving a scene shorter than ``MIN_SCENE_SECONDS``.
        CutBusy: the analysis is running.
    """

    def change(locked: Analysis) -> Change:
        return _move(locked, cut_scene(locked, scene_id=scene_id, time=time), to)

    return _edit(analysis, user, CutAction.MOVE, change, tab)


def _move(analysis: Analysis, second: Scene, to: float) -> Change:
    """Move the cut where ``second`` starts to ``to``."""
    first = _previous(second)
    frame = _frame(analysis, to)
    if frame == second.start_frame:
        raise CutError(f"The cut is already at {format_clock(second.start_time)}.")
    if not first.start_frame < frame < second.end_frame:
        raise CutError(
            f"A cut moves between the cuts either side of it "
            f"({format_clock(first.start_time)} to {format_clock(second.end_time)})."
        )
    cut, old = _seconds(analysis, frame), second.start_time
    _check_lengths(cut - first.start_time, second.end_time - cut)
    before = {"segments": rows.segments_state([first, second]), "from_frame": second.start_frame}
    shift(first, second, frame, cut)
    n = second.index + 1
    summary = f"Scene {n} now starts at {format_clock(cut)} (was {format_clock(old)})"
    return Change(summary, cut, [first.pk, second.pk], before, from_time=old)


def undo_cut(*, analysis: Analysis, user: Any, tab: str = "") -> CutEdit:
    """Undo the latest cut edit not yet undone, and re-run the scenes it touched.

    Raises:
        CutError: nothing to undo, or storyline corrections made after it (undo them first).
        CutBusy: the analysis is running.
    """
    from story.models import StorylineEdit

    with transaction.atomic():
        locked = Analysis.objects.select_for_update().select_related("video").get(pk=analysis.pk)
        _check_editable(locked)
        edit = (
            locked.cut_edits.filter(undone_at__isnull=True).order_by("-created_at", "-id").first()
        )
        if edit is None:
            raise CutError("No cut edit to undo.")
        later = StorylineEdit.objects.filter(
            analysis=locked, created_at__gt=edit.created_at, undone_at__isnull=True
        )
        if later.exists():
            raise CutError("Storylines were corrected after this cut edit; undo those first.")
        scene_ids = UNDO[edit.action](locked, edit)
        edit.undone_at = timezone.now()
        edit.save(update_fields=["undone_at"])
        rescene_queue(locked, scene_ids, edit, tab=tab)
    return edit


def redo_cut(*, analysis: Analysis, user: Any, tab: str = "") -> CutEdit:
    """Make the cut edit undone last again, with the same scene ids, and re-run its scenes.

    Raises:
        CutError: nothing to redo, the cuts around it changed so that it no longer fits, or
            storylines corrected since its undo (undo those first).
        CutBusy: the analysis is running.
    """
    from story.models import StorylineEdit

    with transaction.atomic():
        locked = Analysis.objects.select_for_update().select_related("video").get(pk=analysis.pk)
        _check_editable(locked)
        edit = _undone_cut(locked)
        if edit is None or edit.undone_at is None:
            raise CutError("No cut edit to redo.")
        later = StorylineEdit.objects.filter(
            analysis=locked, created_at__gt=edit.undone_at, undone_at__isnull=True
        )
        if later.exists():
            raise CutError("Storylines were corrected after this undo; undo those first.")
        done = REDO[edit.action](locked, edit)
        edit.before, edit.scene_ids, edit.undone_at = done.before, done.scene_ids, None
        edit.save(update_fields=["before", "scene_ids", "undone_at"])
        rescene_queue(locked, done.scene_ids, edit, step="redo", tab=tab)
    return edit


def _undone_cut(analysis: Analysis) -> CutEdit | None:
    """The cut edit undone last: the first to redo."""
    undone = analysis.cut_edits.filter(undone_at__isnull=False)
    return undone.order_by("-undone_at", "-id").first()


def _scene(analysis: Analysis, pk: int) -> Scene:
    scene = analysis.scenes.filter(pk=pk).first()
    if scene is None:
        raise CutError("The scenes of this edit changed since its undo: it cannot be redone.")
    return scene


REDO: dict[str, Callable[[Analysis, CutEdit], Change]] = {
    CutAction.ADD: lambda a, e: _add(a, e.time, pk=e.scene_ids[1]),
    CutAction.REMOVE: lambda a, e: _remove(a, _scene(a, e.before["removed"]["id"])),
    CutAction.MOVE: lambda a, e: _move(a, _scene(a, e.scene_ids[1]), e.time),
}


def redo_latest(*, analysis: Analysis, user: Any, tab: str = "") -> dict[str, Any]:
    """The timeline's Redo: the newer undo of a cut edit and of a storyline correction is
    made again.

    Returns:
        ``{"kind": "cut" | "storyline", "id", "summary"}`` of what was redone.

    Raises:
        CutError: nothing to redo.
        CutBusy: the analysis is running.
    """
    from story import services as story
    from story.models import StorylineEdit

    cut = _undone_cut(analysis)
    line = StorylineEdit.objects.filter(analysis=analysis, undone_at__isnull=False)
    correction = line.order_by("-undone_at", "-id").first()
    if cut is not None and (correction is None or _later(cut.undone_at, correction.undone_at)):
        redone = redo_cut(analysis=analysis, user=user, tab=tab)
        return {"kind": "cut", "id": redone.pk, "summary": redone.summary}
    if correction is not None:
        edit = story.redo(analysis=analysis, user=user, tab=tab)
        return {"kind": "storyline", "id": edit.pk, "summary": edit.summary}
    raise CutError("Nothing to redo.")


def _later(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and (b is None or a > b)


def retry_rerun(*, analysis: Analysis, user: Any) -> list[int]:
    """Re-run again the scenes whose re-run failed (the analysis kept its earlier results).

    Returns:
        The pks of the scenes queued.

    Raises:
        CutError: the latest re-run did not fail.
        CutBusy: the analysis is running.
    """
    with transaction.atomic():
        locked = Analysis.objects.select_for_update().select_related("video").get(pk=analysis.pk)
        _check_editable(locked)
        if RESCENE_FAILED_KEY not in (locked.metadata or {}):
            raise CutError("The scenes' latest re-run did not fail: there is nothing to retry.")
        return rescene_retry(locked)


def undo_latest(*, analysis: Analysis, user: Any, tab: str = "") -> dict[str, Any]:
    """The timeline's Undo: the newer of the latest cut edit and the latest storyline
    correction not yet undone.

    Returns:
        ``{"kind": "cut" | "storyline", "id", "summary"}`` of what was undone.

    Raises:
        CutError: nothing to undo.
        CutBusy: the analysis is running.
    """
    from story import services as story
    from story.models import StorylineEdit

    newest = ("-created_at", "-id")
    cut = analysis.cut_edits.filter(undone_at__isnull=True).order_by(*newest).first()
    line = StorylineEdit.objects.filter(analysis=analysis, undone_at__isnull=True)
    correction = line.order_by(*newest).first()
    if cut is not None and (correction is None or cut.created_at > correction.created_at):
        undone = undo_cut(analysis=analysis, user=user, tab=tab)
        return {"kind": "cut", "id": undone.pk, "summary": undone.summary}
    if correction is not None:
        edit = story.undo(analysis=analysis, user=user, tab=tab)
        return {"kind": "storyline", "id": edit.pk, "summary": edit.summary}
    raise CutError("Nothing to undo.")


def _edit(
    analysis: Analysis, user: Any, action: str, change: Callable[[Analysis], Change], tab: str
) -> CutEdit:
    """Run ``change`` as one recorded, undoable cut edit and queue its re-run; its
    announcement names ``tab``, the browser tab that asked for it."""
    from story.models import StorylineEdit

    with transaction.atomic():
        locked = Analysis.objects.select_for_update().select_related("video").get(pk=analysis.pk)
        _check_editable(locked)
        done = change(locked)
        # A new edit forgets what was undone, of cuts and of storylines (their snapshots name
        # scenes as they were).
        locked.cut_edits.filter(undone_at__isnull=False).delete()
        StorylineEdit.objects.filter(analysis=locked, undone_at__isnull=False).delete()
        edit = CutEdit.objects.create(
            analysis=locked,
            user=user,
            action=action,
            time=done.time,
            from_time=done.from_time,
            summary=done.summary[:300],
            scene_ids=done.scene_ids,
            before=done.before,
        )
        rescene_queue(locked, done.scene_ids, edit, tab=tab)
    return edit


# --- Scene rows -----------------------------------------------------------------------------------


def split(analysis: Analysis, scene: Scene, frame: int, cut: float, pk: int | None = None) -> Scene:
    """Cut ``scene`` at ``frame``; the part after it becomes a new scene (``pk`` when given,
    to bring back a scene undo restores) with the same storyline decisions."""
    rows.shift_indexes(analysis, scene.index, 1)
    end = (scene.end_frame, scene.end_time)
    rows.set_bounds(scene, start=None, end=(frame, cut))
    new = Scene.objects.create(
        pk=pk,
        analysis=analysis,
        index=scene.index + 1,
        start_frame=frame,
        start_time=cut,
        end_frame=end[0],
        end_time=end[1],
    )
    rows.story_restore(new, rows.story_state(scene))
    rows.reassign_segments([scene, new])
    rows.reassign_faces([scene, new])
    return new


def merge(analysis: Analysis, first: Scene, second: Scene) -> None:
    """Join ``second`` to ``first`` (the scene before it) and delete ``second``."""
    kept = rows.merged_story(first, second)
    rows.set_bounds(first, start=None, end=(second.end_frame, second.end_time))
    from analysis.models import TranscriptSegment
    from people.models import FaceAppearance, SpeakerTurn

    TranscriptSegment.objects.filter(scene=second).update(scene=first)
    SpeakerTurn.objects.filter(scene=second).update(scene=first)
    FaceAppearance.objects.filter(scene=second).update(scene=first)
    rows.story_restore(first, kept)
    index = second.index
    second.delete()
    rows.shift_indexes(analysis, index, -1)


def shift(first: Scene, second: Scene, frame: int, cut: float) -> None:
    """Move the cut between ``first`` and ``second`` to ``frame``."""
    rows.set_bounds(first, start=None, end=(frame, cut))
    rows.set_bounds(second, start=(frame, cut), end=None)
    rows.reassign_segments([first, second])
    rows.reassign_faces([first, second])


def _scene_state(scene: Scene) -> dict[str, Any]:
    return {
        "id": scene.pk,
        "start_frame": scene.start_frame,
        "start_time": scene.start_time,
        "story": rows.story_state(scene),
    }


# --- Undo -----------------------------------------------------------------------------------------


def _undo_add(analysis: Analysis, edit: CutEdit) -> list[int]:
    first_id, second_id = edit.scene_ids
    first, second = Scene.objects.get(pk=first_id), Scene.objects.get(pk=second_id)
    merge(analysis, first, second)
    first.refresh_from_db()
    rows.story_restore(first, edit.before["story"])
    rows.segments_restore(analysis, [first], edit.before["segments"])
    return [first.pk]


def _undo_remove(analysis: Analysis, edit: CutEdit) -> list[int]:
    (first_id,) = edit.scene_ids
    first = Scene.objects.get(pk=first_id)
    removed = edit.before["removed"]
    second = split(analysis, first, removed["start_frame"], removed["start_time"], removed["id"])
    rows.story_restore(first, edit.before["kept_story"])
    rows.story_restore(second, removed["story"])
    rows.segments_restore(analysis, [first, second], edit.before["segments"])
    return [first.pk, second.pk]


def _undo_move(analysis: Analysis, edit: CutEdit) -> list[int]:
    first_id, second_id = edit.scene_ids
    first, second = Scene.objects.get(pk=first_id), Scene.objects.get(pk=second_id)
    assert edit.from_time is not None  # a move always records where the cut was
    shift(first, second, edit.before["from_frame"], edit.from_time)
    rows.segments_restore(analysis, [first, second], edit.before["segments"])
    return [first.pk, second.pk]


UNDO: dict[str, Callable[[Analysis, CutEdit], list[int]]] = {
    CutAction.ADD: _undo_add,
    CutAction.REMOVE: _undo_remove,
    CutAction.MOVE: _undo_move,
}
