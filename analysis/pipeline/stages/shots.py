"""Shots stage: find the cuts with PySceneDetect's detectors fed from our own decode loop.

The detectors are driven directly (``process_frame`` per frame, ``post_process`` at the end)
instead of through ``SceneManager`` so that decoding stays ours: threaded, downscaled, and
shareable with other consumers of the same pass. Detectors see frame-number timecodes (our
0-based presentation index), so a cut maps back to an exact frame whatever the detector does.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from django.conf import settings

from analysis.models import Scene
from analysis.pipeline.base import Stage, StageContext, StageError, register
from analysis.pipeline.decode import iter_frames
from analysis.pipeline.stages.common import Throttled

ANALYSIS_WIDTH = 256  # detectors compare colours, not detail: small frames are enough
DETECTORS = ("content", "adaptive", "threshold")


@dataclass(frozen=True)
class Shot:
    start_time: float
    end_time: float
    start_frame: int
    end_frame: int  # exclusive: the first frame of the next shot


def make_detector(kind: str, threshold: float | None, min_frames: int) -> Any:
    """Build the detector ``kind`` with ``threshold`` (its own default when None)."""
    from scenedetect.detectors import AdaptiveDetector, ContentDetector, ThresholdDetector

    def value(default: float) -> float:
        return default if threshold is None else float(threshold)

    if kind == "content":
        return ContentDetector(threshold=value(27.0), min_scene_len=min_frames)
    if kind == "adaptive":
        return AdaptiveDetector(adaptive_threshold=value(3.0), min_scene_len=min_frames)
    if kind == "threshold":  # fades to and from black
        return ThresholdDetector(threshold=value(12.0), min_scene_len=min_frames)
    raise StageError(f"Unknown scene detector '{kind}'; use one of {', '.join(DETECTORS)}.")


def detect_cuts(ctx: StageContext, detector: Any, fps: float) -> tuple[list[int], list[float]]:
    """Run ``detector`` over every frame; return the cut frames and every frame's time."""
    from scenedetect import FrameTimecode

    rate = Fraction(fps).limit_denominator(100_000)
    expected = max(ctx.analysis.video.frame_count, 1)
    progress = Throttled(ctx.report)
    cuts: set[int] = set()
    times: list[float] = []
    for frame in iter_frames(ctx.video_path):
        times.append(frame.time)
        found = detector.process_frame(
            FrameTimecode(frame.index, fps=rate), frame.bgr(ANALYSIS_WIDTH)
        )
        cuts.update(tc.frame_num for tc in found)
        progress(frame.index / expected, f"Finding cuts: frame {frame.index + 1} of ~{expected}")
    if not times:
        raise StageError("The video has no frames that can be decoded.")
    cuts.update(
        tc.frame_num for tc in detector.post_process(FrameTimecode(len(times) - 1, fps=rate))
    )
    return sorted(c for c in cuts if 0 < c < len(times)), times


def shots_from_cuts(
    cuts: list[int], times: list[float], fps: float, min_seconds: float = 0.0
) -> list[Shot]:
    """Turn cut frames into contiguous shots covering the whole video (no cut: one shot)."""
    end_of_video = times[-1] + 1.0 / fps
    # Detectors only keep cuts apart; a cut just before the end would leave a sliver.
    while cuts and end_of_video - times[cuts[-1]] < min_seconds:
        cuts = cuts[:-1]
    bounds = [0, *cuts, len(times)]
    shots = []
    for start, end in itertools.pairwise(bounds):
        end_time = times[end] if end < len(times) else end_of_video
        shots.append(Shot(round(times[start], 3), round(end_time, 3), start, end))
    return shots


@register
class ShotsStage(Stage[list[Shot]]):
    """Split the video into shots at hard cuts (or fades, with the threshold detector)."""

    name = "shots"
    label = "Detecting shots"
    weight = 2.0

    def compute(self, ctx: StageContext) -> list[Shot]:
        kind = str(ctx.param("scene_detector") or settings.SCENE_DETECTOR)
        threshold = ctx.param("scene_threshold")
        if threshold is None and kind == settings.SCENE_DETECTOR:
            threshold = settings.SCENE_THRESHOLD
        min_seconds = float(ctx.param("min_scene_seconds", settings.MIN_SCENE_SECONDS))
        fps = ctx.analysis.video.fps or 25.0
        detector = make_detector(kind, threshold, max(0, round(min_seconds * fps)))
        ctx.report(0.0, "Finding cuts")
        cuts, times = detect_cuts(ctx, detector, fps)
        shots = shots_from_cuts(cuts, times, fps, min_seconds)
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
