"""Writes of the exports app: request an export (or get the cached one), run it, announce it.

``export_request`` checks what is asked, returns a finished or running job for the same export
of the unchanged analysis, or creates a job and queues it. ``export_execute`` (the actor's body)
claims the job, produces its file in a scratch folder, stores it and reports progress to the
analysis's WebSocket group as ``export.progress`` events.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from analysis.models import Analysis, AnalysisStatus, Storyline
from analysis.pipeline.runner import video_local_path
from analysis.progress import group_name
from analysis.selectors import analysis_result
from exports import subtitles, timelines
from exports.models import KIND_LABELS, ExportJob, ExportMode, ExportStatus
from exports.selectors import (
    StorylinePlan,
    analysis_fingerprint,
    job_json,
    segments_json,
    storyline_plans,
)
from mediakit import cutting, smartcut
from mediakit.probe import MediaError
from videoanalyzer.progress import ProgressThrottle

logger = logging.getLogger(__name__)

STORYLINE_KINDS = ("mp4", "edl", "otio", "fcpxml", "srt", "vtt", "json")
ANALYSIS_KINDS = ("json", "csv", "edl", "otio", "fcpxml", "zip")
TIMED_KINDS = ("mp4", "zip")  # they cut the video, so they have a cut mode
# Frame-accurate by default: a storyline's cut must never show another storyline's footage.
DEFAULT_MODE = ExportMode.SMART
CUT_MODES = (ExportMode.SMART, ExportMode.EXACT, ExportMode.COPY)
EXTENSIONS = {
    "mp4": ".mp4",
    "edl": ".edl",
    "otio": ".otio",
    "fcpxml": ".xml",
    "srt": ".srt",
    "vtt": ".vtt",
    "json": ".json",
    "csv": ".csv",
    "zip": ".zip",
}
CONTENT_TYPES = {
    "mp4": "video/mp4",
    "edl": "text/plain; charset=utf-8",
    "otio": "application/json",
    "fcpxml": "application/xml",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "zip": "application/zip",
}
STALE_RUNNING = timedelta(hours=6)  # a "running" job older than this was lost with its worker
Report = Callable[[float, str], None]


class ExportError(ValueError):
    """An export that cannot be made; the message is for the user (HTTP ``status``)."""

    status = 400


class ExportNotReady(ExportError):
    status = 409


# --- Requesting ------------------------------------------------------------------------------


def _clean_mode(kind: str, mode: str | None) -> str:
    if kind not in TIMED_KINDS:
        if mode:
            raise ExportError(f"A {kind} export has no cut mode: it follows the exact scenes.")
        return ExportMode.NONE
    mode = mode or DEFAULT_MODE
    if mode not in CUT_MODES:
        raise ExportError(
            "mode must be smart (the default: frame-accurate, re-encodes only around the cuts), "
            "exact (frame-accurate, re-encodes everything) or copy (keyframes only, includes "
            "neighbouring frames)."
        )
    return mode


def _check_request(analysis: Analysis, kind: str, storyline_id: int | None) -> Storyline | None:
    if analysis.status != AnalysisStatus.COMPLETED:
        raise ExportNotReady("The analysis is not complete; export it when it is done.")
    if storyline_id is None:
        if kind not in ANALYSIS_KINDS:
            raise ExportError(f"A whole-analysis export is one of: {', '.join(ANALYSIS_KINDS)}.")
        return None
    if kind not in STORYLINE_KINDS:
        raise ExportError(f"A storyline export is one of: {', '.join(STORYLINE_KINDS)}.")
    storyline = Storyline.objects.filter(pk=storyline_id, analysis=analysis).first()
    if storyline is None:
        raise ExportError(f"No storyline {storyline_id} in this analysis.")
    if kind in ("mp4", "srt", "vtt") and not storyline.memberships.exists():
        raise ExportError(f"The storyline \u201c{storyline.name}\u201d has no scenes to cut.")
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
    """
    if kind not in KIND_LABELS:
        raise ExportError(f"Unknown export kind {kind!r}; one of: {', '.join(KIND_LABELS)}.")
    storyline = _check_request(analysis, kind, storyline_id)
    mode = _clean_mode(kind, mode)
    fingerprint = analysis_fingerprint(analysis)
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
    from exports.actors import run_export

    run_export.send(str(job_id))


# --- Running -----------------------------------------------------------------------------------


def _claim(job_id: Any) -> bool:
    """Take the job: queued, or "running" so long that its worker must be gone."""
    lost = Q(status=ExportStatus.RUNNING, started_at__lt=timezone.now() - STALE_RUNNING)
    return bool(
        ExportJob.objects.filter(Q(status=ExportStatus.QUEUED) | lost, pk=job_id).update(
            status=ExportStatus.RUNNING,
            started_at=timezone.now(),
            progress=0.0,
            message="Starting",
            error="",
        )
    )


def export_execute(*, job_id: Any) -> None:
    """Produce the job's file (the actor's body; a job already taken is left alone)."""
    if not _claim(job_id):
        return
    job = ExportJob.objects.select_related("analysis__video", "storyline").get(pk=job_id)
    job.fingerprint = analysis_fingerprint(job.analysis)  # the state the file really shows
    started = time.monotonic()
    try:
        _produce_and_store(job, _Reporter(job))
    except (cutting.CutError, ExportError, MediaError) as exc:
        _fail(job, str(exc))
        return
    except Exception as exc:  # the user sees a message; the log keeps the traceback
        logger.exception("export %s failed", job.pk)
        _fail(job, f"The export failed: {exc}")
        return
    job.metadata = {**job.metadata, "seconds": round(time.monotonic() - started, 3)}
    done = "Ready to download"
    if job.metadata.get("fallback"):
        done = f"{done}. {job.metadata['fallback']}"[:300]
    job.status, job.progress, job.message = ExportStatus.COMPLETED, 1.0, done
    job.finished_at = timezone.now()
    job.save()
    publish(job)


def _fail(job: ExportJob, message: str) -> None:
    job.status, job.error, job.message = ExportStatus.FAILED, message, "Failed"
    job.finished_at = timezone.now()
    job.save()
    publish(job)


def _scratch() -> Path:
    root = Path(settings.VAR_DIR) / "work" / "exports"
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=root))


def _produce_and_store(job: ExportJob, report: Report) -> None:
    workdir = _scratch()
    try:
        ctx = _Context(job=job, workdir=workdir, report=report)
        path = _PRODUCERS[(job.storyline_id is not None, job.kind)](ctx)
        job.metadata = {**job.metadata, **ctx.metadata}
        job.filename = download_name(job)
        job.content_type = CONTENT_TYPES[job.kind]
        job.size_bytes = path.stat().st_size
        if job.file and job.file.name:
            job.file.delete(save=False)
        with path.open("rb") as handle:
            job.file.save(f"export{EXTENSIONS[job.kind]}", File(handle), save=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class _Reporter:
    """Saves and announces progress at most twice a second."""

    def __init__(self, job: ExportJob, interval: float = 0.5) -> None:
        self.job, self.throttle = job, ProgressThrottle(interval=interval)

    def __call__(self, fraction: float, message: str) -> None:
        if not self.throttle.due():
            return
        self.job.progress = min(max(fraction, 0.0), 0.99)
        self.job.message = message[:300]
        ExportJob.objects.filter(pk=self.job.pk).update(
            progress=self.job.progress, message=self.job.message
        )
        publish(self.job)


def publish(job: ExportJob) -> None:
    """Send the job's state to the analysis's WebSocket group; never fails the caller."""
    layer = get_channel_layer()
    if layer is None:
        return
    event = {**job_json(job), "type": "export.progress"}
    try:
        async_to_sync(layer.group_send)(group_name(job.analysis_id), event)
    except Exception:  # a broken channel layer must not fail the export
        logger.warning("could not publish export %s", job.pk, exc_info=True)


# --- Names ---------------------------------------------------------------------------------------

UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def safe_name(text: str, limit: int = 120) -> str:
    """``text`` usable as a file name on every system (Cyrillic kept)."""
    cleaned = UNSAFE.sub("_", text).strip(" .") or "export"
    return cleaned[:limit].rstrip(" .")


def video_stem(job: ExportJob) -> str:
    return safe_name(os.path.splitext(job.analysis.video.original_name)[0])


def download_name(job: ExportJob) -> str:
    """``<video> - <storyline>.<ext>`` or ``<video> - <what>.<ext>`` for the whole analysis."""
    what = {"json": "analysis", "csv": "scenes", "zip": "storylines"}.get(job.kind, "storylines")
    middle = safe_name(job.storyline.name) if job.storyline else what
    suffix = " (keyframes)" if job.kind == "mp4" and job.mode == ExportMode.COPY else ""
    return f"{video_stem(job)} - {middle}{suffix}{EXTENSIONS[job.kind]}"


# --- Producers -------------------------------------------------------------------------------


@dataclass
class _Context:
    job: ExportJob
    workdir: Path
    report: Report
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def analysis(self) -> Analysis:
        return self.job.analysis

    def source_video(self) -> timelines.SourceVideo:
        video = self.analysis.video
        return timelines.SourceVideo(
            video.original_name, video.fps, video.duration, video.has_audio
        )

    def plan(self) -> StorylinePlan:
        return next(p for p in storyline_plans(self.analysis) if p.pk == self.job.storyline_id)

    def write(self, name: str, text: str) -> Path:
        path = self.workdir / name
        path.write_text(text, encoding="utf-8")
        return path


def scene_spans(plan: StorylinePlan) -> list[cutting.Span]:
    return cutting.merge_spans([cutting.Span(s.start, s.end) for s in plan.scenes])


def _cut(ctx: _Context, plan: StorylinePlan, mode: str, out: Path, report: Report) -> list[Any]:
    """Cut ``plan``'s scenes into ``out``; the spans really cut."""
    from exports.conf import export_device

    spans = scene_spans(plan)
    video = ctx.analysis.video
    parts = ctx.workdir / f"parts-{plan.pk}"
    parts.mkdir(exist_ok=True)
    with video_local_path(video, ctx.workdir) as source:
        if mode == ExportMode.COPY:
            cut = cutting.cut_copy(source, spans, out, parts, report)
            encoder = "copy"
        elif mode == ExportMode.SMART and (cut := _smart(ctx, source, spans, out, parts, report)):
            encoder = "libx264 (smart)"
        else:
            encoder = cutting.select_video_encoder(
                export_device(), cutting.available_encoders(), cutting.cuda_device_present()
            )
            cut = cutting.cut_exact(
                source, spans, out, parts, report, has_audio=video.has_audio, encoder=encoder
            )
    shutil.rmtree(parts, ignore_errors=True)
    if mode == ExportMode.COPY:
        ctx.metadata["extra_seconds"] = round(cutting.copy_overhang(spans, cut), 3)
    ctx.metadata.update(
        mode=mode,
        encoder=encoder,
        spans=[[round(s.start, 3), round(s.end, 3)] for s in cut],
        cut_duration=round(sum(s.duration for s in cut), 3),
        output_duration=round(cutting.probe_duration(out), 3),
    )
    return cut


def _smart(
    ctx: _Context,
    source: Path,
    spans: list[cutting.Span],
    out: Path,
    workdir: Path,
    report: Report,
) -> list[cutting.Span]:
    """Smart-cut ``spans`` into ``out``; empty (nothing written) when the source cannot be
    matched, with the reason in the job's metadata so the full re-encode says why."""
    plan = smartcut.smart_cut(
        source, spans, out, workdir, report, has_audio=ctx.analysis.video.has_audio
    )
    if plan.fallback:
        ctx.metadata["fallback"] = f"Re-encoded in full: {plan.fallback}."
        report(0.0, ctx.metadata["fallback"])
        return []
    frame = 1 / ctx.analysis.video.fps if ctx.analysis.video.fps else 0.04
    encoded = sum(p.count for p in plan.pieces if not p.copy) * frame
    copied = sum(p.count for p in plan.pieces if p.copy) * frame
    ctx.metadata.update(
        pieces=len(plan.pieces),
        encoded_seconds=round(encoded, 3),
        copied_seconds=round(copied, 3),
    )
    return plan.spans


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
    workdir = _scratch()
    try:
        with video_local_path(analysis.video, workdir) as source:
            keys = cutting.keyframe_times(source)
    except MediaError as exc:
        raise ExportNotReady(str(exc)) from exc
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


def _storyline_mp4(ctx: _Context) -> Path:
    out = ctx.workdir / "cut.mp4"
    _cut(ctx, ctx.plan(), ctx.job.mode, out, ctx.report)
    return out


def _storyline_subtitles(ctx: _Context) -> Path:
    spans = scene_spans(ctx.plan())  # the frame-accurate cut's spans
    cues = subtitles.cut_cues(segments_json(ctx.analysis), spans)
    text = subtitles.to_srt(cues) if ctx.job.kind == "srt" else subtitles.to_vtt(cues)
    ctx.metadata.update(cues=len(cues))
    return ctx.write(f"cut{EXTENSIONS[ctx.job.kind]}", text)


def _clips(plan: StorylinePlan, prefix: str = "") -> list[timelines.ClipSpec]:
    return [timelines.ClipSpec(f"{prefix}{s.public_id}", s.start, s.end) for s in plan.scenes]


def _storyline_edit_list(ctx: _Context) -> Path:
    plan = ctx.plan()
    title = f"{ctx.analysis.video.original_name} \u2014 {plan.name}"
    timeline = timelines.cut_timeline(
        title, ctx.source_video(), _clips(plan), with_audio=ctx.job.kind != "edl"
    )
    ctx.metadata.update(clips=len(plan.scenes))
    return ctx.write(f"cut{EXTENSIONS[ctx.job.kind]}", timelines.write(timeline, ctx.job.kind))


def storyline_json(analysis: Analysis, plan: StorylinePlan) -> dict[str, Any]:
    """The storyline as in the result JSON, with its colour and each scene's place in the cut."""
    result = analysis_result(analysis)
    entry = result["storylines"][plan.number - 1]
    cut, at = [], 0.0
    for scene in plan.scenes:
        cut.append(
            {
                "scene_id": scene.public_id,
                "source_start": round(scene.start, 3),
                "source_end": round(scene.end, 3),
                "cut_start": round(at, 3),
                "cut_end": round(at + scene.end - scene.start, 3),
                "relevance": round(scene.relevance, 4),
            }
        )
        at += scene.end - scene.start
    return {"video_filename": result["video_filename"], "color": plan.color, **entry, "cut": cut}


def _storyline_json(ctx: _Context) -> Path:
    data = storyline_json(ctx.analysis, ctx.plan())
    return ctx.write("storyline.json", json.dumps(data, ensure_ascii=False, indent=2))


def _analysis_json(ctx: _Context) -> Path:
    data = analysis_result(ctx.analysis)
    return ctx.write("analysis.json", json.dumps(data, ensure_ascii=False, indent=2))


CSV_COLUMNS = [
    "scene_id",
    "index",
    "start_time",
    "end_time",
    "duration",
    "start_frame",
    "end_frame",
    "storyline",
    "storyline_relevance",
    "interest",
    "transcript",
]


def scenes_csv(analysis: Analysis) -> str:
    """One row per scene; a spreadsheet opens it (UTF-8 with BOM for Excel)."""
    result = analysis_result(analysis)
    where = {s["id"]: st["name"] for st in result["storylines"] for s in st["scenes"]}
    plans = {r.public_id: r for p in storyline_plans(analysis) for r in p.scenes}
    scenes = {s["id"]: s for st in result["storylines"] for s in st["scenes"]}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for scene in analysis.scenes.order_by("index").prefetch_related("segments"):
        data = scenes.get(scene.public_id, {})
        row = plans.get(scene.public_id)
        writer.writerow(
            [
                scene.public_id,
                scene.index,
                f"{scene.start_time:.3f}",
                f"{scene.end_time:.3f}",
                f"{scene.duration:.3f}",
                scene.start_frame,
                scene.end_frame,
                where.get(scene.public_id, ""),
                f"{row.relevance:.4f}" if row else "",
                data.get("interest") if data.get("interest") is not None else "",
                " ".join(seg.text.strip() for seg in scene.segments.all()),
            ]
        )
    return "\ufeff" + buffer.getvalue()


def _analysis_csv(ctx: _Context) -> Path:
    return ctx.write("scenes.csv", scenes_csv(ctx.analysis))


def _analysis_edit_list(ctx: _Context) -> Path:
    title = ctx.analysis.video.original_name
    plans = [p for p in storyline_plans(ctx.analysis) if p.scenes]
    if ctx.job.kind == "edl":  # one track only: every placed scene in film order, named
        clips = sorted(
            (c for p in plans for c in _clips(p, f"{p.name} \u00b7 ")), key=lambda c: c.start
        )
        timeline = timelines.cut_timeline(title, ctx.source_video(), clips, with_audio=False)
    else:
        tracks = [(p.name, _clips(p)) for p in plans]
        timeline = timelines.storylines_timeline(title, ctx.source_video(), tracks)
    ctx.metadata.update(tracks=len(plans))
    return ctx.write(
        f"storylines{EXTENSIONS[ctx.job.kind]}", timelines.write(timeline, ctx.job.kind)
    )


def _analysis_zip(ctx: _Context) -> Path:
    """Every storyline's cut, edit lists, subtitles and JSON, plus the analysis's files."""
    plans = [p for p in storyline_plans(ctx.analysis) if p.scenes]
    stem = video_stem(ctx.job)
    out = ctx.workdir / "storylines.zip"
    segments = segments_json(ctx.analysis)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, plan in enumerate(plans):
            folder = f"{plan.number:02d} {safe_name(plan.name)}"
            base = f"{folder}/{stem} - {safe_name(plan.name)}"

            def part(fraction: float, message: str, i: int = i, name: str = plan.name) -> None:
                ctx.report((i + fraction * 0.9) / len(plans), f"{name}: {message}")

            mp4 = ctx.workdir / f"cut-{plan.pk}.mp4"
            spans = _cut(ctx, plan, ctx.job.mode, mp4, part)
            archive.write(mp4, f"{base}.mp4", compress_type=zipfile.ZIP_STORED)
            mp4.unlink()
            cues = subtitles.cut_cues(segments, spans)
            archive.writestr(f"{base}.srt", subtitles.to_srt(cues))
            archive.writestr(f"{base}.vtt", subtitles.to_vtt(cues))
            title = f"{ctx.analysis.video.original_name} \u2014 {plan.name}"
            for kind in ("edl", "otio", "fcpxml"):
                timeline = timelines.cut_timeline(
                    title, ctx.source_video(), _clips(plan), with_audio=kind != "edl"
                )
                archive.writestr(f"{base}{EXTENSIONS[kind]}", timelines.write(timeline, kind))
            data = storyline_json(ctx.analysis, plan)
            archive.writestr(f"{base}.json", json.dumps(data, ensure_ascii=False, indent=2))
        result = json.dumps(analysis_result(ctx.analysis), ensure_ascii=False, indent=2)
        archive.writestr(f"{stem} - analysis.json", result)
        archive.writestr(f"{stem} - scenes.csv", scenes_csv(ctx.analysis))
    fallback = ctx.metadata.get("fallback")
    ctx.metadata = {"mode": ctx.job.mode, "storylines": len(plans)}
    if fallback:
        ctx.metadata["fallback"] = fallback
    return out


_PRODUCERS: dict[tuple[bool, str], Callable[[_Context], Path]] = {
    (True, "mp4"): _storyline_mp4,
    (True, "srt"): _storyline_subtitles,
    (True, "vtt"): _storyline_subtitles,
    (True, "edl"): _storyline_edit_list,
    (True, "otio"): _storyline_edit_list,
    (True, "fcpxml"): _storyline_edit_list,
    (True, "json"): _storyline_json,
    (False, "json"): _analysis_json,
    (False, "csv"): _analysis_csv,
    (False, "edl"): _analysis_edit_list,
    (False, "otio"): _analysis_edit_list,
    (False, "fcpxml"): _analysis_edit_list,
    (False, "zip"): _analysis_zip,
}
