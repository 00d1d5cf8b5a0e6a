"""How much the picture moves in each scene: mean absolute difference of small grey frames.

The shots stage's decode pass leaves every frame's difference to the one before in the run's
scratch directory (``motion.npy``, see ``mediakit.passfiles``); a scene's motion is the
mean over its frames, scaled to frames ``STEP_SECONDS`` apart. A resumed run that lost the
file makes the pass's files again once (``StageContext.frame_pass``):
this module never decodes the video itself.
"""

from __future__ import annotations

from pathlib import Path

from analysis.pipeline.stages.common import SceneSpan

STEP_SECONDS = 0.2
# Mean absolute grey difference (0..1) between frames 0.2 s apart, upper bounds per label;
# measured on locked-off, hand-held and action footage.
ACTION_LEVELS = ((0.012, "static"), (0.035, "calm"), (0.08, "moving"))
FAST_LABEL = "fast motion"


def action_label(motion: float) -> str:
    """A word for a motion value: static, calm, moving or fast motion."""
    for bound, label in ACTION_LEVELS:
        if motion < bound:
            return label
    return FAST_LABEL


def shared_motion(workdir: Path, scenes: list[SceneSpan], fps: float) -> dict[int, float] | None:
    """Scene index -> motion (0 = still; about 0.1 and more = fast action) from the shots
    stage's ``motion.npy``, or None without it."""
    from mediakit.meters import scene_motion as frame_motion
    from mediakit.passfiles import MOTION_NAME

    if not (workdir / MOTION_NAME).exists():
        return None
    # Differences between neighbouring frames grow about linearly with the gap between them.
    step = max(1.0, fps * STEP_SECONDS)
    return {
        s.index: round(min(1.0, frame_motion(workdir, s.start_frame, s.end_frame) * step), 5)
        for s in scenes
    }
