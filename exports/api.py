"""REST API of the exports: the formats, request an export, follow it, download it.

Every path is checked against the owner: another user's analysis, job or file is a 404.
Refusals (``exports.errors``) are mapped to ``{"detail": ...}`` by the API root.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import FileResponse, Http404
from ninja import Router, Schema
from pydantic import Field

from analysis.selectors import analysis_get_for_user
from exports import selectors, services
from exports.formats import ANALYSIS, STORYLINE, all_formats, formats_for
from exports.models import ExportMode
from exports.services.requests import CUT_MODES
from videoanalyzer.http import AuthedRequest, Detail

router = Router(tags=["exports"])


def _names(scope: str) -> str:
    return ", ".join(f.name for f in formats_for(scope))


class ExportIn(Schema):
    kind: str = Field(
        description=f"{_names(STORYLINE)} (storyline); {_names(ANALYSIS)} (whole analysis); "
        "GET /api/export-formats lists them"
    )
    storyline_id: int | None = Field(default=None, description="null: the whole analysis")
    mode: str | None = Field(
        default=None,
        description="only for formats that cut the video (cut_mode): smart (the default: "
        "frame-accurate, re-encodes only around the cuts), exact (frame-accurate, re-encodes "
        "everything) or copy (keyframes only: includes neighbouring frames of other footage; "
        "GET .../exports/keyframe-cut says how many seconds)",
    )


class FormatOut(Schema):
    name: str
    label: str = Field(description="the menu's label for one storyline")
    analysis_label: str = Field(description="the menu's label for the whole analysis")
    extension: str
    content_type: str
    scopes: list[str] = Field(description="storyline and/or analysis")
    needs: list[str] = Field(description="scenes: a storyline with scenes; video: the source")
    cut_mode: bool = Field(description="it cuts the video, so it takes a mode")


class ModeOut(Schema):
    name: str
    label: str


class FormatsOut(Schema):
    formats: list[FormatOut]
    modes: list[ModeOut]
    default_mode: str


class KeyframeCutOut(Schema):
    storyline_id: int
    name: str
    seconds: float = Field(description="the storyline's own footage")
    extra_seconds: float = Field(description="other footage a keyframes-only cut includes")
    spans: list[tuple[float, float]] = Field(description="what the cut would copy, in seconds")
    summary: str


@router.get("/export-formats", response=FormatsOut, summary="The export formats and cut modes")
def export_formats(request: AuthedRequest) -> dict[str, Any]:
    return {
        "formats": [f.describe() for f in all_formats()],
        "modes": [{"name": m, "label": ExportMode(m).label} for m in CUT_MODES],
        "default_mode": services.DEFAULT_MODE,
    }


@router.get("/analyses/{analysis_id}/exports", summary="Export jobs of an analysis, newest first")
def export_list(request: AuthedRequest, analysis_id: UUID) -> list[dict[str, Any]]:
    analysis = analysis_get_for_user(request.auth, analysis_id)
    current = selectors.analysis_fingerprint(analysis)
    return [selectors.job_json(j, current) for j in selectors.exports_for_analysis(analysis)]


@router.get(
    "/analyses/{analysis_id}/exports/keyframe-cut",
    response={200: list[KeyframeCutOut], 409: Detail},
    summary="Before a keyframes-only (copy) cut: how much other footage each storyline's cut holds",
)
def export_keyframe_cut(request: AuthedRequest, analysis_id: UUID) -> list[dict[str, Any]]:
    analysis = analysis_get_for_user(request.auth, analysis_id)
    return [
        {
            "storyline_id": p.storyline_id,
            "name": p.name,
            "seconds": p.seconds,
            "extra_seconds": p.extra_seconds,
            "spans": [(round(s.start, 3), round(s.end, 3)) for s in p.spans],
            "summary": f"Keyframes only: includes {p.extra_seconds:.1f} s of neighbouring "
            f"footage beyond the storyline's {p.seconds:.1f} s",
        }
        for p in services.keyframe_cut_preview(analysis)
    ]


@router.post(
    "/analyses/{analysis_id}/exports",
    response={200: dict, 202: dict, 400: Detail, 404: Detail, 409: Detail},
    summary="Start an export (200 with the cached job when the analysis has not changed)",
)
def export_create(request: AuthedRequest, analysis_id: UUID, payload: ExportIn) -> tuple[int, Any]:
    analysis = analysis_get_for_user(request.auth, analysis_id)
    job, created = services.export_request(
        analysis=analysis,
        kind=payload.kind,
        storyline_id=payload.storyline_id,
        mode=payload.mode,
    )
    return (202 if created else 200), {**selectors.job_json(job), "cached": not created}


@router.post(
    "/exports/{job_id}/remake",
    response={200: dict, 202: dict, 400: Detail, 404: Detail, 409: Detail},
    summary="Make this export again from the analysis as it is now (one click on a stale one)",
)
def export_remake(request: AuthedRequest, job_id: UUID) -> tuple[int, Any]:
    old = selectors.export_get_for_user(request.auth, job_id)
    job, created = services.export_request(
        analysis=old.analysis,
        kind=old.kind,
        storyline_id=old.storyline_id,
        mode=old.mode or None,
    )
    return (202 if created else 200), {**selectors.job_json(job), "cached": not created}


@router.post(
    "/exports/{job_id}/cancel",
    response={200: dict, 404: Detail, 409: Detail},
    summary="Stop a queued or running export (it fails as cancelled and keeps no file)",
)
def export_cancel(request: AuthedRequest, job_id: UUID) -> dict[str, Any]:
    job = selectors.export_get_for_user(request.auth, job_id)
    return selectors.job_json(services.export_cancel(job=job))


@router.get("/exports/{job_id}", summary="An export job's state")
def export_detail(request: AuthedRequest, job_id: UUID) -> dict[str, Any]:
    job = selectors.export_get_for_user(request.auth, job_id)
    return selectors.job_json(job, selectors.analysis_fingerprint(job.analysis))


@router.get("/exports/{job_id}/download", url_name="export_download", summary="The exported file")
def export_download(request: AuthedRequest, job_id: UUID) -> FileResponse:
    job = selectors.export_get_for_user(request.auth, job_id)
    if (
        job.status != "completed"
        or not job.file
        or not job.file.storage.exists(job.file.name or "")
    ):
        raise Http404("This export has no file (yet).")
    # FileResponse writes Content-Disposition with filename*=UTF-8'' (RFC 5987) when needed.
    response = FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=job.filename,
        content_type=job.content_type,
    )
    response["Cache-Control"] = "private, max-age=0"
    return response
