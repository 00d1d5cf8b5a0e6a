"""What the format producers share: the job's context (with the analysis result, transcript
and storyline plans read once) and the video cut, JSON, CSV and edit-list builders."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.models import Analysis
from analysis.pipeline.runner import video_local_path
from analysis.selectors import analysis_result
from exports import timelines
from exports.models import ExportJob, ExportMode
from exports.naming import video_stem
from exports.selectors import StorylinePlan, segments_json, storyline_plans
from mediakit import cutting, smartcut

Report = Callable[[float, str], None]


@dataclass
class ExportContext:
    """One job's producing: where files go, how progress is told, what is exported.

    ``plan`` is the storyline being produced (``None``: the whole analysis). Sub-contexts made
    by ``for_storyline`` share the reads (``_shared``), so a ZIP reads the result once.
    """

    job: ExportJob
    workdir: Path
    report: Report
    plan: StorylinePlan | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    _shared: dict[Any, Any] = field(default_factory=dict)

    @property
    def analysis(self) -> Analysis:
        return self.job.analysis

    @property
    def mode(self) -> str:
        return self.job.mode

    def _once(self, key: Any, make: Callable[[], Any]) -> Any:
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]

    @property
    def result(self) -> dict[str, Any]:
        return dict(self._once("result", lambda: analysis_result(self.analysis)))

    @property
    def segments(self) -> list[dict[str, Any]]:
        return list(self._once("segments", lambda: segments_json(self.analysis)))

    @property
    def plans(self) -> list[StorylinePlan]:
        return list(self._once("plans", lambda: storyline_plans(self.analysis)))

    @property
    def stem(self) -> str:
        return video_stem(self.analysis)

    def plan_or_fail(self) -> StorylinePlan:
        assert self.plan is not None, "a storyline export without its storyline"
        return self.plan

    def for_storyline(self, plan: StorylinePlan, report: Report) -> ExportContext:
        return ExportContext(self.job, self.workdir, report, plan, _shared=self._shared)

    def for_analysis(self) -> ExportContext:
        return ExportContext(self.job, self.workdir, self.report, None, _shared=self._shared)

    def cut_spans(self) -> list[cutting.Span]:
        """The spans of this storyline's cut: as cut (when this job cut the video), else the
        scenes' own (the frame-accurate cut's)."""
        plan = self.plan_or_fail()
        return list(self._shared.get(("cut", plan.pk)) or scene_spans(plan))

    def source_video(self) -> timelines.SourceVideo:
        from exports.conf import media_url, record_start_seconds

        video = self.analysis.video
        return timelines.SourceVideo(
            video.original_name,
            video.fps,
            video.duration,
            video.has_audio,
            url=media_url(video.file.name or video.original_name),
            record_start=record_start_seconds(video.fps),
        )

    def write(self, name: str, text: str) -> Path:
        path = self.workdir / name
        path.write_text(text, encoding="utf-8")
        return path


def scene_spans(plan: StorylinePlan) -> list[cutting.Span]:
    return cutting.merge_spans([cutting.Span(s.start, s.end) for s in plan.scenes])


# --- The video cut -----------------------------------------------------------------------------


def preferred_encoder() -> str:
    """NVENC when ``EXPORT_DEVICE`` allows it, ffmpeg has it and a GPU is visible, else libx264."""
    from exports.conf import export_device

    return cutting.select_video_encoder(
        export_device(), cutting.available_encoders(), cutting.cuda_device_present()
    )


def cut_video(ctx: ExportContext, out: Path) -> list[cutting.Span]:
    """Cut the storyline's scenes into ``out`` in the job's mode; the spans really cut."""
    plan = ctx.plan_or_fail()
    spans = scene_spans(plan)
    video = ctx.analysis.video
    parts = ctx.workdir / f"parts-{plan.pk}"
    parts.mkdir(exist_ok=True)
    mode, report = ctx.mode, ctx.report
    with video_local_path(video, ctx.workdir) as source:
        if mode == ExportMode.COPY:
            cut = cutting.cut_copy(source, spans, out, parts, report)
            encoder = "copy"
        elif mode == ExportMode.SMART and (smart := _smart(ctx, source, spans, out, parts)):
            cut, encoder = smart
        else:
            encoder = preferred_encoder()
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
    ctx._shared[("cut", plan.pk)] = cut
    return cut


def _smart(
    ctx: ExportContext, source: Path, spans: list[cutting.Span], out: Path, workdir: Path
) -> tuple[list[cutting.Span], str] | None:
    """Smart-cut ``spans`` into ``out``: the spans cut and the encoder named for the job
    (the one that made the pieces). None (nothing written) when the source cannot be
    matched, with the reason in the job's metadata so the full re-encode says why."""
    video = ctx.analysis.video
    plan = smartcut.smart_cut(
        source,
        spans,
        out,
        workdir,
        ctx.report,
        has_audio=video.has_audio,
        encoder=preferred_encoder(),
    )
    if plan.fallback:
        ctx.metadata["fallback"] = f"Re-encoded in full: {plan.fallback}."
        ctx.report(0.0, ctx.metadata["fallback"])
        return None
    frame = 1 / video.fps if video.fps else 0.04
    encoded = sum(p.count for p in plan.pieces if not p.copy) * frame
    copied = sum(p.count for p in plan.pieces if p.copy) * frame
    if plan.encoder_note:
        ctx.metadata["encoder_note"] = plan.encoder_note
    ctx.metadata.update(
        pieces=len(plan.pieces),
        encoded_seconds=round(encoded, 3),
        copied_seconds=round(copied, 3),
    )
    # No piece encoded: every span starts and ends on keyframes.
    return plan.spans, f"{plan.encoder or 'copy'} (smart)"


# --- JSON and CSV --------------------------------------------------------------------------------


def storyline_json(result: dict[str, Any], plan: StorylinePlan) -> dict[str, Any]:
    """The storyline as in the result JSON, with its colour and each scene's place in the cut."""
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


def scenes_csv(analysis: Analysis, result: dict[str, Any]) -> str:
    """One row per scene; a spreadsheet opens it (UTF-8 with BOM for Excel)."""
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


# --- Edit lists ---------------------------------------------------------------------------------


def clips(plan: StorylinePlan, prefix: str = "") -> list[timelines.ClipSpec]:
    return [timelines.ClipSpec(f"{prefix}{s.public_id}", s.start, s.end) for s in plan.scenes]


def storyline_timeline(ctx: ExportContext) -> Any:
    plan = ctx.plan_or_fail()
    title = f"{ctx.analysis.video.original_name} \u2014 {plan.name}"
    ctx.metadata.update(clips=len(plan.scenes))
    return timelines.cut_timeline(title, ctx.source_video(), clips(plan))


def analysis_timeline(ctx: ExportContext, kind: str) -> Any:
    title = ctx.analysis.video.original_name
    plans = [p for p in ctx.plans if p.scenes]
    ctx.metadata.update(tracks=len(plans))
    if kind == "edl":  # one track only: every placed scene in film order, named
        flat = sorted(
            (c for p in plans for c in clips(p, f"{p.name} \u00b7 ")), key=lambda c: c.start
        )
        return timelines.cut_timeline(title, ctx.source_video(), flat)
    tracks = [(p.name, clips(p)) for p in plans]
    return timelines.storylines_timeline(title, ctx.source_video(), tracks)
