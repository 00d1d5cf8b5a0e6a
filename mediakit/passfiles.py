"""The files one frame pass leaves in its folder for the work that comes after it.

``motion.npy``
    float32, one value per frame: the mean absolute difference of the luma (0..1) between the
    frame and the one before it, on a 64-pixel-wide copy (0.0 for frame 0). Read it with
    :func:`mediakit.meters.scene_motion`; the first frame of a scene is left out (its
    difference is the cut).
``frame_times.npy``
    float64, every frame's time in seconds.
``frame_pass.json``
    {"start_time": s, "frames": n}: the first frame's presentation time in the file (the zero
    of every clock, which the audio decoder aligns to) and the number of frames. Written last,
    so its presence says the pass finished.

The pictures (keyframe candidates, thumbnail strip, colour layouts) are described in
:mod:`mediakit.framestore`. :class:`PassFiles` reads all of them, typed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from mediakit.framestore import Candidate

MOTION_NAME = "motion.npy"
TIMES_NAME = "frame_times.npy"
PASS_NAME = "frame_pass.json"


def record_pass(workdir: Path, start_time: float, frames: int) -> Path:
    """Write ``frame_pass.json``, the mark that every file of the pass is complete."""
    path = workdir / PASS_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"start_time": start_time, "frames": frames}))
    tmp.replace(path)
    return path


def recorded_start_time(workdir: Path) -> float | None:
    """The first frame's time the pass recorded in ``workdir``; None when no pass finished."""
    path = workdir / PASS_NAME
    if not path.exists():
        return None
    return float(json.loads(path.read_text())["start_time"])


def pass_recorded(workdir: Path) -> bool:
    """Whether a finished pass left its files in ``workdir``."""
    return (workdir / PASS_NAME).exists()


@dataclass(frozen=True)
class PassFiles:
    """The files one frame pass left in ``folder``, and typed ways to read them.

    Every reader returns None (or 0.0 for motion) when the pass left no such file: a caller
    that needs them makes sure the pass finished first (``complete``).
    """

    folder: Path

    @property
    def complete(self) -> bool:
        """Whether the pass finished (its mark is written last)."""
        return pass_recorded(self.folder)

    @property
    def motion_path(self) -> Path:
        return self.folder / MOTION_NAME

    def start_time(self) -> float | None:
        """The first frame's presentation time in the file; None when no pass finished."""
        return recorded_start_time(self.folder)

    def frame_times(self) -> np.ndarray | None:
        """Every frame's time in seconds (float64), or None."""
        import numpy as np

        path = self.folder / TIMES_NAME
        return np.load(path) if path.exists() else None

    def motion(self, start_frame: int, end_frame: int) -> float:
        """Mean motion of frames ``(start_frame, end_frame)`` (see ``meters.scene_motion``)."""
        from mediakit.meters import scene_motion

        return scene_motion(self.folder, start_frame, end_frame)

    def candidates(self) -> list[Candidate] | None:
        """The keyframe candidates kept, in frame order."""
        from mediakit.framestore import load_candidates

        return load_candidates(self.folder)

    def end_frames(self) -> list[Candidate]:
        """The shots' last frames kept (``framestore.load_end_frames``), in frame order."""
        from mediakit.framestore import load_end_frames

        return load_end_frames(self.folder)

    def strip(self) -> tuple[Path, dict[str, Any]] | None:
        """(thumbnail strip JPEG, its layout) if the pass made one."""
        from mediakit.framestore import load_strip

        return load_strip(self.folder)

    def layouts(self) -> np.ndarray | None:
        """Every frame's 8 x 6 colour layout (frames, 6, 8, 3) uint8 BGR, or None."""
        from mediakit.framestore import load_layouts

        return load_layouts(self.folder)

    def audio(self, video: Path) -> np.ndarray | None:
        """``video``'s audio track (``mediakit.audio.load_audio``), cached beside the files
        and aligned to the first frame the pass saw."""
        from mediakit.audio import load_audio

        return load_audio(video, self.folder)
