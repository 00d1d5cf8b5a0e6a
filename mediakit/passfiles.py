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
:mod:`mediakit.framestore`.
"""

from __future__ import annotations

import json
from pathlib import Path

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
