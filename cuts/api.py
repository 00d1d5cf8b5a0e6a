"""REST API of cut review: the cuts of an analysis, add / remove / move one, undo, redo.

Every path names the analysis; another user's analysis is a 404. An edit answers with the edit
and the cuts as they are now; the scenes it touched are re-run in the background (the analysis
is ``queued``, then ``running``, with progress on ``/ws/analyses/<id>/``), and a ``cuts.changed``
event goes to the same socket. A re-run that fails leaves the analysis ``completed`` with what
it had; the cuts say so (``rescene_error``) and ``cuts/retry`` runs it again. An edit while the
analysis runs is a 409; a cut outside the video, on a cut, or too close to one is a 400; an
unknown scene or cut a 404.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ninja import Router, Schema
from pydantic import Field

from analysis.models import Analysis
from analysis.selectors import analysis_get_for_user
from cuts import selectors, services
from cuts.models import CutEdit
from videoanalyzer.http import AuthedRequest, error_responses, tab_id

router = Router(tags=["cuts"])
ERRORS = error_responses(400, 404, 409, 422)


class CutIn(Schema):
    time: float = Field(description="Where to cut, in seconds (rounded to the nearest frame).")


class CutRef(Schema):
    scene_id: str | None = Field(
        default=None, description="The scene that starts at the cut (scene_4), or…"
    )
    time: float | None = Field(default=None, description="…the cut's time in seconds.")


class CutMove(CutRef):
    to: float = Field(description="The cut's new time in seconds.")


def _analysis(request: AuthedRequest, analysis_id: UUID) -> Analysis:
    return analysis_get_for_user(request.auth, analysis_id)


def _answer(analysis: Analysis, edit: CutEdit) -> dict[str, Any]:
    analysis.refresh_from_db()
    return {"edit": selectors.edit_json(edit), **selectors.cuts_json(analysis)}


@router.get("/analyses/{analysis_id}/cuts", summary="The cuts between scenes and the edits")
def cuts_list(request: AuthedRequest, analysis_id: UUID) -> dict[str, Any]:
    return selectors.cuts_json(_analysis(request, analysis_id))


@router.post(
    "/analyses/{analysis_id}/cuts",
    response={200: dict, **ERRORS},
    summary="Add a cut: the scene holding the time is split in two there",
)
def cut_add(request: AuthedRequest, analysis_id: UUID, payload: CutIn) -> dict[str, Any]:
    analysis = _analysis(request, analysis_id)
    edit = services.add_cut(
        analysis=analysis, user=request.auth, time=payload.time, tab=tab_id(request)
    )
    return _answer(analysis, edit)


@router.post(
    "/analyses/{analysis_id}/cuts/remove",
    response={200: dict, **ERRORS},
    summary="Remove a cut: the scene starting there joins the one before it",
)
def cut_remove(request: AuthedRequest, analysis_id: UUID, payload: CutRef) -> dict[str, Any]:
    analysis = _analysis(request, analysis_id)
    edit = services.remove_cut(
        analysis=analysis,
        user=request.auth,
        scene_id=payload.scene_id,
        time=payload.time,
        tab=tab_id(request),
    )
    return _answer(analysis, edit)


@router.post(
    "/analyses/{analysis_id}/cuts/move",
    response={200: dict, **ERRORS},
    summary="Move a cut to another time between its neighbours",
)
def cut_move(request: AuthedRequest, analysis_id: UUID, payload: CutMove) -> dict[str, Any]:
    analysis = _analysis(request, analysis_id)
    edit = services.move_cut(
        analysis=analysis,
        user=request.auth,
        to=payload.to,
        scene_id=payload.scene_id,
        time=payload.time,
        tab=tab_id(request),
    )
    return _answer(analysis, edit)


@router.post(
    "/analyses/{analysis_id}/cuts/undo",
    response={200: dict, **ERRORS},
    summary="Undo the latest cut edit (its scenes are re-run)",
)
def cut_undo(request: AuthedRequest, analysis_id: UUID) -> dict[str, Any]:
    analysis = _analysis(request, analysis_id)
    edit = services.undo_cut(analysis=analysis, user=request.auth, tab=tab_id(request))
    return _answer(analysis, edit)


@router.post(
    "/analyses/{analysis_id}/cuts/redo",
    response={200: dict, **ERRORS},
    summary="Make the cut edit undone last again (its scenes are re-run)",
)
def cut_redo(request: AuthedRequest, analysis_id: UUID) -> dict[str, Any]:
    analysis = _analysis(request, analysis_id)
    edit = services.redo_cut(analysis=analysis, user=request.auth, tab=tab_id(request))
    return _answer(analysis, edit)


@router.post(
    "/analyses/{analysis_id}/cuts/retry",
    response={200: dict, **ERRORS},
    summary="Re-run again the edited scenes whose re-run failed",
)
def cut_retry(request: AuthedRequest, analysis_id: UUID) -> dict[str, Any]:
    analysis = _analysis(request, analysis_id)
    services.retry_rerun(analysis=analysis, user=request.auth)
    analysis.refresh_from_db()
    return selectors.cuts_json(analysis)


@router.post(
    "/analyses/{analysis_id}/timeline/redo",
    response={200: dict, **ERRORS},
    summary="The timeline's Redo: the latest undone cut edit or storyline correction",
)
def timeline_redo(request: AuthedRequest, analysis_id: UUID) -> dict[str, Any]:
    analysis = _analysis(request, analysis_id)
    return services.redo_latest(analysis=analysis, user=request.auth, tab=tab_id(request))


@router.post(
    "/analyses/{analysis_id}/timeline/undo",
    response={200: dict, **ERRORS},
    summary="The timeline's Undo: the latest cut edit or storyline correction, the newer one",
)
def timeline_undo(request: AuthedRequest, analysis_id: UUID) -> dict[str, Any]:
    analysis = _analysis(request, analysis_id)
    return services.undo_latest(analysis=analysis, user=request.auth, tab=tab_id(request))
