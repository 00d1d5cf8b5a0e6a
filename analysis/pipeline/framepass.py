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
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from analysis.pipeline.base import Stage, StageContext, StageError
from mediakit.decode import run_frame_pass
from mediakit.errors import MediaError
from mediakit.framepass import PassRecorder, PicturePlan
from mediakit.passfiles import pass_recorded
from videoanalyzer.progress import ProgressThrottle

if TYPE_CHECKING:
    from analysis.models import Video

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


def run_recorder(ctx: StageContext) -> PassRecorder:
    """The recorder for this run's pass, keeping the pictures ``ctx.pictures`` plans (the
    default plan outside a run)."""
    plan = ctx.pictures or PicturePlan.for_video(video_duration(ctx.analysis.video))
    return PassRecorder(ctx.workdir, plan)


def video_duration(video: Video) -> float:
    """The video's length in seconds as probed (from the frame count when unknown)."""
    return float(video.duration or video.frame_count / (video.fps or 25.0))


def ensure_pass_files(ctx: StageContext) -> None:
    """Make sure the pass's files are in ``ctx.workdir``: decode once more only if they are not.

    Raises:
        StageError: the video cannot be decoded.
    """
    if pass_recorded(ctx.workdir):
        return
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
