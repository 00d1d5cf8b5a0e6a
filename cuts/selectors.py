"""Reads of cut review: the cuts of an analysis, its cut edits, and the change announcement."""

from __future__ import annotations

import logging
from typing import Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from analysis.models import Analysis
from analysis.pipeline.stages.common import RESCENE_FAILED_KEY, RESCENE_KEY
from analysis.progress import group_name
from cuts.models import CutEdit

logger = logging.getLogger(__name__)


class CutJSON(TypedDict):
    time: float
    frame: int
    scene_id: str  # the scene that starts at the cut
    scene_number: int


class CutEditJSON(TypedDict):
    id: int
    action: str
    summary: str
    time: float
    from_time: float | None
    user: str | None
    created_at: str
    undone: bool


def cuts_of(analysis: Analysis) -> list[CutJSON]:
    """Every cut between two scenes, in time order (the video's start and end are not cuts)."""
    rows = analysis.scenes.filter(index__gt=0).order_by("index")
    return [
        CutJSON(
            time=round(start, 6), frame=frame, scene_id=f"scene_{index + 1}", scene_number=index + 1
        )
        for index, start, frame in rows.values_list("index", "start_time", "start_frame")
    ]


def edit_json(edit: CutEdit) -> CutEditJSON:
    return CutEditJSON(
        id=edit.pk,
        action=edit.action,
        summary=edit.summary,
        time=edit.time,
        from_time=edit.from_time,
        user=getattr(edit.user, "username", None),
        created_at=edit.created_at.isoformat(),
        undone=edit.undone_at is not None,
    )


def cuts_json(analysis: Analysis) -> dict[str, Any]:
    """The cuts, the edit history (newest first), whether scenes are being re-run and whether
    their latest re-run failed."""
    from cuts.services import min_scene_seconds

    edits = analysis.cut_edits.select_related("user").order_by("-created_at", "-id")[:50]
    pending = (analysis.metadata or {}).get(RESCENE_KEY)
    rerun = analysis.scenes.filter(pk__in=pending["scene_ids"]) if pending else None
    failed = (analysis.metadata or {}).get(RESCENE_FAILED_KEY) or {}
    unrun = analysis.scenes.filter(pk__in=failed.get("scene_ids", [])).order_by("index")
    return {
        "cuts": cuts_of(analysis),
        "edits": [edit_json(e) for e in edits],
        "can_undo": analysis.cut_edits.filter(undone_at__isnull=True).exists(),
        "can_redo": analysis.cut_edits.filter(undone_at__isnull=False).exists(),
        "rescene_scene_ids": list(pending["scene_ids"]) if pending else [],
        "rescene_scenes": [s.public_id for s in rerun.order_by("index")] if rerun else [],
        # The latest re-run failed: the analysis kept its results; these scenes wait for a retry.
        "rescene_error": failed.get("error", ""),
        "rescene_failed_scenes": [s.public_id for s in unrun] if failed else [],
        "status": analysis.status,
        "message": analysis.message,
        "min_scene_seconds": min_scene_seconds(),
        "fps": analysis.video.fps,
        "duration": analysis.video.duration,
    }


def publish_cuts_changed(
    analysis: Analysis, edit: CutEdit, step: str | None = None, *, tab: str = ""
) -> None:
    """Tell everyone watching the analysis that its scenes changed (``step``: ``edit``,
    ``undo`` or ``redo``; by default ``undo`` for an undone edit, else ``edit``; ``tab``: the
    browser tab that asked, as ``story.services.publish_change``); never fails."""
    layer = get_channel_layer()
    if layer is None:
        return
    event = {
        "type": "cuts.changed",
        "analysis_id": str(analysis.pk),
        "step": step or ("undo" if edit.undone_at else "edit"),
        "tab": tab,
        "edit": edit_json(edit),
    }
    try:
        async_to_sync(layer.group_send)(group_name(analysis.pk), event)
    except Exception:  # a broken channel layer must not undo a saved edit
        logger.warning("could not publish a cut change of %s", analysis.pk, exc_info=True)
