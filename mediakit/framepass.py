"""What one decode pass keeps for the work after it: the picture plan and the recorder.

A :class:`PassRecorder` is every frame consumer of an analysis's pass except the cut
detector: the motion meter (``motion.npy``), the first frame's clock, the keyframe candidates,
the thumbnail strip and the 8 x 6 colour layouts. How densely it keeps pictures is a
:class:`PicturePlan`, worked out once from what the readers of the pictures ask for. The files
are described in :mod:`mediakit.passfiles` and :mod:`mediakit.framestore`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mediakit.decode import FrameConsumer, save_array
from mediakit.framestore import (
    LAYOUT_NAME,
    KeyframeCandidates,
    LayoutStore,
    ThumbnailStrip,
    candidate_interval,
    load_layouts,
    tile_interval,
)
from mediakit.meters import MotionMeter, StartClock
from mediakit.passfiles import MOTION_NAME, PASS_NAME, TIMES_NAME, record_pass


@dataclass(frozen=True)
class PicturePlan:
    """How often the pass keeps a picture: the keyframe candidates' grid step and the
    thumbnail strip's tile step, in seconds."""

    candidate_step: float
    tile_step: float

    @classmethod
    def for_video(cls, duration: float, wanted: Iterable[float] = ()) -> PicturePlan:
        """The plan for a video of ``duration`` seconds whose readers ask for pictures every
        ``wanted`` seconds (the closest wins; none: the candidates' own 1 s grid)."""
        closest = min(wanted, default=None)
        return cls(candidate_interval(duration, closest), tile_interval(duration))


class PassRecorder:
    """Every consumer of the pass except the cut detector, and the saving of what they kept."""

    def __init__(self, workdir: Path, plan: PicturePlan, *, strip: bool = True) -> None:
        """``strip``: make the thumbnail strip (not for a pass over some ranges only)."""
        self.workdir = workdir
        (workdir / PASS_NAME).unlink(missing_ok=True)  # complete again only once saved
        self.plan = plan
        self.motion = MotionMeter()
        self.clock = StartClock()
        # The shots' last frames too: the ocr stage reads the text a screen ends on there.
        self.candidates = KeyframeCandidates(workdir, plan.candidate_step, self.motion, ends=True)
        self.consumers: list[FrameConsumer] = [
            self.motion,  # before the candidates: they look at its last value
            self.clock,
            self.candidates,
            *([ThumbnailStrip(workdir, plan.tile_step)] if strip else []),
            LayoutStore(workdir),
        ]

    def save(self, times: list[float]) -> None:
        """Write the motion and the frame times, then the mark that the pass is complete."""
        import numpy as np

        self.motion.save(self.workdir)
        save_array(self.workdir / TIMES_NAME, np.asarray(times, dtype=np.float64))
        record_pass(self.workdir, self.clock.value or 0.0, len(times))

    def save_ranges(
        self, indices: list[int], times: list[float], frame_count: int, start_time: float
    ) -> None:
        """Write what a pass over some ranges of the video kept (frames ``indices``, at
        ``times``) as a whole pass's files of ``frame_count`` frames: the frames not decoded
        have no motion and a black layout, and a time of their own from their neighbours'.
        ``start_time``: the video's first frame's (the ranges' first is not).
        """
        import numpy as np

        at = np.asarray(indices, dtype=np.int64)
        motion = np.zeros(frame_count, dtype=np.float32)
        motion[at] = np.asarray(self.motion.values, dtype=np.float32)
        save_array(self.workdir / MOTION_NAME, motion)
        every = np.arange(frame_count, dtype=np.float64)
        clock = np.interp(every, at, np.asarray(times, dtype=np.float64))
        save_array(self.workdir / TIMES_NAME, clock)
        layouts = load_layouts(self.workdir)
        if layouts is not None:
            whole = np.zeros((frame_count, *layouts.shape[1:]), dtype=np.uint8)
            whole[at] = layouts
            del layouts  # the file is written over next
            (self.workdir / LAYOUT_NAME).write_bytes(whole.tobytes())
        record_pass(self.workdir, start_time, frame_count)
