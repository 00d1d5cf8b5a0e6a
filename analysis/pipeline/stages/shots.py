"""Shots stage: the run's one decode pass, finding the cuts and keeping what later stages need.

The pass is :func:`mediakit.shots.find_shots`: every frame is decoded once (PyAV, threaded)
and handed to the chosen cut detector and to the consumers of the run's
:class:`mediakit.framepass.PassRecorder` (motion, keyframe candidates, thumbnail strip,
colour layouts). Later stages read those files from the scratch directory instead of decoding
the video again.

Parameters (per analysis, else settings): ``scene_detector`` (one of
``mediakit.shots.DETECTORS``, default ``SCENE_DETECTOR`` = ``combined``), ``scene_threshold``
(the detector's own scale; None = its default), ``min_scene_seconds``.
"""

from __future__ import annotations

from typing import Any

from analysis.models import Scene
from analysis.pipeline.base import Stage, StageContext, StageError, register
from analysis.pipeline.framepass import run_recorder
from analysis.pipeline.mediaconf import shots_config
from mediakit.errors import MediaError
from mediakit.shots import DETECTORS, Shot, ShotsResult, UnknownDetector, find_shots
from videoanalyzer.progress import ProgressThrottle

__all__ = ["DETECTORS", "ShotsStage"]


def pass_progress(report: Any) -> Any:
    """The pass's per-frame progress, throttled; the last reports always go through."""
    throttled = ProgressThrottle(report)

    def progress(fraction: float, message: str) -> None:
        throttled(fraction, message, force=fraction >= 0.9)

    return progress


@register
class ShotsStage(Stage[list[Shot]]):
    """Split the video into shots (hard cuts, dissolves, fades) in the run's one decode pass."""

    name = "shots"
    imports = ("numpy", "torch", "cv2")
    label = "Detecting shots"
    weight = 2.0

    def compute(self, ctx: StageContext) -> list[Shot]:
        video = ctx.analysis.video
        try:
            config = shots_config(ctx.parameters)
        except UnknownDetector as exc:
            raise StageError(str(exc)) from exc
        recorder = run_recorder(ctx)
        ctx.report(0.0, "Finding cuts")
        try:
            found = find_shots(
                ctx.video_path,
                config,
                recorder.consumers,
                fps=video.fps or 25.0,
                expected_frames=video.frame_count,
                workdir=ctx.workdir,
                progress=pass_progress(ctx.report),
            )
        except MediaError as exc:
            raise StageError(str(exc)) from exc
        recorder.save(found.frame_times)
        ctx.analysis.metadata = {**(ctx.analysis.metadata or {}), **facts(found)}
        ctx.report(1.0, f"Found {len(found.shots)} shots")
        return found.shots

    def persist(self, ctx: StageContext, result: list[Shot]) -> None:
        # Deleting cascades to everything later stages attached to the old scenes.
        Scene.objects.filter(analysis=ctx.analysis).delete()
        Scene.objects.bulk_create(
            Scene(
                analysis=ctx.analysis,
                index=index,
                start_time=shot.start_time,
                end_time=shot.end_time,
                start_frame=shot.start_frame,
                end_frame=shot.end_frame,
            )
            for index, shot in enumerate(result)
        )


def facts(found: ShotsResult) -> dict[str, Any]:
    """What the run's metadata records about the pass."""
    return {
        "scene_detector": found.detector,
        "decoded_frames": len(found.frame_times),
        "network_frames": found.network_frames,
    }
