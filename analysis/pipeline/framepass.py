"""What the run's one decode pass keeps for the stages after it, and remaking it when lost.

The shots stage decodes every frame once and hands it to the cut detector and to the
consumers of a :class:`PassRecorder`: the motion meter (``motion.npy``), the first frame's
clock, the keyframe candidates and the thumbnail strip (``candidates/``, ``strip.jpg``) and the
8 x 6 colour layouts (``layout.u8``). Every later consumer of pictures reads those files:

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
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.media import MediaError
from analysis.pipeline.base import StageContext, StageError
from analysis.pipeline.decode import (
    PASS_NAME,
    TIMES_NAME,
    FrameConsumer,
    MotionMeter,
    StartClock,
    record_pass,
    run_frame_pass,
    save_array,
)
from analysis.pipeline.framestore import (
    KeyframeCandidates,
    LayoutStore,
    ThumbnailStrip,
    candidate_interval,
    tile_interval,
)
from videoanalyzer.progress import ProgressThrottle

if TYPE_CHECKING:
    from analysis.models import Video

logger = logging.getLogger(__name__)


class PassRecorder:
    """Every consumer of the pass except the cut detector, and the saving of what they kept.

    ``interval``: the keyframe candidates' grid step (see :func:`run_recorder`).
    """

    def __init__(self, workdir: Path, duration: float, interval: float) -> None:
        self.workdir = workdir
        (workdir / PASS_NAME).unlink(missing_ok=True)  # complete again only once saved
        self.motion = MotionMeter()
        self.clock = StartClock()
        self.candidates = KeyframeCandidates(workdir, interval, self.motion)
        self.consumers: list[FrameConsumer] = [
            self.motion,  # before the candidates: they look at its last value
            self.clock,
            self.candidates,
            ThumbnailStrip(workdir, tile_interval(duration)),
            LayoutStore(workdir),
        ]

    def save(self, times: list[float]) -> None:
        """Write the motion and the frame times, then the mark that the pass is complete."""
        import numpy as np

        self.motion.save(self.workdir)
        save_array(self.workdir / TIMES_NAME, np.asarray(times, dtype=np.float64))
        record_pass(self.workdir, self.clock.value or 0.0, len(times))


def run_recorder(ctx: StageContext) -> PassRecorder:
    """The recorder for this run's pass: its candidates as close together as the run's
    stages ask (``Stage.picture_interval``: faces sampling more than two frames a scene)."""
    from analysis.pipeline import build_pipeline  # the package imports the stages, and us

    stages = build_pipeline(ctx.param("stages"))
    asked = [step for stage in stages if (step := stage.picture_interval(ctx)) is not None]
    duration = video_duration(ctx.analysis.video)
    step = candidate_interval(duration, min(asked, default=None))
    return PassRecorder(ctx.workdir, duration, step)


def video_duration(video: Video) -> float:
    """The video's length in seconds as probed (from the frame count when unknown)."""
    return float(video.duration or video.frame_count / (video.fps or 25.0))


def pass_recorded(workdir: Path) -> bool:
    """Whether a finished pass left its files in ``workdir``."""
    return (workdir / PASS_NAME).exists()


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
