"""The run's one decode pass as the stages see it, and remaking its files when they are lost.

The shots stage decodes every frame once (:func:`mediakit.shots.find_shots`) and hands it to
the cut detector and to the consumers of a :class:`mediakit.framepass.PassRecorder`. Every
later consumer of pictures reads the files they leave:

- keyframes: the candidates nearest the middle of each scene and 1 s after its start;
- faces: the stored keyframes, or the candidates when more than two frames per scene are asked;
- objects (motion) and storylines (motion, colour): ``motion.npy`` and ``layout.u8``;
- the audio decoder: the first frame's time from ``frame_pass.json`` (written last).

The files live in the run's scratch directory, which survives a resume on the same machine. A
run that goes on after the shots stage without them (resumed on another machine, or later
stages re-run once the directory was cleared) makes them again with one pass without the cut
detector (:func:`ensure_pass_files`), so the rest of the run still decodes the video once.

A partial re-run (after a cut edit) that needs them decodes the touched scenes' frames only
(:func:`scope_ranges`, seeking to each), and leaves files shaped like a whole pass's with the
other frames empty; ``pass_ranges.json`` says which were decoded, so a re-run of other scenes
decodes theirs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.pipeline.base import Stage, StageContext, StageError
from mediakit.decode import FrameRange, iter_frame_ranges, run_frame_pass, video_start_time
from mediakit.errors import MediaError
from mediakit.framepass import PassRecorder, PicturePlan
from mediakit.passfiles import pass_recorded
from videoanalyzer.progress import ProgressThrottle

if TYPE_CHECKING:
    from analysis.models import Analysis, Video

__all__ = [
    "ensure_pass_files",
    "pass_recorded",
    "plan_pictures",
    "run_recorder",
    "video_duration",
]
logger = logging.getLogger(__name__)


def plan_pictures(stages: Iterable[Stage[Any]], ctx: StageContext) -> PicturePlan:
    """What the run's pass keeps: its candidates as close together as the run's stages ask
    (``Stage.picture_interval``: faces sampling more than two frames a scene). The runner
    asks once and hands the plan to every stage as ``ctx.pictures``."""
    asked = [step for stage in stages if (step := stage.picture_interval(ctx)) is not None]
    return PicturePlan.for_video(video_duration(ctx.analysis.video), asked)


def run_recorder(ctx: StageContext, *, strip: bool = True) -> PassRecorder:
    """The recorder for this run's pass, keeping the pictures ``ctx.pictures`` plans (the
    default plan outside a run)."""
    plan = ctx.pictures or PicturePlan.for_video(video_duration(ctx.analysis.video))
    return PassRecorder(ctx.workdir, plan, strip=strip)


def video_duration(video: Video) -> float:
    """The video's length in seconds as probed (from the frame count when unknown)."""
    return float(video.duration or video.frame_count / (video.fps or 25.0))


def ensure_pass_files(ctx: StageContext) -> None:
    """Make sure the pass's files are in ``ctx.workdir``: decode once more only if they are not.

    Raises:
        StageError: the video cannot be decoded.
    """
    from analysis.pipeline.stages.common import scene_scope  # the stages import this module

    scope = scene_scope(ctx.analysis)
    wanted = scope_ranges(ctx.analysis, scope) if scope is not None else None
    if pass_recorded(ctx.workdir) and _covers(_recorded_ranges(ctx.workdir), wanted):
        return
    if wanted is not None:
        _ranged_pass(ctx, wanted)
        return
    (ctx.workdir / RANGES_NAME).unlink(missing_ok=True)
    video = ctx.analysis.video
    logger.info("analysis %s: the frame pass's files are missing, decoding again", ctx.analysis.pk)
    recorder = run_recorder(ctx)
    progress = ProgressThrottle(ctx.report)
    try:
        times = run_frame_pass(
            ctx.video_path, recorder.consumers, progress, video.frame_count, "Reading the frames"
        )
    except MediaError as exc:
        raise StageError(str(exc)) from exc
    recorder.save(times)


# --- A partial re-run's pass: the touched scenes only -----------------------------------------

RANGES_NAME = "pass_ranges.json"  # beside the pass's files when it decoded some ranges only


def scope_ranges(analysis: Analysis, scope: frozenset[int]) -> list[FrameRange]:
    """The frame ranges of the scenes in ``scope``, neighbours joined."""
    from analysis.pipeline.stages.common import load_scenes

    ranges: list[FrameRange] = []
    for scene in load_scenes(analysis):
        if scene.id not in scope:
            continue
        if ranges and ranges[-1].end == scene.start_frame:
            ranges[-1] = FrameRange(ranges[-1].first, ranges[-1].time, scene.end_frame)
        else:
            ranges.append(FrameRange(scene.start_frame, scene.start_time, scene.end_frame))
    return ranges


def _recorded_ranges(workdir: Path) -> list[FrameRange] | None:
    """The ranges the recorded pass decoded; None: the whole video."""
    path = workdir / RANGES_NAME
    if not path.exists():
        return None
    return [FrameRange(*item) for item in json.loads(path.read_text())]


def _covers(recorded: list[FrameRange] | None, wanted: list[FrameRange] | None) -> bool:
    if recorded is None:
        return True  # a whole pass serves every scope
    if wanted is None:
        return False
    return all(any(r.first <= w.first and w.end <= r.end for r in recorded) for w in wanted)


def _ranged_pass(ctx: StageContext, ranges: list[FrameRange]) -> None:
    """Decode the ``ranges`` only (a partial re-run's scenes) and leave a whole pass's files,
    the other frames empty (the stages of a partial re-run read the touched scenes only).

    Raises:
        StageError: the video cannot be decoded.
    """
    video = ctx.analysis.video
    recorder = run_recorder(ctx, strip=False)
    total = max(1, sum(r.end - r.first for r in ranges))
    progress = ProgressThrottle(ctx.report)
    indices: list[int] = []
    times: list[float] = []
    try:
        start = video_start_time(ctx.video_path)
        for frame in iter_frame_ranges(ctx.video_path, ranges, start):
            for consumer in recorder.consumers:
                consumer.consume(frame)
            indices.append(frame.index)
            times.append(frame.time)
            progress(len(indices) / total, f"Reading the edited scenes: frame {len(indices)}")
    except MediaError as exc:
        raise StageError(str(exc)) from exc
    if not indices:
        raise StageError("The edited scenes have no frames that can be decoded.")
    for consumer in recorder.consumers:
        consumer.finish(len(indices))
    frames = max(video.frame_count or 0, ranges[-1].end)
    (ctx.workdir / RANGES_NAME).write_text(json.dumps([dataclasses.astuple(r) for r in ranges]))
    recorder.save_ranges(indices, times, frames, start)
