"""Shots stage: the run's one decode pass, finding the cuts and keeping what later stages need.

Every frame is decoded once (PyAV, threaded) and handed to the frame consumers: the chosen cut
detector (``analysis.pipeline.cuts``) and those of ``framepass.PassRecorder``: the motion meter
(``motion.npy``), the keyframe candidates, the thumbnail strip and the colour layouts
(``analysis.pipeline.framestore``). Later stages read those files from the scratch directory
instead of decoding the video again.

Parameters (per analysis, else settings): ``scene_detector`` (one of ``cuts.DETECTORS``,
default ``SCENE_DETECTOR`` = ``combined``), ``scene_threshold`` (the detector's own scale;
None = its default), ``min_scene_seconds``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.conf import setting
from analysis.media import MediaError
from analysis.models import Scene
from analysis.pipeline import cuts as cutdetect
from analysis.pipeline.base import Stage, StageContext, StageError, register
from analysis.pipeline.decode import run_frame_pass
from analysis.pipeline.framepass import run_recorder
from videoanalyzer.progress import ProgressThrottle

DETECTORS = cutdetect.DETECTORS


@dataclass(frozen=True)
class Shot:
    start_time: float
    end_time: float
    start_frame: int
    end_frame: int  # exclusive: the first frame of the next shot


def make_detector(
    kind: str,
    threshold: float | None,
    min_frames: int,
    workdir: Path | None = None,
    fps: float = 25.0,
) -> Any:
    """The cut detector ``kind`` (a frame consumer with ``cuts(times)``).

    Raises:
        StageError: ``kind`` is not one of ``DETECTORS``.
    """
    temporary = workdir is None
    if workdir is None:
        import tempfile

        workdir = Path(tempfile.mkdtemp(prefix="cuts-"))
    try:
        detector = cutdetect.make_detector(kind, threshold, min_frames, workdir, fps)
    except cutdetect.UnknownDetector:
        names = ", ".join(DETECTORS)
        raise StageError(f"Unknown scene detector '{kind}'; use one of {names}.") from None
    finally:
        if temporary and not any(workdir.iterdir()):
            workdir.rmdir()  # PySceneDetect's detectors keep nothing on disk
    if temporary and hasattr(detector, "signals"):
        detector.signals.temporary = True  # removed once the cuts are decided
    return detector


def detect_cuts(
    ctx: StageContext, detector: Any, fps: float, consumers: list[Any] | None = None
) -> tuple[list[int], list[float]]:
    """Run the decode pass with ``detector`` (and ``consumers``): (cut frames, frame times)."""
    progress = ProgressThrottle(ctx.report)
    expected = max(ctx.analysis.video.frame_count, 1)

    def report(fraction: float, message: str) -> None:
        progress(0.9 * fraction, message)  # the last tenth: deciding unsure changes

    try:
        times = run_frame_pass(ctx.video_path, [detector, *(consumers or [])], report, expected)
    except BaseException as exc:
        if hasattr(detector, "close"):
            detector.close()  # its own threads (the network's) stop with the pass
        if isinstance(exc, MediaError):
            raise StageError(str(exc)) from exc
        raise
    ctx.report(0.9, "Deciding the cuts")
    return detector.cuts(times), times


def shots_from_cuts(
    cuts: list[int], times: list[float], fps: float, min_seconds: float = 0.0
) -> list[Shot]:
    """Turn cut frames into contiguous shots covering the whole video (no cut: one shot).

    ``min_seconds`` is applied between cuts (``cuts.enforce_min_length``); a real cut close to
    the end of the file stays, since the end is not a detection.
    """
    end_of_video = times[-1] + 1.0 / fps
    cuts = cutdetect.enforce_min_length(cuts, times, min_seconds)
    bounds = [0, *cuts, len(times)]
    shots = []
    for start, end in itertools.pairwise(bounds):
        end_time = times[end] if end < len(times) else end_of_video
        shots.append(Shot(round(times[start], 3), round(end_time, 3), start, end))
    return shots


def choose_detector(ctx: StageContext) -> tuple[str, float | None, float]:
    """(detector name, threshold or None, minimum scene seconds) for this analysis."""
    kind = str(ctx.param("scene_detector") or setting("SCENE_DETECTOR"))
    threshold = ctx.param("scene_threshold")
    if threshold is None and kind == setting("SCENE_DETECTOR"):
        threshold = setting("SCENE_THRESHOLD")
    min_seconds = ctx.param("min_scene_seconds")
    if min_seconds is None:
        min_seconds = setting("MIN_SCENE_SECONDS")
    return kind, (None if threshold is None else float(threshold)), max(0.0, float(min_seconds))


def find_shots(
    ctx: StageContext, kind: str, threshold: float | None, min_seconds: float
) -> tuple[list[Shot], dict[str, Any]]:
    """The whole pass: shots, plus facts for the metadata; scratch files go to ctx.workdir."""
    video = ctx.analysis.video
    fps = video.fps or 25.0
    workdir = ctx.workdir
    detector = make_detector(kind, threshold, round(min_seconds * fps), workdir, fps)
    recorder = run_recorder(ctx)
    ctx.report(0.0, "Finding cuts")
    cuts, times = detect_cuts(ctx, detector, fps, recorder.consumers)
    recorder.save(times)
    facts = {
        "scene_detector": kind,
        "decoded_frames": len(times),
        "network_frames": getattr(detector, "network_frames", None),
    }
    return shots_from_cuts(cuts, times, fps, min_seconds), facts


@register
class ShotsStage(Stage[list[Shot]]):
    """Split the video into shots (hard cuts, dissolves, fades) in the run's one decode pass."""

    name = "shots"
    label = "Detecting shots"
    weight = 2.0

    def compute(self, ctx: StageContext) -> list[Shot]:
        kind, threshold, min_seconds = choose_detector(ctx)
        shots, facts = find_shots(ctx, kind, threshold, min_seconds)
        ctx.analysis.metadata = {**(ctx.analysis.metadata or {}), **facts}
        ctx.report(1.0, f"Found {len(shots)} shots")
        return shots

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
