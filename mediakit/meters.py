"""Frame consumers that measure: the motion of every frame, and the first frame's clock."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mediakit.decode import MOTION_WIDTH, DecodedFrame, frame_start_time, save_array
from mediakit.passfiles import MOTION_NAME

if TYPE_CHECKING:
    import numpy as np


def mean_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean of ``|a - b|`` over every pixel and channel of two uint8 pictures of one shape.

    OpenCV's saturating ``absdiff`` on uint8 is exact here and, with ``mean``, several times
    cheaper than numpy's widening to int16 first (this runs for every frame of the pass).
    """
    import cv2

    channels = a.shape[2] if a.ndim == 3 else 1
    return float(sum(cv2.mean(cv2.absdiff(a, b))[:channels]) / channels)


class StartClock:
    """Keeps the first frame's presentation time (see :func:`frame_start_time`)."""

    def __init__(self) -> None:
        self.value: float | None = None

    def consume(self, frame: DecodedFrame) -> None:
        if self.value is None:
            self.value = frame_start_time(frame)

    def finish(self, frame_count: int) -> None:
        return None


class MotionMeter:
    """Per-frame motion: mean absolute luma difference to the previous frame, 0..1."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self._previous: np.ndarray | None = None

    def consume(self, frame: DecodedFrame) -> None:
        grey = frame.grey(MOTION_WIDTH)
        previous = self._previous
        if previous is not None and previous.shape == grey.shape:
            self.values.append(mean_abs_difference(grey, previous) / 255)
        else:
            self.values.append(0.0)
        self._previous = grey

    def finish(self, frame_count: int) -> None:
        return None

    def save(self, workdir: Path) -> Path:
        import numpy as np

        return save_array(workdir / MOTION_NAME, np.asarray(self.values, dtype=np.float32))


def scene_motion(workdir: Path, start_frame: int, end_frame: int) -> float:
    """Mean motion of frames ``(start_frame, end_frame)`` from ``motion.npy`` (0 = still).

    The scene's first frame is left out: its difference to the previous frame is the cut.
    Returns 0.0 when the file is missing or the range holds no frame.
    """
    import numpy as np

    path = workdir / MOTION_NAME
    if not path.exists():
        return 0.0
    motion = np.load(path, mmap_mode="r")
    values = motion[max(start_frame + 1, 0) : max(end_frame, 0)]
    return float(np.mean(values)) if values.size else 0.0
