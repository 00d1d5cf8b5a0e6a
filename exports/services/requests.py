"""Requesting an export: checks against the format registry, the cache, the queue."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from analysis.models import Analysis, AnalysisStatus
from analysis.pipeline.runner import video_local_path
from exports.errors import ExportError, ExportNotReady
from exports.formats import ANALYSIS, STORYLINE, ExportFormat, formats_for, get_format
from exports.formats.base import SCENES, VIDEO
from exports.models import ExportJob, ExportMode, ExportStatus
from exports.production import scene_spans
from exports.selectors import analysis_fingerprint, export_fingerprint, storyline_plans
from exports.services.jobs import scratch_dir
from exports.services.publishing import publish
from mediakit import cutting
from mediakit.probe import MediaError
from story.models import Storyline

# Frame-accurate by default: a storyline's cut must never show another storyline's footage.
DEFAULT_MODE = ExportMode.SMART
CUT_MODES = (ExportMode.SMART, ExportMode.EXACT, ExportMode.COPY)


def _format(kind: str, storyline_id: int | None) -> ExportFormat:
    fmt = get_format(kind)
    if fmt is None:
        names = ", ".join(f.name for f in formats_for(STORYLINE) + formats_for(ANALYSIS))
        raise ExportError(f"Unknown export kind {kind!r}; one of: {names}.")
    scope = ANALYSIS if storyline_id is None else STORYLINE
    if scope not in fmt.scopes:
        names = ", ".join(f.name for f in formats_for(scope))
        what = "A whole-analysis" if scope == ANALYSIS else "A storyline"
        raise ExportError(f"{what} export is one of: {names}.")
    return fmt


def _clean_mode(fmt: ExportFormat, mode: str | None) -> str:
    if not fmt.cut_mode:
        if mode:
            raise ExportError(f"A {fmt.name} export has no cut mode: it follows the exact scenes.")
        return ExportMode.NONE
    mode = mode or DEFAULT_MODE
    if mode not in CUT_MODES:
        raise ExportError(
            "mode must be smart (the default: frame-accurate, re-encodes only around the cuts), "
            "exact (frame-accurate, re-encodes everything) or copy (keyframes only, includes "
            "neighbouring frames)."
        )
    return mode


def _check_needs(analysis: Analysis, fmt: ExportFormat, storyline: Storyline | None) -> None:
    if storyline is not None and SCENES in fmt.needs and not storyline.memberships.exists():
        raise ExportError(f"The storyline \u201c{storyline.name}\u201d has no scenes to cut.")
    if VIDEO in fmt.needs and not _source_exists(analysis):
        raise ExportNotReady("The video file is missing from storage: upload it again.")


def _source_exists(analysis: Analysis) -> bool:
    file = analysis.video.file
    return bool(file and file.name and file.storage.exists(file.name))


def _check_request(
    analysis: Analysis, fmt: ExportFormat, storyline_id: int | None
) -> Storyline | None:
    if analysis.status != AnalysisStatus.COMPLETED:
        raise ExportNotReady("The analysis is not complete; export it when it is done.")
    storyline = None
    if storyline_id is not None:
        storyline = Storyline.objects.filter(pk=storyline_id, analysis=analysis).first()
        if storyline is None:
            raise ExportError(f"No storyline {storyline_id} in this analysis.")
    _check_needs(analysis, fmt, storyline)
    return storyline


def export_request(
    *,
    analysis: Analysis,
    kind: str,
    storyline_id: int | None = None,
    mode: str | None = None,
    enqueue: bool = True,
) -> tuple[ExportJob, bool]:
    """The job making this export of the analysis as it is now; ``(job, created)``.

    A finished job of the same export and fingerprint is returned as it is (cached) while its
    file exists; so is one still queued or running.

    Raises:
        ExportError: the format, storyline or mode is not one that can be exported (400).
        ExportNotReady: the analysis is not complete or its video is gone (409).
    """
    fmt = _format(kind, storyline_id)
    mode = _clean_mode(fmt, mode)
    storyline = _check_request(analysis, fmt, storyline_id)
    fingerprint = export_fingerprint(analysis_fingerprint(analysis), kind)
    same = ExportJob.objects.filter(
        analysis=analysis, storyline=storyline, kind=kind, mode=mode, fingerprint=fingerprint
    )
    for job in same.exclude(status=ExportStatus.FAILED).order_by("-created_at")[:3]:
        if job.is_active or (job.file and job.file.storage.exists(job.file.name or "")):
            return job, False
    with transaction.atomic():
        job = ExportJob.objects.create(
            analysis=analysis,
            storyline=storyline,
            kind=kind,
            mode=mode,
            fingerprint=fingerprint,
            message="Waiting for a worker",
        )
        if enqueue:
            transaction.on_commit(lambda: export_enqueue(job_id=job.pk))
    publish(job)
    return job, True


def export_enqueue(*, job_id: Any) -> None:
    """Send the job; with the broker down it waits in the table and recovery sends it."""
    from exports.jobs import EXPORT_JOBS
    from videoanalyzer import jobs

    jobs.enqueue(EXPORT_JOBS, job_id)


@dataclass(frozen=True)
class KeyframeCutPreview:
    """What a keyframes-only (stream copy) cut of a storyline would show, before it is made."""

    storyline_id: int
    name: str
    seconds: float  # the storyline's own footage
    extra_seconds: float  # other footage the cut would include, widened to keyframes
    spans: list[cutting.Span]


def keyframe_cut_preview(analysis: Analysis) -> list[KeyframeCutPreview]:
    """For every storyline with scenes: how much other footage a keyframes-only cut includes.

    Reads the keyframe index once (ffprobe over the packets, no decoding).
    """
    if analysis.status != AnalysisStatus.COMPLETED:
        raise ExportNotReady("The analysis is not complete; export it when it is done.")
    plans = [p for p in storyline_plans(analysis) if p.scenes]
    workdir = scratch_dir()
    try:
        with video_local_path(analysis.video, workdir) as source:
            keys = cutting.keyframe_times(source)
    except (MediaError, cutting.CutError) as exc:  # gone, or not readable as a video any more
        raise ExportNotReady(f"The source video can't be read: {exc}") from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    previews = []
    for plan in plans:
        spans = scene_spans(plan)
        snapped = cutting.snap_to_keyframes(spans, keys, analysis.video.duration)
        previews.append(
            KeyframeCutPreview(
                plan.pk,
                plan.name,
                round(sum(s.duration for s in spans), 3),
                round(cutting.copy_overhang(spans, snapped), 3),
                snapped,
            )
        )
    return previews
